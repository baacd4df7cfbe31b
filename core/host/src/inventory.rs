//! An inventory scan pulled page by page by the host: each call reads one page and answers its credentials, so
//! a host streams them (PowerShell down its pipeline) with one page in memory at a time.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::*;
use keyroll_client::inventory::{
    self, CredentialType, NamingRule, ObjectType, ScanOptions, Scanner,
};

/// What to scan.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScanSettings {
    /// `all` (default), `application` / `app`, or `servicePrincipal` / `sp`.
    #[serde(default)]
    pub types: Option<String>,
    /// Report only credentials ending within this many days (expired ones included).
    #[serde(default)]
    pub expiring_within_days: Option<u32>,
    /// Read owners too.
    #[serde(default)]
    pub owners: bool,
    /// `all` (default), `certificate` or `secret`.
    #[serde(default)]
    pub credential_type: Option<String>,
    /// Objects per page (1 to 999, default 999).
    #[serde(default)]
    pub page_size: Option<u32>,
    /// A naming rule for the current certificate's file of each certificate item (`cert` in the item).
    #[serde(default)]
    pub cert_rule: Option<String>,
    /// A naming rule for the new certificate's file of each certificate item (`newCert` in the item).
    #[serde(default)]
    pub new_cert_rule: Option<String>,
}

fn rule(what: &'static str, r: &Option<String>) -> Result<Option<NamingRule>, ApiError> {
    r.as_deref()
        .filter(|r| !r.trim().is_empty())
        .map(NamingRule::parse)
        .transpose()
        .map_err(|e| ApiError::settings(what, e.to_string()))
}

impl ScanSettings {
    fn options(&self) -> Result<ScanOptions, ApiError> {
        let types = match self
            .types
            .as_deref()
            .map(|t| t.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("all") | Some("") => {
                vec![ObjectType::Application, ObjectType::ServicePrincipal]
            }
            Some("application") | Some("app") => vec![ObjectType::Application],
            Some("serviceprincipal") | Some("sp") => vec![ObjectType::ServicePrincipal],
            Some(other) => {
                return Err(ApiError::settings(
                    "scan settings",
                    format!("types {other:?} is not all, application or servicePrincipal"),
                ));
            }
        };
        let credentials = match self
            .credential_type
            .as_deref()
            .map(|t| t.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("all") | Some("") => None,
            Some("certificate") => Some(CredentialType::Certificate),
            Some("secret") => Some(CredentialType::Secret),
            Some(other) => {
                return Err(ApiError::settings(
                    "scan settings",
                    format!("credentialType {other:?} is not all, certificate or secret"),
                ));
            }
        };
        Ok(ScanOptions {
            credentials,
            types,
            expiring_within: self
                .expiring_within_days
                .map(|d| time::Duration::days(i64::from(d))),
            page_size: self.page_size.unwrap_or(inventory::MAX_PAGE),
            owners: self.owners,
            signer: None,
        })
    }
}

/// A scan in progress, started by [`Connection::start_scan`]. Pages are read one call at a time; calls from
/// several threads take turns.
#[derive(Debug)]
pub struct ScanOperation {
    scanner: tokio::sync::Mutex<Scanner>,
    rules: (Option<NamingRule>, Option<NamingRule>),
}

impl Connection {
    /// Starts a scan; nothing is read until [`ScanOperation::next_page`].
    pub fn start_scan(&self, settings: &ScanSettings) -> Result<ScanOperation, ApiError> {
        let mut options = settings.options()?;
        options.signer = match self.client().tokens().credential() {
            keyroll_client::auth::Credential::ClientCertificate { identity, .. } => {
                Some(identity.certificate().clone())
            }
            _ => None,
        };
        let rules = (
            rule("certRule", &settings.cert_rule)?,
            rule("newCertRule", &settings.new_cert_rule)?,
        );
        Ok(ScanOperation {
            scanner: tokio::sync::Mutex::new(Scanner::new(self.client(), options)?),
            rules,
        })
    }
}

impl ScanOperation {
    /// The next page: `{"done": false, "collection": "applications", "read": n, "total": n | null, "items":
    /// [...]}`, and once every collection was read `{"done": true, "summary": {...}}` (again on every later call).
    /// Each item is the scan's, plus its plan columns: `target`, and for certificates `cert` / `newCert` from the
    /// naming rules (empty without one).
    pub async fn next_page(&self) -> Result<Value, ApiError> {
        let mut scanner = self.scanner.lock().await;
        match scanner.next_page().await? {
            Some(page) => {
                let mut items = Vec::with_capacity(page.items.len());
                for item in &page.items {
                    let mut v = serde_json::to_value(item)
                        .map_err(|e| ApiError::settings("scan item", e.to_string()))?;
                    if let Some(row) = inventory::plan_row(
                        item,
                        self.rules.0.as_ref(),
                        self.rules.1.as_ref(),
                        true,
                    ) && let Some(o) = v.as_object_mut()
                    {
                        o.insert("target".into(), json!(row.target));
                        o.insert("cert".into(), json!(row.cert));
                        o.insert("newCert".into(), json!(row.new_cert));
                    }
                    items.push(v);
                }
                Ok(json!({
                    "done": false,
                    "collection": page.collection.collection(),
                    "read": page.read,
                    "total": page.total,
                    "items": items,
                }))
            }
            None => Ok(json!({ "done": true, "summary": scanner.summary() })),
        }
    }
}
