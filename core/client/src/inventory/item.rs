//! One object of a collection page turned into the credentials a scan reports.

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::ScanOptions;
use keyroll_proto::credential::{KeyCredential, PasswordCredential, serde_date};
use keyroll_proto::key_status::{self, Validity};

/// The kind of object a credential belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ObjectType {
    /// An application registration.
    Application,
    /// A service principal.
    ServicePrincipal,
}

impl ObjectType {
    /// `application` or `servicePrincipal`.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectType::Application => "application",
            ObjectType::ServicePrincipal => "servicePrincipal",
        }
    }
}

/// A certificate (key credential) or a client secret (password credential).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CredentialType {
    /// A key credential: a certificate.
    Certificate,
    /// A password credential: a client secret.
    Secret,
}

impl CredentialType {
    /// `certificate` or `secret`.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialType::Certificate => "certificate",
            CredentialType::Secret => "secret",
        }
    }
}

/// One credential of one object, as a scan reports it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryItem {
    /// The object's type.
    pub object_type: ObjectType,
    /// The object id.
    pub object_id: Uuid,
    /// The application's client id.
    pub app_id: Option<Uuid>,
    /// The object's display name.
    pub object_display_name: Option<String>,
    /// Certificate or secret.
    pub credential_type: CredentialType,
    /// The credential's id.
    pub key_id: Option<Uuid>,
    /// The credential's display name.
    pub display_name: Option<String>,
    /// A certificate's SHA-1 thumbprint (uppercase hex).
    pub thumbprint: Option<String>,
    /// A secret's first characters, as Graph shows them.
    pub hint: Option<String>,
    /// Start, Graph's format.
    pub start_date_time: Option<String>,
    /// End, Graph's format.
    pub end_date_time: Option<String>,
    /// Whole days until the end (negative when past).
    pub days_left: Option<i64>,
    /// `valid`, `expired` or `not yet valid`.
    pub status: &'static str,
    /// Whether this is the certificate the caller signs in with.
    pub signs: bool,
    /// Whether, once this certificate ends, the object holds no valid certificate: the application stops signing
    /// in with certificates unless a new one is added first.
    pub last_valid_certificate: bool,
    /// The owners' display names (or ids), when they were read.
    pub owners: Option<Vec<String>>,
}

/// The credentials of one object that the options ask for, and how many credentials it holds.
pub(super) fn items(
    kind: ObjectType,
    object: &Value,
    now: OffsetDateTime,
    options: &ScanOptions,
) -> (Vec<InventoryItem>, u64) {
    let str_of = |k: &str| object.get(k).and_then(Value::as_str).map(str::to_string);
    let Some(object_id) = str_of("id").and_then(|s| Uuid::parse_str(&s).ok()) else {
        return (Vec::new(), 0);
    };
    let keys: Vec<KeyCredential> = list(object, "keyCredentials");
    let secrets: Vec<PasswordCredential> = list(object, "passwordCredentials");
    let seen = (keys.len() + secrets.len()) as u64;
    let owners = options.owners.then(|| owner_names(object));
    let base = |credential_type| InventoryItem {
        object_type: kind,
        object_id,
        app_id: str_of("appId").and_then(|s| Uuid::parse_str(&s).ok()),
        object_display_name: str_of("displayName"),
        credential_type,
        key_id: None,
        display_name: None,
        thumbprint: None,
        hint: None,
        start_date_time: None,
        end_date_time: None,
        days_left: None,
        status: Validity::Valid.as_str(),
        signs: false,
        last_valid_certificate: false,
        owners: owners.clone(),
    };
    let wanted = |end: Option<OffsetDateTime>| match (options.expiring_within, end) {
        (None, _) => true,
        (Some(within), Some(end)) => end <= now + within,
        // No end date: never expires.
        (Some(_), None) => false,
    };
    let mut out = Vec::new();
    let certificates = options.credentials != Some(CredentialType::Secret);
    let secrets_too = options.credentials != Some(CredentialType::Certificate);
    for k in keys
        .iter()
        .filter(|k| certificates && wanted(k.end_date_time))
    {
        let status = key_status::status(k, now);
        let others: Vec<uuid::Uuid> = k.key_id.into_iter().collect();
        out.push(InventoryItem {
            key_id: k.key_id,
            display_name: k.display_name.clone(),
            thumbprint: k.thumbprint(),
            start_date_time: k.start_date_time.map(serde_date::format),
            end_date_time: k.end_date_time.map(serde_date::format),
            days_left: status.days_left,
            status: status.validity.as_str(),
            signs: options.signer.as_ref().is_some_and(|c| k.is_certificate(c)),
            last_valid_certificate: status.certificate
                && status.validity == Validity::Valid
                && !outlived(&keys, k, now, &others),
            ..base(CredentialType::Certificate)
        });
    }
    for p in secrets
        .iter()
        .filter(|p| secrets_too && wanted(p.end_date_time))
    {
        let validity = match (p.start_date_time, p.end_date_time) {
            (_, Some(e)) if e < now => Validity::Expired,
            (Some(s), _) if s > now => Validity::NotYetValid,
            _ => Validity::Valid,
        };
        out.push(InventoryItem {
            key_id: p.key_id,
            display_name: p.display_name.clone(),
            hint: p.hint.clone(),
            start_date_time: p.start_date_time.map(serde_date::format),
            end_date_time: p.end_date_time.map(serde_date::format),
            days_left: p.end_date_time.map(|e| (e - now).whole_days()),
            status: validity.as_str(),
            ..base(CredentialType::Secret)
        });
    }
    (out, seen)
}

/// Whether another certificate of the object is valid now and stays valid past `k`'s end.
fn outlived(
    keys: &[KeyCredential],
    k: &KeyCredential,
    now: OffsetDateTime,
    except: &[Uuid],
) -> bool {
    keys.iter()
        .filter(|o| !o.key_id.is_some_and(|id| except.contains(&id)))
        .filter(|o| key_status::is_valid_certificate(o, now, 0))
        .any(|o| match (o.end_date_time, k.end_date_time) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(oe), Some(ke)) => oe > ke,
        })
}

/// A credential list of the object; entries that do not parse are left out (Graph's own shapes always do).
fn list<T: serde::de::DeserializeOwned>(object: &Value, field: &str) -> Vec<T> {
    object
        .get(field)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| serde_json::from_value(v.clone()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The owners' display names, or their ids when Graph gave no name.
fn owner_names(object: &Value) -> Vec<String> {
    object
        .get("owners")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|o| {
                    o.get("displayName")
                        .and_then(Value::as_str)
                        .or_else(|| o.get("id").and_then(Value::as_str))
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default()
}
