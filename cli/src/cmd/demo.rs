//! `keyroll demo`: the embedded default. Starts the emulator in process, creates an application with a fresh
//! certificate, and rolls it to a second certificate through the real HTTPS path, narrating each step.
//! No arguments, no network beyond loopback, no tenant.

use std::process::ExitCode;
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
        "Starting the local emulator of the identity platform and Graph (HTTPS, in memory)",
    );
    let emu = keyroll_emulator::start(keyroll_emulator::EmulatorConfig::default())
        .await
        .map_err(fail)?;
    println!(
        "    graph {}  login {}",
        emu.endpoints.graph_url, emu.endpoints.login_url
    );

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
        extra_roots_pem: emu.ca_pem.as_ref().map(|p| p.as_bytes().to_vec()),
        ..HttpOptions::default()
    })?;

    step(
        3,
        "Registering an application that holds the current certificate",
    );
    let created: Created = http
        .post(format!(
            "{}/_emulator/applications",
            emu.endpoints.graph_url
        ))
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

    let endpoints = Endpoints::custom(
        Cloud::Global,
        Some(&emu.endpoints.graph_url),
        Some(&emu.endpoints.login_url),
    )
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

    emu.shutdown().await;
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
