//! Settings as JSON: parsing them (camelCase, unknown fields refused) and the small parsers they share.

use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::*;
use keyroll_proto::cert::{self, CertError};
use keyroll_proto::credential::serde_date;

/// The largest settings document accepted (settings are a few hundred bytes; certificates a few KiB).
pub const MAX_JSON_LEN: usize = 4 * 1024 * 1024;

/// Parses a settings document. `what` names it in the error (e.g. `"connection settings"`). Empty input is
/// read as `{}`.
pub fn from_json<T: DeserializeOwned>(what: &'static str, json: &[u8]) -> Result<T, ApiError> {
    if json.len() > MAX_JSON_LEN {
        return Err(ApiError::settings(
            what,
            format!("{} bytes is above the limit of {MAX_JSON_LEN}", json.len()),
        ));
    }
    let text = if json.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        json
    };
    serde_json::from_slice(text).map_err(|e| ApiError::settings(what, e.to_string()))
}

pub(crate) fn parse_guid(what: &'static str, value: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(value.trim())
        .map_err(|_| ApiError::settings(what, format!("{value:?} is not a GUID")))
}

pub(crate) fn parse_date(
    what: &'static str,
    value: Option<&str>,
) -> Result<Option<OffsetDateTime>, ApiError> {
    value
        .map(|s| serde_date::parse(s).map_err(|e| ApiError::settings(what, e)))
        .transpose()
}

pub(crate) fn read_named_file(
    what: &'static str,
    path: &std::path::Path,
) -> Result<Vec<u8>, ApiError> {
    cert::read_file(path).map_err(|e| ApiError::File {
        what,
        path: path.display().to_string(),
        not_found: matches!(&e, CertError::Io { error, .. } if error.kind() == std::io::ErrorKind::NotFound),
        detail: match e {
            CertError::Io { error, .. } => error.to_string(),
            other => other.to_string(),
        },
    })
}
