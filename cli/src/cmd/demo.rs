//! `keyroll demo`: the embedded default. Starts the emulator (`keyroll-emulator`, a binary of its own so that
//! `keyroll` carries no server code) as a child process, creates an application with a fresh certificate, and
//! rolls it to a second certificate through the real HTTPS path, narrating each step.
//! No arguments, no network beyond loopback, no tenant.

use std::ffi::OsString;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use keyroll_client::auth::{self, AuthError, Credential, TokenProvider};
use keyroll_client::cloud::{Cloud, Endpoints};
use keyroll_client::graph::{GraphClient, ObjectRef, Target, TargetKind};
use keyroll_client::http::{self, HttpOptions};
use keyroll_client::roll::{self, Progress, RollSpec, StepStatus};
use keyroll_proto::b64;
use keyroll_proto::cert::generate;
use keyroll_proto::clock::{Clock, SystemClock};
use keyroll_proto::inspect::{self, InspectOptions};
use keyroll_proto::proof::{self, ProofRequest};
use serde::Deserialize;

use super::conn::runtime;
use crate::exit::{CmdResult, Failure};

#[derive(Args, Debug)]
pub struct DemoArgs {}

/// Whatever followed `keyroll emulator`, to say where the emulator went.
#[derive(Args, Debug)]
pub struct MovedEmulatorArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<OsString>,
}

/// `keyroll emulator ...`: the emulator moved to its own binary; the error names the command to run instead.
pub fn moved_emulator(args: MovedEmulatorArgs) -> CmdResult {
    let rest: Vec<String> = args
        .args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    Err(Failure::input(anyhow::anyhow!(
        "the emulator is not part of keyroll: run `keyroll-emulator{}{}` (shipped beside keyroll)",
        if rest.is_empty() { "" } else { " " },
        rest.join(" ")
    )))
}

/// The variable naming the `keyroll-emulator` binary the demo starts.
pub const EMULATOR_BIN_VARIABLE: &str = "KEYROLL_EMULATOR_BIN";

/// Where `keyroll-emulator` is: the file `KEYROLL_EMULATOR_BIN` names, else the one beside this `keyroll`
/// (as the release installs them), else the first on the PATH.
fn emulator_program() -> Result<PathBuf, Failure> {
    let name = format!("keyroll-emulator{}", std::env::consts::EXE_SUFFIX);
    if let Some(path) = std::env::var_os(EMULATOR_BIN_VARIABLE) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(fail(format!(
                "{EMULATOR_BIN_VARIABLE} names {}, which is not a file: point it at the keyroll-emulator binary",
                path.display()
            )))
        };
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(&name)));
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|dir| dir.join(&name))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    beside
        .into_iter()
        .chain(on_path)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            fail(format!(
                "the demo needs the emulator, {name}, and found it neither beside keyroll nor on the PATH: \
                 install it beside keyroll (it is in the release's keyroll-emulator archive; from source: \
                 cargo build -p keyroll-emulator) or set {EMULATOR_BIN_VARIABLE} to its path"
            ))
        })
}

/// A `keyroll-emulator` child on a free loopback port, killed and its CA file removed when dropped.
struct ChildEmulator {
    child: Child,
    ca_file: PathBuf,
    graph_url: String,
    login_url: String,
    ca_pem: String,
}

impl Drop for ChildEmulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.ca_file);
    }
}

/// The endpoints line `keyroll-emulator` prints first.
#[derive(Deserialize)]
struct EndpointsLine {
    graph_url: String,
    login_url: String,
}

