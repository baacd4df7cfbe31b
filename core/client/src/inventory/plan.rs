//! A roll plan from an inventory: one row per certificate to replace, in the columns `keyroll roll --plan` and
//! `Import-Csv | Invoke-EntraKeyRollover` read. Secrets are never planned: a certificate roll does not replace
//! them.

use serde::Serialize;

use super::{CredentialType, InventoryItem};

/// A file name built from an item: `certs/{appId}.pfx`, `next/{objectType}-{thumbprint}.pem`. Placeholders:
/// `{appId}`, `{objectId}`, `{thumbprint}`, `{objectType}`, `{displayName}` (the object's, with characters that
/// cannot be in a file name replaced by `_`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamingRule(String);

/// Why a naming rule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the naming rule {rule:?} {problem}; use the placeholders {{appId}}, {{objectId}}, {{thumbprint}}, {{objectType}}, {{displayName}}, e.g. certs/{{appId}}.pfx"
)]
pub struct RuleError {
    /// The rule.
    pub rule: String,
    /// What is wrong.
    pub problem: String,
}

const PLACEHOLDERS: [&str; 5] = [
    "appId",
    "objectId",
    "thumbprint",
    "objectType",
    "displayName",
];

impl NamingRule {
    /// A rule; refused when it names an unknown placeholder, leaves a brace open, or names no object at all (every
    /// row would get the same file).
    pub fn parse(rule: &str) -> Result<Self, RuleError> {
        let fail = |problem: String| RuleError {
            rule: rule.to_string(),
            problem,
        };
        let mut rest = rule;
        let mut names = Vec::new();
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| fail("has a { with no }".into()))?;
            let name = &after[..close];
            if !PLACEHOLDERS.contains(&name) {
                return Err(fail(format!("names the unknown placeholder {{{name}}}")));
            }
            names.push(name);
            rest = &after[close + 1..];
        }
        if rest.contains('}') {
            return Err(fail("has a } with no {".into()));
        }
        if !names
            .iter()
            .any(|n| matches!(*n, "appId" | "objectId" | "thumbprint"))
        {
            return Err(fail(
                "names no object ({appId}, {objectId} or {thumbprint}): every row would get the same file"
                    .into(),
            ));
        }
        Ok(NamingRule(rule.to_string()))
    }

    /// The file name for `item`.
    pub fn apply(&self, item: &InventoryItem) -> String {
        let safe: String = item
            .object_display_name
            .as_deref()
            .unwrap_or("")
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.0
            .replace(
                "{appId}",
                &item.app_id.map(|a| a.to_string()).unwrap_or_default(),
            )
            .replace("{objectId}", &item.object_id.to_string())
            .replace("{thumbprint}", item.thumbprint.as_deref().unwrap_or(""))
            .replace("{objectType}", item.object_type.as_str())
            .replace("{displayName}", safe.trim())
    }
}

/// One row of a roll plan, in the plan's column names.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanRow {
    /// The object.
    pub object_id: String,
    /// `application` or `servicePrincipal`.
    pub target: &'static str,
    /// The certificate in use now, with its key (from the rule, else left to fill).
    pub cert: String,
    /// The certificate to roll to, with its key (from the rule, else left to fill).
    pub new_cert: String,
    /// Remove the old key once the new one works.
    pub remove_old: bool,
    /// The object's display name (for people; the roll does not read it).
    pub app_display_name: String,
    /// The thumbprint of the certificate to replace: the roll checks that `cert` is this certificate.
    pub current_thumbprint: String,
    /// When it ends.
    pub current_end_date_time: String,
}

/// The plan row of `item`, or `None` for what a certificate roll does not replace (a secret).
pub fn plan_row(
    item: &InventoryItem,
    cert: Option<&NamingRule>,
    new_cert: Option<&NamingRule>,
    remove_old: bool,
) -> Option<PlanRow> {
    if item.credential_type != CredentialType::Certificate {
        return None;
    }
    Some(PlanRow {
        object_id: item.object_id.to_string(),
        target: item.object_type.as_str(),
        cert: cert.map(|r| r.apply(item)).unwrap_or_default(),
        new_cert: new_cert.map(|r| r.apply(item)).unwrap_or_default(),
        remove_old,
        app_display_name: item.object_display_name.clone().unwrap_or_default(),
        current_thumbprint: item.thumbprint.clone().unwrap_or_default(),
        current_end_date_time: item.end_date_time.clone().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_name_an_object_and_known_placeholders() {
        assert!(NamingRule::parse("certs/{appId}.pfx").is_ok());
        assert!(NamingRule::parse("certs/{displayName}-{thumbprint}.pem").is_ok());
        let e = NamingRule::parse("certs/{appid}.pfx").unwrap_err();
        assert!(e.to_string().contains("unknown placeholder {appid}"), "{e}");
        let e = NamingRule::parse("certs/next.pfx").unwrap_err();
        assert!(e.to_string().contains("same file"), "{e}");
        assert!(NamingRule::parse("certs/{appId.pfx").is_err());
    }
}
