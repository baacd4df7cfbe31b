//! `keyroll password add|remove|list`: client secrets (Graph addPassword / removePassword). The secret is
//! written once, to stdout, and nowhere else: not to stderr, the `-v` log, an error or a journal.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use keyroll_client::graph::{GraphError, Refusal};
use keyroll_proto::credential::serde_date;
use keyroll_proto::password::PasswordRequest;
use time::OffsetDateTime;

use super::conn::{ConnArgs, TargetArgs, graph_failure, runtime};
use crate::exit::{CmdResult, Failure};
use crate::output::{self, Format, OutputArgs};

#[derive(Subcommand, Debug)]
pub enum PasswordCommand {
    /// Add a client secret (Graph addPassword): the service generates it, and it is shown this once.
    Add(AddArgs),
    /// Remove a client secret (Graph removePassword).
    Remove(RemoveArgs),
    /// List the client secrets (their hints, never their text: the service does not return it).
    List(ListArgs),
}

#[derive(Args, Debug)]
pub struct AddArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Display name of the secret.
    #[arg(long, value_name = "NAME")]
    display_name: Option<String>,
    /// Start of validity (ISO 8601; default: now).
    #[arg(long, value_name = "TIME")]
    start: Option<String>,
    /// End of validity (ISO 8601; default: two years after the start).
    #[arg(long, value_name = "TIME")]
    end: Option<String>,
    #[command(flatten)]
    conn: ConnArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct RemoveArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The keyId of the secret to remove.
    #[arg(long, value_name = "GUID")]
    key_id: String,
    #[command(flatten)]
    conn: ConnArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    conn: ConnArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(command: PasswordCommand) -> CmdResult {
    match command {
        PasswordCommand::Add(a) => add(a),
        PasswordCommand::Remove(a) => remove(a),
        PasswordCommand::List(a) => list(a),
    }
}

fn parse_time(flag: &str, v: Option<&str>) -> Result<Option<OffsetDateTime>, Failure> {
    v.map(|s| serde_date::parse(s).map_err(|e| Failure::input(anyhow::anyhow!("--{flag}: {e}"))))
        .transpose()
}

fn add(args: AddArgs) -> CmdResult {
    let target = args.target.target()?;
    let request = PasswordRequest {
        display_name: args.display_name.clone(),
        start_date_time: parse_time("start", args.start.as_deref())?,
        end_date_time: parse_time("end", args.end.as_deref())?,
    };
    let rt = runtime()?;
    let client = args.conn.client(None, &rt)?;
    let outcome = rt
        .block_on(client.add_password(&target, &request))
        .map_err(graph_failure)?;
    if !outcome.orphans_removed.is_empty() {
        eprintln!(
            "note: an answer was lost and the secret it carried was removed again, since its text is unknown ({})",
            outcome
                .orphans_removed
                .iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for w in &outcome.warnings {
        eprintln!("warning: {w}");
    }
    let c = &outcome.credential;
    let secret = outcome.secret.expose();
    match args.output.format() {
        Format::Json => output::print_document(serde_json::json!({
            "objectId": outcome.object_id,
            "passwordCredential": c,
            "secretText": secret,
            "attempts": outcome.attempts,
            "orphansRemoved": outcome.orphans_removed,
            "warnings": outcome.warnings,
        }))?,
        Format::Tsv => output::print_tsv(
            &[
                "keyId",
                "hint",
                "displayName",
                "startDateTime",
                "endDateTime",
                "secretText",
            ],
            [vec![
                output::opt(c.key_id),
                output::opt(c.hint.as_deref()),
                output::opt(c.display_name.as_deref()),
                output::opt(c.start_date_time.map(serde_date::format)),
                output::opt(c.end_date_time.map(serde_date::format)),
                secret.to_owned(),
            ]],
        ),
        Format::Table => {
            println!(
                "added client secret {} to the {target}: {}valid {} to {}",
                output::opt(c.key_id),
                c.display_name
                    .as_deref()
                    .map(|n| format!("{n}, "))
                    .unwrap_or_default(),
                output::opt(c.start_date_time.map(serde_date::format)),
                output::opt(c.end_date_time.map(serde_date::format)),
            );
            println!("secret: {secret}");
            eprintln!(
                "note: the secret is shown this once; the service never returns it again. Store it now."
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn remove(args: RemoveArgs) -> CmdResult {
    let target = args.target.target()?;
    let key_id = uuid::Uuid::parse_str(args.key_id.trim()).map_err(|_| {
        graph_failure(GraphError::Refused(Refusal::KeyIdNotGuid {
            given: args.key_id.clone(),
        }))
    })?;
    let rt = runtime()?;
    let client = args.conn.client(None, &rt)?;
    rt.block_on(client.remove_password(&target, key_id))
        .map_err(graph_failure)?;
    match args.output.format() {
        Format::Json => output::print_document(serde_json::json!({ "removedKeyId": key_id }))?,
        Format::Tsv => output::print_tsv(&["removedKeyId"], [vec![key_id.to_string()]]),
        Format::Table => println!("removed client secret {key_id} from the {target}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn list(args: ListArgs) -> CmdResult {
    let target = args.target.target()?;
    let rt = runtime()?;
    let client = args.conn.client(None, &rt)?;
    let found = rt
        .block_on(client.read_passwords(&target))
        .map_err(graph_failure)?;
    let rows = found.passwords.iter().map(|p| {
        vec![
            output::opt(p.key_id),
            output::opt(p.hint.as_deref()),
            output::opt(p.display_name.as_deref()),
            output::opt(p.start_date_time.map(serde_date::format)),
            output::opt(p.end_date_time.map(serde_date::format)),
        ]
    });
    match args.output.format() {
        Format::Json => output::print_document(serde_json::json!({
            "objectId": found.id,
            "passwordCredentials": found.passwords,
        }))?,
        Format::Tsv | Format::Table => output::print_tsv(
            &[
                "keyId",
                "hint",
                "displayName",
                "startDateTime",
                "endDateTime",
            ],
            rows,
        ),
    }
    Ok(ExitCode::SUCCESS)
}
