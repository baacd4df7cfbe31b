//! The access tokens the emulator issues and accepts: RS256 JWTs signed by the emulator's own key, with the
//! claims Graph and Key Vault read from Microsoft's (`aud`, `tid`, `appid`, `oid`, `roles`, `exp`).
//!
//! A token is for one resource, named by its `aud` ([`Resource`]): Graph refuses a Key Vault token and the
//! vault refuses a Graph token, as the real services do.
//!
//! The key is kept in the state store, so tokens issued before a restart with `--state FILE` stay valid, as
//! they would against the real service.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, UnparsedPublicKey};
use keyroll_proto::b64;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{EmulatorError, StoreError};
use crate::store::Store;

/// The Graph resource as it appears in tokens' `aud`.
pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";
/// Key Vault's resource as it appears in tokens' `aud` (and in its 401 challenge's `resource`).
pub const VAULT_RESOURCE: &str = "https://vault.azure.net";
/// Key Vault's application id, which a scope may name instead of its URI.
pub const VAULT_APP_ID: &str = "cfa8b339-82a2-471a-a3c9-0fc0be7a4093";
/// Graph's application id.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// The resources the emulator issues tokens for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// Microsoft Graph.
    Graph,
    /// Azure Key Vault's data plane.
    Vault,
}

impl Resource {
    /// The `aud` of the tokens issued for this resource.
    pub fn audience(self) -> &'static str {
        match self {
            Resource::Graph => GRAPH_RESOURCE,
            Resource::Vault => VAULT_RESOURCE,
        }
    }

    /// The resource a scope (`{resource}/.default`) or a managed-identity `resource` parameter names, with
    /// or without a trailing slash, by URI or by application id.
    pub fn from_identifier(text: &str) -> Option<Resource> {
        let base = text.strip_suffix("/.default").unwrap_or(text);
        let base = base.trim_end_matches('/');
        if base.eq_ignore_ascii_case(GRAPH_RESOURCE) || base.eq_ignore_ascii_case(GRAPH_APP_ID) {
            Some(Resource::Graph)
        } else if base.eq_ignore_ascii_case(VAULT_RESOURCE)
            || base.eq_ignore_ascii_case(VAULT_APP_ID)
        {
            Some(Resource::Vault)
        } else {
            None
        }
    }

    /// Whether a token's `aud` is this resource (its URI with or without the slash, or its application id,
    /// as the services accept).
    fn accepts(self, aud: &str) -> bool {
        let (uri, id) = match self {
            Resource::Graph => (GRAPH_RESOURCE, GRAPH_APP_ID),
            Resource::Vault => (VAULT_RESOURCE, VAULT_APP_ID),
        };
        aud == uri || aud == id || aud.strip_suffix('/') == Some(uri)
    }
}

/// Lifetime of issued tokens, as the service reports it (`expires_in`).
pub const TOKEN_LIFETIME_SECS: i64 = 3599;

/// The claims of an emulator access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The resource: [`GRAPH_RESOURCE`] or [`VAULT_RESOURCE`].
    pub aud: String,
    /// `https://sts.windows.net/{tid}/`.
    pub iss: String,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Expiry.
    pub exp: i64,
    /// The client id of the calling application.
    pub appid: Uuid,
    /// The object id of the caller's service principal.
    pub oid: Uuid,
    /// Same as `oid` for app-only tokens.
    pub sub: Uuid,
    /// Tenant.
    pub tid: Uuid,
    /// App roles granted to the caller.
    #[serde(default)]
    pub roles: Vec<String>,
    /// `app` for app-only tokens.
    pub idtyp: String,
    /// Token version.
    pub ver: String,
    /// Unique token id.
    pub uti: String,
    /// A user's token (`idtyp` `user`): the delegated scopes granted, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    /// A user's token: the user principal name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    /// A user's token: the template ids of the user's directory roles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wids: Vec<String>,
}

impl AccessClaims {
    /// Whether this is a user's token (delegated: `idtyp` `user`, or a `scp` claim), not the app's own.
    pub fn is_delegated(&self) -> bool {
        self.idtyp == "user" || self.scp.is_some()
    }

    /// The delegated scopes of a user's token (none for an app-only token).
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scp.as_deref().unwrap_or("").split_whitespace()
    }
}

/// Why a bearer token was refused. Texts never include the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT.
    #[error("the bearer token is not a compact JWT")]
    Malformed,
    /// Not signed by this emulator.
    #[error("the bearer token's signature does not verify with the emulator's key")]
    Signature,
    /// Wrong audience.
    #[error("the bearer token's audience is {found:?}, not {expected}")]
    Audience {
        /// The token's `aud`.
        found: String,
        /// The resource's.
        expected: &'static str,
    },
    /// Expired or not yet valid.
    #[error("the bearer token is expired or not yet valid")]
    Lifetime,
}

/// The emulator's token signing key.
pub struct TokenSigner {
    key: KeyPair,
    public: Vec<u8>,
    kid: String,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

const META_KEY: &str = "token_signing_key_pkcs8";

fn key_err(e: impl std::fmt::Display) -> EmulatorError {
    EmulatorError::SigningKey {
        reason: e.to_string(),
    }
}

impl TokenSigner {
    /// Loads the key from the store, generating and storing it on first use.
    pub fn load_or_create(store: &Store) -> Result<Self, EmulatorError> {
        let pkcs8 = match store.meta(META_KEY)? {
            Some(k) => k,
            None => {
                let fresh = KeyPair::generate(KeySize::Rsa2048).map_err(key_err)?;
                let der = fresh.as_der().map_err(key_err)?;
                store.meta_or_insert(META_KEY, der.as_ref())?
            }
        };
        let key = KeyPair::from_pkcs8(&pkcs8).map_err(key_err)?;
        let public = aws_lc_rs::signature::KeyPair::public_key(&key)
            .as_ref()
            .to_vec();
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &public);
        let kid = b64::encode_url(&digest.as_ref()[..16]);
        Ok(TokenSigner { key, public, kid })
    }

