//! The access tokens the emulator issues and accepts: RS256 JWTs signed by the emulator's own key, with the
//! claims Graph reads from Microsoft's (`aud`, `tid`, `appid`, `oid`, `roles`, `exp`).
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
/// Lifetime of issued tokens, as the service reports it (`expires_in`).
pub const TOKEN_LIFETIME_SECS: i64 = 3599;

/// The claims of an emulator access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Always [`GRAPH_RESOURCE`].
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
    #[error("the bearer token's audience is {0:?}, not {GRAPH_RESOURCE}")]
    Audience(String),
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

    /// Issues an access token for `claims`.
    pub fn issue(&self, claims: &AccessClaims) -> Result<String, StoreError> {
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

    /// Verifies a bearer token and returns its claims.
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<AccessClaims, TokenError> {
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
        if claims.aud != GRAPH_RESOURCE
            && claims.aud != "00000003-0000-0000-c000-000000000000"
            && claims.aud != format!("{GRAPH_RESOURCE}/")
        {
            return Err(TokenError::Audience(claims.aud));
        }
        let now = now.unix_timestamp();
        // The service tolerates five minutes of clock difference on its own tokens.
        if now + 300 < claims.nbf || now - 300 > claims.exp {
            return Err(TokenError::Lifetime);
        }
        Ok(claims)
    }
}

/// Claims for an app-only token issued now.
pub fn app_claims(
    tenant_id: Uuid,
    app_id: Uuid,
    service_principal_id: Uuid,
    roles: Vec<String>,
    now: OffsetDateTime,
) -> AccessClaims {
    let t = now.unix_timestamp();
    AccessClaims {
        aud: GRAPH_RESOURCE.to_owned(),
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
}