impl ChildEmulator {
    fn start() -> Result<Self, Failure> {
        let program = emulator_program()?;
        let ca_file = std::env::temp_dir().join(format!(
            "keyroll-demo-ca-{}-{}.pem",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        let child = Command::new(&program)
            .args(["--listen", "127.0.0.1:0", "--ca-file"])
            .arg(&ca_file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("starting {}: {e}", program.display())))?;
        let mut emu = ChildEmulator {
            child,
            ca_file,
            graph_url: String::new(),
            login_url: String::new(),
            ca_pem: String::new(),
        };
        let mut line = String::new();
        if let Some(out) = emu.child.stdout.take() {
            // A read error leaves the line empty, which is reported below with the emulator's stderr.
            let _ = BufReader::new(out).read_line(&mut line);
        }
        let endpoints: EndpointsLine = match serde_json::from_str(&line) {
            Ok(e) => e,
            Err(_) => {
                let _ = emu.child.kill();
                let mut err = String::new();
                if let Some(mut e) = emu.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                return Err(fail(format!(
                    "{} did not start: {}",
                    program.display(),
                    err.trim()
                )));
            }
        };
        emu.graph_url = endpoints.graph_url;
        emu.login_url = endpoints.login_url;
        emu.ca_pem = std::fs::read_to_string(&emu.ca_file).map_err(|e| {
            fail(format!(
                "reading the emulator's CA {}: {e}",
                emu.ca_file.display()
            ))
        })?;
        Ok(emu)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    id: uuid::Uuid,
    app_id: uuid::Uuid,
    tenant_id: uuid::Uuid,
}

struct Narrator;
impl Progress for Narrator {
    fn step(&self, _target: &str, message: &str) {
        println!("    · {message}");
    }
    fn waiting(&self, _target: &str, attempt: u32, waited: Duration) {
        println!(
            "    · waiting for the new key to replicate (attempt {attempt}, {:.1} s)",
            waited.as_secs_f64()
        );
    }
}

fn fail(e: impl std::fmt::Display) -> Failure {
    Failure {
        code: 1,
        error: anyhow::anyhow!("demo: {e}"),
    }
}

pub fn run(_args: DemoArgs) -> CmdResult {
    let rt = runtime()?;
    rt.block_on(demo())
}

async fn demo() -> CmdResult {
    let clock = Arc::new(SystemClock);
    let now = clock.now();
    let step = |n: u32, text: &str| println!("\n[{n}] {text}");

    step(
        1,
        "Starting the local emulator of the identity platform and Graph (keyroll-emulator: HTTPS, in memory)",
    );
    let emu = ChildEmulator::start()?;
    println!("    graph {}  login {}", emu.graph_url, emu.login_url);

    step(
        2,
        "Generating the application's current certificate and the one to roll to (RSA 2048)",
    );
    let current = generate::self_signed_rsa(
        "keyroll demo (current)",
        now - time::Duration::days(300),
        365,
        2048,
    )?;
    let next = generate::self_signed_rsa(
        "keyroll demo (next)",
        now - time::Duration::minutes(5),
        365,
        2048,
    )?;
    println!(
        "    current {} expires in {} days",
        current.certificate.sha1_hex(),
        (current.certificate.not_after() - now).whole_days()
    );
    println!(
        "    next    {} expires in {} days",
        next.certificate.sha1_hex(),
        (next.certificate.not_after() - now).whole_days()
    );

    let http = http::build_client(&HttpOptions {
        extra_roots_pem: Some(emu.ca_pem.as_bytes().to_vec()),
        ..HttpOptions::default()
    })?;

    step(
        3,
        "Registering an application that holds the current certificate",
    );
    let created: Created = http
        .post(format!("{}/_emulator/applications", emu.graph_url))
        .json(&serde_json::json!({
            "displayName": "keyroll demo app",
            "certificates": [b64::encode_std(current.certificate.der())],
        }))
        .send()
        .await
        .map_err(fail)?
        .error_for_status()
        .map_err(fail)?
        .json()
        .await
        .map_err(fail)?;
    println!(
        "    object id {}  appId {}  tenant {}",
        created.id, created.app_id, created.tenant_id
    );

    step(
        4,
        "Minting a proof of possession and checking it as the service would",
    );
    let current_id = current.identity()?;
    let token = proof::mint(&current_id, &ProofRequest::new(created.id), now)?;
    let certs = [current.certificate.clone()];
    let opts = InspectOptions {
        certificates: &certs,
        expected_object_id: Some(created.id),
        app_id: Some(created.app_id),
        expected_audience: None,
        now,
        clock_skew_secs: 0,
    };
    println!(
        "    {}",
        if inspect::inspect(token.as_str(), &opts).accepted() {
            "accepted"
        } else {
            "REJECTED"
        }
    );
    let wrong = proof::mint(&current_id, &ProofRequest::new(created.app_id), now)?;
    if let Some(f) = inspect::inspect(wrong.as_str(), &opts).first_error() {
        println!(
            "    and the classic mistake, caught before sending: {}",
            f.message
        );
    }

    let endpoints = Endpoints::custom(Cloud::Global, Some(&emu.graph_url), Some(&emu.login_url))
        .map_err(fail)?;
    let tenant = created.tenant_id.to_string();
    let client_id = created.app_id.to_string();
    let current_arc = Arc::new(current_id);
    let credential = Credential::ClientCertificate {
        tenant: tenant.clone(),
        client_id: client_id.clone(),
        identity: current_arc.clone(),
    };
    let tokens = Arc::new(TokenProvider::new(
        credential,
        endpoints.clone(),
        http.clone(),
        clock.clone(),
    ));
    let client = GraphClient::new(http.clone(), endpoints.clone(), tokens, clock.clone());
    let target = Target {
        kind: TargetKind::Application,
        object: ObjectRef::Id(created.id),
    };

    step(
        5,
        "Rolling: add the new key, wait until it works, remove the old one (authenticated as the app itself)",
    );
    let spec = RollSpec {
        target,
        current: current_arc.clone(),
        new: Arc::new(next.identity()?),
        display_name: Some("keyroll demo (next)".into()),
        remove_old: true,
        tenant: Some(tenant.clone()),
        client_id: Some(client_id.clone()),
        verify_timeout: Duration::from_secs(60),
    };
    let report = roll::roll(&client, &spec, &Narrator).await;
    println!("    state: {}", report.detail);

    step(6, "The application's keys now");
    for k in &report.final_keys {
        println!(
            "    {}  {}  until {}  {}",
            k.key_id.map(|i| i.to_string()).unwrap_or_default(),
            k.thumbprint.clone().unwrap_or_default(),
            k.end_date_time.clone().unwrap_or_default(),
            k.status
        );
    }

    step(7, "The old certificate no longer gets a token");
    let old_refused = match auth::client_credentials(
        &http,
        &endpoints,
        &tenant,
        &client_id,
        current_arc.as_ref(),
        clock.now(),
    )
    .await
    {
        Err(AuthError::Refused {
            codes, description, ..
        }) => {
            // The description starts with its AADSTS code, as the service writes it; the trace ids are left out.
            let text = description.split(" Trace ID").next().unwrap_or("");
            let code = codes.first().copied().unwrap_or_default();
            if text.starts_with("AADSTS") {
                println!("    refused as expected: {text}");
            } else {
                println!("    refused as expected: AADSTS{code} {text}");
            }
            true
        }
        Ok(_) => {
            println!("    UNEXPECTED: a token was issued for the removed certificate");
            false
        }
        Err(e) => {
            println!("    unexpected error: {e}");
            false
        }
    };

    drop(emu);
    let ok = report.success
        && old_refused
        && report.final_keys.len() == 1
        && report.steps.iter().all(|s| s.status != StepStatus::Failed);
    println!(
        "\n{}",
        if ok {
            "demo complete: the application was rolled to its new certificate"
        } else {
            "demo FAILED"
        }
    );
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
