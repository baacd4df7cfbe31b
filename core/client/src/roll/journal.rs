//! The journal of a bulk roll: one JSON line per plan row, appended and synced as each row ends, so that a run
//! stopped by Ctrl-C, a kill or a crash leaves a record of every row that finished — and `--resume` skips them.
//!
//! A row missing from the journal was not finished as far as anyone can know: it may have been half-done when the
//! process died. Running it again is safe: a roll reads the object first, finds a new key that is already in
//! place and goes on from there (or reports the row already rolled), so no key is added twice.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::report::{RollReport, RollState};
use keyroll_proto::ErrorKind;

/// The journal's format version, in every line (`v`).
pub const JOURNAL_VERSION: u32 = 1;

/// One line of the journal: how one plan row ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntry {
    /// The format version ([`JOURNAL_VERSION`]).
    pub v: u32,
    /// The plan row, from 1.
    pub row: usize,
    /// The row's target, in words (as the report says it): a journal line is trusted for a row only when the
    /// row still names the same target.
    pub target: String,
    /// The object id, when it was known.
    pub object_id: Option<Uuid>,
    /// What the object holds.
    pub state: RollState,
    /// Whether the row's roll succeeded.
    pub success: bool,
    /// The key the roll added (or found in place).
    pub new_key_id: Option<Uuid>,
    /// The keys the roll removed.
    pub removed_key_ids: Vec<Uuid>,
    /// The error of a row that did not succeed.
    pub error: Option<String>,
    /// Its kind.
    pub kind: Option<ErrorKind>,
    /// When the row ended (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl JournalEntry {
    /// The line for plan row `row` (from 0) that ended with `report`.
    pub fn new(row: usize, report: &RollReport, at: OffsetDateTime) -> Self {
        JournalEntry {
            v: JOURNAL_VERSION,
            row: row + 1,
            target: report.target.clone(),
            object_id: report.object_id,
            state: report.state,
            success: report.success,
            new_key_id: report.new_key_id,
            removed_key_ids: report.removed_key_ids.clone(),
            error: report.error.clone(),
            kind: report.error_kind,
            at,
        }
    }
}

/// Why a journal could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// The file could not be opened, written or read.
    #[error("the journal {path} could not be {doing}: {source}; {}", if *doing == "read" {
        "give the journal an earlier run of this plan wrote (FILE.journal beside the plan, unless another journal was named)"
    } else {
        "give a journal path in a folder you can write to"
    })]
    Io {
        /// The file.
        path: PathBuf,
        /// `opened`, `written` or `read`.
        doing: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// A line that is not a journal line, and not the last one (a torn last line is what a kill leaves).
    #[error(
        "the journal {path} line {line} is not a keyroll journal line ({detail}); give the journal this plan's runs wrote, or run without resuming"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong.
        detail: String,
    },
}

impl JournalError {
    /// A journal that cannot be used is the caller's input (its path or its content): [`ErrorKind::Input`].
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Input
    }
}

/// A journal open for appending. Lines are written whole, one per call, and synced to disk before
/// [`Journal::record`] returns.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl Journal {
    /// Opens (creating) `path` for appending: a resumed run adds to the journal of the runs before it.
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| JournalError::Io {
                path: path.to_path_buf(),
                doing: "opened",
                source,
            })?;
        // A line torn by a kill stays on its own line: what follows starts on a fresh one.
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let journal = Journal {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        };
        if len > 0 && !ends_with_newline(path) {
            journal.write_line(b"\n")?;
        }
        Ok(journal)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends the line of plan row `row` (from 0).
    pub fn record(&self, row: usize, report: &RollReport) -> Result<(), JournalError> {
        let entry = JournalEntry::new(row, report, OffsetDateTime::now_utc());
        let mut line = serde_json::to_vec(&entry).map_err(|e| JournalError::Io {
            path: self.path.clone(),
            doing: "written",
            source: std::io::Error::other(e),
        })?;
        line.push(b'\n');
        self.write_line(&line)
    }

    fn write_line(&self, line: &[u8]) -> Result<(), JournalError> {
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            doing: "written",
            source,
        };
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(line).map_err(io)?;
        file.flush().map_err(io)?;
        file.sync_data().map_err(io)
    }
}