    /// Issues a token (an access token, an ID token) with `claims`.
    pub fn issue<T: Serialize>(&self, claims: &T) -> Result<String, StoreError> {
        let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "kid": self.kid});
        let json_err = |e: serde_json::Error| StoreError::Corrupt {
            what: "token claims",
            reason: e.to_string(),
        };
        let header = serde_json::to_vec(&header).map_err(json_err)?;
        let payload = serde_json::to_vec(claims).map_err(json_err)?;
        let input = format!("{}.{}", b64::encode_url(&header), b64::encode_url(&payload));
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .map_err(|e| StoreError::Corrupt {
                what: "token signing key",
                reason: e.to_string(),
            })?;
        Ok(format!("{input}.{}", b64::encode_url(&sig)))
    }

    /// Verifies a bearer token for Graph and returns its claims.
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<AccessClaims, TokenError> {
        self.verify_for(token, now, Resource::Graph)
    }

    /// Verifies a bearer token for `resource` and returns its claims.
    pub fn verify_for(
        &self,
        token: &str,
        now: OffsetDateTime,
        resource: Resource,
    ) -> Result<AccessClaims, TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let sig = b64::decode_jose_segment(s).map_err(|_| TokenError::Malformed)?;
        let signed = &token[..h.len() + 1 + p.len()];
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.public)
            .verify(signed.as_bytes(), &sig)
            .map_err(|_| TokenError::Signature)?;
        let payload = b64::decode_jose_segment(p).map_err(|_| TokenError::Malformed)?;
        let claims: AccessClaims =
            serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        if !resource.accepts(&claims.aud) {
            return Err(TokenError::Audience {
                found: claims.aud,
                expected: resource.audience(),
            });
        }
        let now = now.unix_timestamp();
        // The service tolerates five minutes of clock difference on its own tokens.
        if now + 300 < claims.nbf || now - 300 > claims.exp {
            return Err(TokenError::Lifetime);
        }
        Ok(claims)
    }
}

/// Claims for an app-only token for `resource` issued now.
pub fn app_claims(
    resource: Resource,
    tenant_id: Uuid,
    app_id: Uuid,
    service_principal_id: Uuid,
    roles: Vec<String>,
    now: OffsetDateTime,
) -> AccessClaims {
    let t = now.unix_timestamp();
    AccessClaims {
        aud: resource.audience().to_owned(),
        iss: format!("https://sts.windows.net/{tenant_id}/"),
        iat: t,
        nbf: t,
        exp: t + TOKEN_LIFETIME_SECS,
        appid: app_id,
        oid: service_principal_id,
        sub: service_principal_id,
        tid: tenant_id,
        roles,
        idtyp: "app".to_owned(),
        ver: "1.0".to_owned(),
        uti: b64::encode_url(Uuid::new_v4().as_bytes()),
        scp: None,
        upn: None,
        wids: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_and_verifies_and_survives_reload() {
        let store = Store::open(None).unwrap();
        let signer = TokenSigner::load_or_create(&store).unwrap();
        let now = OffsetDateTime::now_utc();
        let claims = app_claims(
            Resource::Graph,
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
            vec!["R".into()],
            now,
        );
        let token = signer.issue(&claims).unwrap();
        let back = signer.verify(&token, now).unwrap();
        assert_eq!(back.appid, claims.appid);
        assert_eq!(back.roles, vec!["R".to_string()]);
        let again = TokenSigner::load_or_create(&store).unwrap();
        assert!(again.verify(&token, now).is_ok());
        let mut tampered = token.clone();
        tampered.push('A');
        assert!(signer.verify(&tampered, now).is_err());
        assert_eq!(
            signer.verify(&token, now + time::Duration::hours(2)).err(),
            Some(TokenError::Lifetime)
        );
    }

    #[test]
    fn a_token_is_for_its_resource_only() {
        let store = Store::open(None).unwrap();
        let signer = TokenSigner::load_or_create(&store).unwrap();
        let now = OffsetDateTime::now_utc();
        let ids = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let vault = signer
            .issue(&app_claims(
                Resource::Vault,
                ids.0,
                ids.1,
                ids.2,
                vec![],
                now,
            ))
            .unwrap();
        assert_eq!(
            signer.verify_for(&vault, now, Resource::Vault).unwrap().aud,
            VAULT_RESOURCE
        );
        assert!(matches!(
            signer.verify(&vault, now),
            Err(TokenError::Audience { .. })
        ));
        let graph = signer
            .issue(&app_claims(
                Resource::Graph,
                ids.0,
                ids.1,
                ids.2,
                vec![],
                now,
            ))
            .unwrap();
        assert!(matches!(
            signer.verify_for(&graph, now, Resource::Vault),
            Err(TokenError::Audience { .. })
        ));
        assert_eq!(
            Resource::from_identifier("https://vault.azure.net/.default"),
            Some(Resource::Vault)
        );
        assert_eq!(
            Resource::from_identifier("https://graph.microsoft.com//.default"),
            Some(Resource::Graph)
        );
        assert_eq!(
            Resource::from_identifier("https://management.azure.com/.default"),
            None
        );
    }
}
