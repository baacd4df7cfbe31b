//! Client secrets: the bodies of Graph's `addPassword` / `removePassword`, their rules, and the secret the
//! service hands back once (docs/protocol.md §2a).
//!
//! The service generates the secret; the caller only names it and bounds its validity. The answer to
//! addPassword is the one place the secret text ever appears: no later read returns it. So the secret is a
//! [`ClientSecret`] from the moment it is parsed: wiped on drop, `[redacted]` in `Debug`, and readable only
//! through [`ClientSecret::expose`].

use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::credential::PasswordCredential;

/// How long a secret lives when the request gives no end: the service's default, "startDateTime + 2 years".
pub const DEFAULT_LIFETIME_DAYS: i64 = 730;

/// Characters of the secret the service shows as `hint` in every later read.
pub const HINT_CHARS: usize = 3;

/// A client secret as the service returned it. Never printed by `Debug` or `Display`; wiped on drop.
#[derive(Clone)]
pub struct ClientSecret(Zeroizing<String>);

impl ClientSecret {
    /// Wraps a secret.
    pub fn new(secret: String) -> Self {
        ClientSecret(Zeroizing::new(secret))
    }
    /// The secret's text. Every caller is a place the secret leaves through: show it once, where asked.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// The first characters, as the service lists them (`hint`).
    pub fn hint(&self) -> String {
        hint_of(&self.0)
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret([redacted])")
    }
}

/// The hint of a secret: its first [`HINT_CHARS`] characters.
pub fn hint_of(secret: &str) -> String {
    secret.chars().take(HINT_CHARS).collect()
}

/// The properties addPassword's `passwordCredential` may carry (what the caller may choose).
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PasswordRequest {
    /// Friendly name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Start of validity (the service's default: now).
    #[serde(
        default,
        with = "crate::credential::serde_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub start_date_time: Option<OffsetDateTime>,
    /// End of validity (the service's default: start + 2 years).
    #[serde(
        default,
        with = "crate::credential::serde_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub end_date_time: Option<OffsetDateTime>,
}

impl fmt::Debug for PasswordRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordRequest")
            .field("display_name", &self.display_name)
            .field("start_date_time", &self.start_date_time)
            .field("end_date_time", &self.end_date_time)
            .finish()
    }
}

/// The body of `addPassword`: `{"passwordCredential": {...}}` (the object may be left out).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddPasswordRequest {
    /// What the caller chose.
    #[serde(default)]
    pub password_credential: Option<PasswordRequest>,
}

/// The body of `removePassword`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemovePasswordRequest {
    /// The secret to remove.
    pub key_id: Uuid,
}

/// Why an addPassword request is refused, with the service's code and text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordIssue {
    /// The end is not after the start.
    #[error(
        "the secret's end ({end}) is not after its start ({start}); give an end date later than the start"
    )]
    EndNotAfterStart {
        /// The start asked for (or now).
        start: String,
        /// The end asked for.
        end: String,
    },
}

impl PasswordIssue {
    /// The Graph error code the service answers with (docs/protocol.md §2a; the texts are unverified).
    pub fn graph_code(&self) -> &'static str {
        match self {
            PasswordIssue::EndNotAfterStart { .. } => "InvalidPasswordCredentialEndDate",
        }
    }
    /// The service's message.
    pub fn graph_message(&self) -> String {
        match self {
            PasswordIssue::EndNotAfterStart { .. } => {
                "Password credential end date is invalid.".into()
            }
        }
    }
}

/// A valid addPassword request with the service's defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPlan {
    /// Friendly name.
    pub display_name: Option<String>,
    /// Start of validity.
    pub start: OffsetDateTime,
    /// End of validity.
    pub end: OffsetDateTime,
}

impl PasswordPlan {
    /// The credential as the service stores and lists it, with `secret` (only addPassword's answer carries it).
    pub fn credential(&self, key_id: Uuid, secret: Option<&ClientSecret>) -> PasswordCredential {
        let mut p = PasswordCredential::default();
        p.key_id = Some(key_id);
        p.display_name = self.display_name.clone();
        p.start_date_time = Some(self.start);
        p.end_date_time = Some(self.end);
        p.hint = secret.map(ClientSecret::hint);
        p.secret_text = secret.map(|s| s.expose().to_owned());
        p
    }
}

/// The rules of addPassword: the end after the start; defaults now and start + 2 years.
pub fn validate_add_password(
    request: Option<&PasswordRequest>,
    now: OffsetDateTime,
) -> Result<PasswordPlan, PasswordIssue> {
    let empty = PasswordRequest::default();
    let r = request.unwrap_or(&empty);
    let start = r.start_date_time.unwrap_or(now);
    let end = r
        .end_date_time
        .unwrap_or(start + Duration::days(DEFAULT_LIFETIME_DAYS));
    if end <= start {
        let fmt = crate::credential::serde_date::format;
        return Err(PasswordIssue::EndNotAfterStart {
            start: fmt(start),
            end: fmt(end),
        });
    }
    Ok(PasswordPlan {
        display_name: r.display_name.clone(),
        start,
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_end_before_start() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let plan = validate_add_password(None, now).unwrap();
        assert_eq!(plan.start, now);
        assert_eq!(plan.end - plan.start, Duration::days(730));
        let bad = PasswordRequest {
            end_date_time: Some(now - Duration::days(1)),
            ..Default::default()
        };
        assert!(matches!(
            validate_add_password(Some(&bad), now),
            Err(PasswordIssue::EndNotAfterStart { .. })
        ));
    }

    #[test]
    fn secret_is_redacted_and_hinted() {
        let s = ClientSecret::new("abcDEF~ghi".into());
        assert_eq!(s.hint(), "abc");
        assert!(!format!("{s:?}").contains("DEF"));
    }

    #[test]
    fn body_shape() {
        let body = AddPasswordRequest {
            password_credential: Some(PasswordRequest {
                display_name: Some("n".into()),
                ..Default::default()
            }),
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"passwordCredential":{"displayName":"n"}}"#
        );
    }
}
