//! Reading a collection page by page (`GET /applications`, `/servicePrincipals`), following `@odata.nextLink`.
//!
//! Graph pages collections (at most 999 objects a page for these two) and hands back the next page as an
//! absolute URL with an opaque skip token. The link is followed only when it points at this client's own Graph
//! base: the token goes nowhere else.

use serde_json::Value;

use super::{GraphClient, GraphError};

/// One page of a collection.
#[derive(Debug, Clone)]
pub struct Page {
    /// The objects on the page, as Graph returned them.
    pub items: Vec<Value>,
    /// The next page, as a path under the Graph base (`applications?$skiptoken=…`); `None` on the last page.
    pub next: Option<String>,
    /// `@odata.count`, when it was asked for (`$count=true`).
    pub count: Option<u64>,
    /// The request id of the answer.
    pub request_id: Option<String>,
}

impl GraphClient {
    /// Reads one page at `path` (a collection path with its query, or a previous page's [`Page::next`]).
    /// `eventual` sends `ConsistencyLevel: eventual`, which Graph requires for `$count` on directory objects.
    pub async fn list_page(&self, path: &str, eventual: bool) -> Result<Page, GraphError> {
        let headers: &[(&str, &str)] = if eventual {
            &[("ConsistencyLevel", "eventual")]
        } else {
            &[]
        };
        let a = self
            .call_done_with(reqwest::Method::GET, path, None, headers)
            .await?;
        let bad = |detail: String| GraphError::InvalidResponse {
            operation: format!("GET {path}"),
            detail,
            request_id: a.request_id.clone(),
        };
        let mut v: Value = serde_json::from_slice(&a.body).map_err(|e| bad(e.to_string()))?;
        let items = match v.get_mut("value").map(Value::take) {
            Some(Value::Array(items)) => items,
            _ => return Err(bad("no `value` array in a collection answer".into())),
        };
        let next = match v.get("@odata.nextLink").and_then(Value::as_str) {
            None => None,
            Some(link) => Some(self.relative_link(link).ok_or_else(|| {
                bad(format!(
                    "@odata.nextLink {link:?} does not point at this client's Graph ({}); it was not followed",
                    self.endpoints.graph_base()
                ))
            })?),
        };
        Ok(Page {
            items,
            next,
            count: v.get("@odata.count").and_then(Value::as_u64),
            request_id: a.request_id.clone(),
        })
    }

    /// `link` as a path under this client's Graph base, when it is under it.
    fn relative_link(&self, link: &str) -> Option<String> {
        let base = self.endpoints.graph_base();
        let rest = link.strip_prefix(base.as_str())?;
        let rest = rest.strip_prefix('/')?;
        (!rest.is_empty()).then(|| rest.to_string())
    }
}
