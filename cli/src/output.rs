//! How a command prints its result: `--output table` (for people; the default), `json` (one versioned document,
//! `docs/output.md`, schema `docs/schema/keyroll-output-v1.json`) or `tsv` (a header row and one row per item,
//! for `cut` and `awk`). Errors follow the same choice: under `json` the error is a document on stdout too.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Args, ValueEnum};
use keyroll_proto::ErrorKind;
use serde_json::Value;

use crate::exit::Failure;

/// The version of the JSON documents: raised when a field is removed or changes meaning (fields may be added).
pub const SCHEMA_VERSION: u32 = 1;

/// The output formats.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// For people: aligned text, as before this option existed.
    #[default]
    Table,
    /// One JSON document with "schemaVersion": 1 (docs/output.md).
    Json,
    /// A header row, then one tab-separated row per item; no other text.
    Tsv,
}

/// `--output` and its alias `--json`, on every command that prints a result.
#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// How to print the result: table (for people), json (a versioned document, docs/output.md; errors too), or
    /// tsv (a header row, then one tab-separated row per item).
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = Format::Table)]
    output: Format,
    /// The same as --output json.
    #[arg(long, conflicts_with = "output")]
    json: bool,
}

impl OutputArgs {
    pub fn format(&self) -> Format {
        if self.json { Format::Json } else { self.output }
    }
}

/// The chosen format and the command's name, set once by `main` after parsing; errors print by it.
static CHOSEN: OnceLock<(Format, &'static str)> = OnceLock::new();

/// Records the format and the command name (`"key list"`), for the documents and for errors.
pub fn choose(format: Format, command: &'static str) {
    let _ = CHOSEN.set((format, command));
}

fn chosen() -> (Format, &'static str) {
    CHOSEN.get().copied().unwrap_or((Format::Table, "keyroll"))
}

/// The JSON name of a kind (`input`, `rejected`, ...), as the error object and docs/output.md spell it.
pub fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Input => "input",
        ErrorKind::Rejected => "rejected",
        ErrorKind::Service => "service",
        ErrorKind::Transport => "transport",
        _ => "internal",
    }
}

/// A document: `schemaVersion` and `command` first (what a reader checks before anything else), then `fields`
/// (an object), in the order given.
struct Document(Vec<(String, Value)>);

impl serde::Serialize for Document {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

fn document(fields: Value) -> Document {
    let mut doc = vec![
        ("schemaVersion".to_string(), Value::from(SCHEMA_VERSION)),
        ("command".to_string(), Value::from(chosen().1)),
    ];
    if let Value::Object(f) = fields {
        doc.extend(
            f.into_iter()
                .filter(|(k, _)| k != "schemaVersion" && k != "command"),
        );
    }
    Document(doc)
}

/// Writes `text` and a line break on stdout. A reader that went away (`| head`) ends the output quietly: the
/// command still ends with its own exit code (`println!` would panic instead).
fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
}

/// Prints a document (see [`document`]) as pretty JSON on stdout.
pub fn print_document(fields: Value) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(&document(fields)).map_err(Failure::input)?;
    out(&text);
    Ok(())
}

/// Set when a command ended its own (streamed) document with the error object: no second document follows.
static ERROR_IN_DOCUMENT: AtomicBool = AtomicBool::new(false);

/// Records that the command's document carries its error already.
pub fn error_in_document() {
    ERROR_IN_DOCUMENT.store(true, Ordering::Relaxed);
}

/// Under `--output json`: the error document on stdout (the human message is on stderr already).
pub fn print_error(failure: &Failure) {
    if chosen().0 != Format::Json || ERROR_IN_DOCUMENT.load(Ordering::Relaxed) {
        return;
    }
    let doc = document(serde_json::json!({ "error": failure.to_json() }));
    if let Ok(text) = serde_json::to_string_pretty(&doc) {
        out(&text);
    }
}

/// One TSV field: tabs and line breaks inside a value would break the row, so they become spaces.
fn field(v: &str) -> String {
    v.replace(['\t', '\n', '\r'], " ")
}

/// Prints a header row and one row per item, tab-separated.
pub fn print_tsv(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) {
    let mut text = header.join("\t");
    for row in rows {
        debug_assert_eq!(row.len(), header.len());
        text.push('\n');
        text.push_str(&row.iter().map(|v| field(v)).collect::<Vec<_>>().join("\t"));
    }
    out(&text);
}

/// An optional value as a TSV field (empty when absent).
pub fn opt(v: Option<impl ToString>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_fields_never_carry_a_tab_or_a_line_break() {
        assert_eq!(field("a\tb\nc\r"), "a b c ");
    }
}
