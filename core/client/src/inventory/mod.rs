//! Inventory: every certificate and client secret of a tenant's applications and service principals, read in
//! one scan, with how long each has left, and turned into a roll plan.
//!
//! Graph refuses a server-side filter on `keyCredentials` and `passwordCredentials`, so a scan reads every object:
//! `GET /applications?$select=…&$top=999` (and `/servicePrincipals`), following `@odata.nextLink`. The pages are
//! the client's calls, so the scan is paced by the service's read budget through the client's shared throttle.
//! Items are handed to the caller as each page arrives and the page is dropped: memory stays flat however large
//! the tenant, and the first rows show while the scan goes on.

mod item;
mod plan;

use serde::Serialize;

use crate::graph::{GraphClient, GraphError};
use keyroll_proto::ErrorKind;
use keyroll_proto::cert::Certificate;

pub use item::{CredentialType, InventoryItem, ObjectType};
pub use plan::{NamingRule, PlanRow, RuleError, plan_row};

/// Graph's largest page for applications and service principals.
pub const MAX_PAGE: u32 = 999;

/// What to scan and what to report.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Applications, service principals, or both (in that order).
    pub types: Vec<ObjectType>,
    /// Report only credentials that end within this long (expired ones included); `None`: every credential.
    pub expiring_within: Option<time::Duration>,
    /// Objects per page (1..=999).
    pub page_size: u32,
    /// Read each object's owners too (`$expand=owners`, one more resource unit a page).
    pub owners: bool,
    /// The certificate the caller signs in with, to mark the key that "signs".
    pub signer: Option<Certificate>,
    /// Only certificates, or only secrets; `None`: both.
    pub credentials: Option<CredentialType>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            types: vec![ObjectType::Application, ObjectType::ServicePrincipal],
            expiring_within: None,
            page_size: MAX_PAGE,
            owners: false,
            signer: None,
            credentials: None,
        }
    }
}

/// What a scan read.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanSummary {
    /// Objects read.
    pub objects: u64,
    /// Credentials seen (certificates and secrets).
    pub credentials: u64,
    /// Credentials reported (those the options asked for).
    pub reported: u64,
    /// Pages read.
    pub pages: u32,
    /// Whether the caller stopped the scan before its end.
    pub stopped: bool,
}

/// Hears a scan as it goes.
pub trait ScanProgress: Send + Sync {
    /// A page of `collection` was read: objects read so far in it, and its total when Graph counted it.
    fn page(&self, _collection: ObjectType, _read: u64, _total: Option<u64>) {}
}

/// Progress that goes nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoScanProgress;
impl ScanProgress for NoScanProgress {}

/// Why a scan stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// Listing the collection was refused: the caller lacks the permission.
    #[error(
        "listing {collection} was refused (403 {code}): a scan needs Application.Read.All (or Application.ReadWrite.All, or Directory.Read.All) granted to the identity it signs in as; with Application.ReadWrite.OwnedBy Graph lists only the objects that identity owns, and with none of them nothing. Grant Application.Read.All (admin consent), or scan with an identity that has it"
    )]
    Denied {
        /// `applications` or `servicePrincipals`.
        collection: &'static str,
        /// Graph's error code.
        code: String,
        /// The answer.
        #[source]
        source: Box<GraphError>,
    },
    /// Any other failure of a page read.
    #[error("reading {collection}: {source}")]
    Graph {
        /// `applications` or `servicePrincipals`.
        collection: &'static str,
        /// The failure.
        #[source]
        source: Box<GraphError>,
    },
    /// The page size is out of Graph's range.
    #[error("a page holds 1 to {MAX_PAGE} objects; {0} was asked for")]
    PageSize(u32),
}

impl ScanError {
    /// A refused permission is the service's verdict; a bad page size the caller's input.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ScanError::Denied { .. } => ErrorKind::Service,
            ScanError::Graph { source, .. } => source.kind(),
            ScanError::PageSize(_) => ErrorKind::Input,
        }
    }
}

/// The first page's path of one collection.
fn first_page(kind: ObjectType, options: &ScanOptions) -> String {
    let mut path = format!(
        "{}?$select=id,appId,displayName,keyCredentials,passwordCredentials&$top={}&$count=true",
        kind.collection(),
        options.page_size
    );
    if options.owners {
        path.push_str("&$expand=owners($select=id,displayName)");
    }
    path
}

/// A scan read one page at a time: for hosts that pull (the C ABI, PowerShell's pipeline), and for [`scan`].
#[derive(Debug)]
pub struct Scanner {
    client: GraphClient,
    options: ScanOptions,
    /// Which of `options.types` is being read.
    type_index: usize,
    /// The next page's path; `None` before the first page of the current type.
    next: Option<String>,
    /// Objects read of the current type.
    read: u64,
    summary: ScanSummary,
    done: bool,
}