fn ends_with_newline(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return true;
    };
    let mut last = [0u8; 1];
    f.seek(SeekFrom::End(-1)).is_err() || (f.read_exact(&mut last).is_ok() && last[0] == b'\n')
}

/// Reads a journal. Blank lines are skipped; a line cut short (what a kill in the middle of a write leaves: the
/// start of a journal line, not valid JSON) is ignored, and its row counts as not done; any other line that is
/// not a journal line is an error (the wrong file was given).
pub fn read_journal(path: &Path) -> Result<Vec<JournalEntry>, JournalError> {
    let text = std::fs::read_to_string(path).map_err(|source| JournalError::Io {
        path: path.to_path_buf(),
        doing: "read",
        source,
    })?;
    let mut entries = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<JournalEntry>(line) {
            Ok(e) => entries.push(e),
            Err(_) if torn(line) => {}
            Err(e) => {
                return Err(JournalError::Corrupt {
                    path: path.to_path_buf(),
                    line: n + 1,
                    detail: e.to_string(),
                });
            }
        }
    }
    Ok(entries)
}

/// A journal line cut short by a kill: how every line starts, and not complete JSON.
fn torn(line: &str) -> bool {
    line.starts_with(r#"{"v":"#) && serde_json::from_str::<serde_json::Value>(line).is_err()
}

/// The last line of each row, by row (from 0): a resumed run appends, so a later line of a row supersedes an
/// earlier one.
pub fn last_by_row(entries: &[JournalEntry]) -> HashMap<usize, JournalEntry> {
    let mut out = HashMap::new();
    for e in entries {
        if e.row > 0 {
            out.insert(e.row - 1, e.clone());
        }
    }
    out
}

/// Whether a journal line says its row needs nothing more: the roll succeeded (rolled, already rolled, or the
/// old key kept as asked).
pub fn is_done(entry: &JournalEntry) -> bool {
    entry.success
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(target: &str, state: RollState, success: bool) -> RollReport {
        let mut r = RollReport::new(target.to_string());
        r.state = state;
        r.success = success;
        r
    }

    #[test]
    fn lines_are_appended_and_a_torn_last_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.journal");
        let j = Journal::open(&path).unwrap();
        j.record(0, &report("app a", RollState::Rolled, true))
            .unwrap();
        j.record(1, &report("app b", RollState::Incomplete, false))
            .unwrap();
        drop(j);
        // A kill in the middle of the third line.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(br#"{"v":1,"row":3,"tar"#).unwrap();
        drop(f);
        let entries = read_journal(&path).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].row, 1);
        assert_eq!(entries[1].state, RollState::Incomplete);
        // A resumed run appends after the torn line, on a line of its own.
        let j = Journal::open(&path).unwrap();
        j.record(1, &report("app b", RollState::Rolled, true))
            .unwrap();
        let entries = read_journal(&path).unwrap();
        assert_eq!(entries.len(), 3);
        assert!(is_done(&last_by_row(&entries)[&1]));
        // Another file given as the journal is refused, naming the line.
        let other = dir.path().join("plan.csv");
        std::fs::write(&other, "objectId,cert,newCert\nabc,a.pfx,b.pfx\n").unwrap();
        let e = read_journal(&other).unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
    }

    #[test]
    fn the_last_line_of_a_row_wins() {
        let at = OffsetDateTime::UNIX_EPOCH;
        let a = JournalEntry::new(0, &report("x", RollState::Incomplete, false), at);
        let b = JournalEntry::new(0, &report("x", RollState::Rolled, true), at);
        let last = last_by_row(&[a, b]);
        assert!(is_done(&last[&0]));
        let line = serde_json::to_string(&last[&0]).unwrap();
        assert!(line.contains(r#""state":"rolled""#), "{line}");
        assert!(line.contains(r#""v":1"#), "{line}");
    }
}
