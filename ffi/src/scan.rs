//! The exported functions of an inventory scan, pulled page by page: `keyroll_scan_start`, then
//! `keyroll_scan_next` until its answer says `done`, then `keyroll_scan_close`. Conventions as in [`crate::exports`].

use std::sync::{Arc, LazyLock};

use interoptopus::ffi_function;
use interoptopus::patterns::slice::FFISlice;
use keyroll_host::{self as api, ScanOperation};

use crate::boundary::{
    block_on, bytes, json_output, run, run_plain, write_handle, Failure, KeyrollOutput,
    KeyrollStatus, Shared, Table,
};
use crate::exports::CONNECTIONS;

static SCANS: LazyLock<Table<Shared<ScanOperation>>> = LazyLock::new(|| Table::new("scan"));

/// Starts an inventory scan on a connection: `scan` receives its handle. Settings (JSON): `{"types": "all" |
/// "application" | "servicePrincipal", "expiringWithinDays": n, "owners": bool, "pageSize": n}`; nothing is read
/// yet. The output is `{"scan": <handle>}`.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_scan_start(
    connection: u64,
    settings: FFISlice<u8>,
    scan: *mut u64,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        if scan.is_null() {
            return Err(Failure::null("scan"));
        }
        let conn = CONNECTIONS.get(connection)?;
        let settings: api::ScanSettings =
            api::from_json("scan settings", bytes("settings", &settings)?)?;
        let started = conn.start_scan(&settings)?;
        let handle = SCANS.insert(Arc::new(started));
        write_handle("scan", scan, handle)?;
        json_output(&serde_json::json!({ "scan": handle }))
    })
}

/// Reads the next page (blocks for it): `{"done": false, "collection", "read", "total", "items": [...]}`, or
/// `{"done": true, "summary": {...}}` once every collection was read.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_scan_next(scan: u64, output: *mut KeyrollOutput) -> KeyrollStatus {
    run(output, || {
        let op = SCANS.get(scan)?;
        json_output(&block_on(op.next_page())?)
    })
}

/// Closes a scan (nothing is left running: pages are read only when asked for).
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_scan_close(scan: u64) -> KeyrollStatus {
    run_plain(|| SCANS.remove(scan).map(drop))
}