/// One page's worth of a scan.
#[derive(Debug, Clone)]
pub struct ScanPage {
    /// The collection the page was read from.
    pub collection: ObjectType,
    /// The credentials reported from it (possibly none).
    pub items: Vec<InventoryItem>,
    /// Objects of this collection read so far.
    pub read: u64,
    /// The collection's total, when Graph counted it.
    pub total: Option<u64>,
}

impl Scanner {
    /// A scan of `options` through `client`; nothing is read until [`Scanner::next_page`].
    pub fn new(client: &GraphClient, options: ScanOptions) -> Result<Self, ScanError> {
        if !(1..=MAX_PAGE).contains(&options.page_size) {
            return Err(ScanError::PageSize(options.page_size));
        }
        Ok(Scanner {
            client: client.clone(),
            done: options.types.is_empty(),
            options,
            type_index: 0,
            next: None,
            read: 0,
            summary: ScanSummary::default(),
        })
    }

    /// Reads the next page; `None` once every collection was read.
    pub async fn next_page(&mut self) -> Result<Option<ScanPage>, ScanError> {
        if self.done {
            return Ok(None);
        }
        let kind = self.options.types[self.type_index];
        let path = match self.next.take() {
            Some(p) => p,
            None => first_page(kind, &self.options),
        };
        let page = self
            .client
            .list_page(&path, true)
            .await
            .map_err(|e| page_error(kind, e))?;
        self.summary.pages += 1;
        let now = self.client.clock().now();
        let mut items = Vec::new();
        for object in &page.items {
            self.read += 1;
            self.summary.objects += 1;
            let (found, seen) = item::items(kind, object, now, &self.options);
            self.summary.credentials += seen;
            self.summary.reported += found.len() as u64;
            items.extend(found);
        }
        let out = ScanPage {
            collection: kind,
            items,
            read: self.read,
            total: page.count,
        };
        match page.next {
            Some(next) => self.next = Some(next),
            None => {
                self.type_index += 1;
                self.read = 0;
                self.done = self.type_index >= self.options.types.len();
            }
        }
        Ok(Some(out))
    }

    /// What was read so far.
    pub fn summary(&self) -> &ScanSummary {
        &self.summary
    }
}

/// Scans the tenant: every object of each type in `options.types`, page by page, handing each reported credential
/// to `on_item` as its page arrives (return `false` to stop the scan). Objects with no credential to report
/// give no item. Never holds more than one page.
pub async fn scan(
    client: &GraphClient,
    options: &ScanOptions,
    progress: &dyn ScanProgress,
    on_item: &mut (dyn FnMut(InventoryItem) -> bool + Send),
) -> Result<ScanSummary, ScanError> {
    let mut scanner = Scanner::new(client, options.clone())?;
    while let Some(page) = scanner.next_page().await? {
        for it in page.items {
            if !on_item(it) {
                let mut summary = scanner.summary().clone();
                summary.stopped = true;
                return Ok(summary);
            }
        }
        progress.page(page.collection, page.read, page.total);
    }
    Ok(scanner.summary().clone())
}

fn page_error(kind: ObjectType, e: GraphError) -> ScanError {
    let collection = kind.collection();
    match &e {
        GraphError::Service(s) if s.status == 403 => ScanError::Denied {
            collection,
            code: s.code.clone(),
            source: Box::new(e),
        },
        _ => ScanError::Graph {
            collection,
            source: Box::new(e),
        },
    }
}

/// Parses an `--expiring`-style span: `30d`, `12h`, `90m`, or a bare number of days.
pub fn parse_span(text: &str) -> Result<time::Duration, String> {
    let t = text.trim();
    let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, "d"),
    };
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a span: give days as 30 or 30d, or hours as 12h"))?;
    match unit.trim() {
        "d" | "day" | "days" => Ok(time::Duration::days(n)),
        "h" | "hour" | "hours" => Ok(time::Duration::hours(n)),
        "m" | "min" | "minutes" => Ok(time::Duration::minutes(n)),
        other => Err(format!(
            "{text:?}: unknown unit {other:?}; give days (30d), hours (12h) or minutes (90m)"
        )),
    }
}

impl ObjectType {
    /// The Graph collection.
    pub fn collection(self) -> &'static str {
        match self {
            ObjectType::Application => "applications",
            ObjectType::ServicePrincipal => "servicePrincipals",
        }
    }
}
