//! Load test: addKey requests per second against an in-process emulator on loopback, with every check on
//! (access token, proof signature and claims, body rules, key limit, transactional commit).
//!
//! Bounded in count and time: each round sends at most `--requests` addKey calls and stops after
//! `--seconds`, whichever comes first. The client runs in the same process and shares the machine's cores,
//! so the figure is a floor. Plain HTTP, so that TLS does not hide the emulator's own cost.
//!
//!     cargo run --release -p keyroll-emulator --example load -- [--requests 20000] [--seconds 20] [--rounds 3]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use keyroll_emulator::{EmulatorConfig, FaultConfig};
use keyroll_proto::b64;
use keyroll_proto::cert::generate::self_signed_rsa;
use keyroll_proto::proof::{ProofRequest, mint};
use serde_json::{Value, json};
use time::OffsetDateTime;

const APPS: usize = 100;
const WORKERS: usize = 32;

struct Options {
    requests: usize,
    seconds: u64,
    rounds: usize,
}

fn options() -> Options {
    let mut o = Options {
        requests: 20_000,
        seconds: 20,
        rounds: 3,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse::<usize>().ok());
        match (pair[0].as_str(), value) {
            ("--requests", Some(v)) => o.requests = v.min(APPS * 550),
            ("--seconds", Some(v)) => o.seconds = v as u64,
            ("--rounds", Some(v)) => o.rounds = v.max(1),
            _ => eprintln!("ignoring argument {:?}", pair[0]),
        }
    }
    o
}

/// One round: fresh emulator, `APPS` applications, `WORKERS` concurrent clients; returns requests/s.
async fn round(
    state: Option<std::path::PathBuf>,
    o: &Options,
) -> Result<f64, Box<dyn std::error::Error>> {
    let emu = keyroll_emulator::start(EmulatorConfig {
        tls: false,
        state,
        faults: FaultConfig::default(),
        ..EmulatorConfig::default()
    })
    .await?;
    let base = emu.base_url().to_owned();
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(WORKERS)
        .build()?;
    let new = self_signed_rsa("CN=load new", OffsetDateTime::now_utc(), 30, 2048)?;
    let new_der = b64::encode_std(new.certificate.der());
    let mut targets = Vec::new();
    for i in 0..APPS {
        let id = self_signed_rsa(
            &format!("CN=load {i}"),
            OffsetDateTime::now_utc() - time::Duration::days(1),
            30,
            2048,
        )?
        .identity()?;
        let created: Value = http
            .post(format!("{base}/_emulator/applications"))
            .json(&json!({"displayName": format!("load {i}"), "certificates": [b64::encode_std(id.certificate().der())]}))
            .send()
            .await?
            .json()
            .await?;
        let object_id: uuid::Uuid = created["id"].as_str().unwrap_or_default().parse()?;
        let token: Value = http
            .post(format!("{base}/_emulator/tokens"))
            .json(&json!({"appId": created["appId"]}))
            .send()
            .await?
            .json()
            .await?;
        let proof = mint(
            &id,
            &ProofRequest::new(object_id),
            OffsetDateTime::now_utc(),
        )?;
        let body = serde_json::to_vec(&json!({
            "keyCredential": {"type": "AsymmetricX509Cert", "usage": "Verify", "key": new_der},
            "passwordCredential": null,
            "proof": proof.as_str(),
        }))?;
        targets.push(Arc::new((
            format!("{base}/v1.0/applications/{object_id}/addKey"),
            format!(
                "Bearer {}",
                token["access_token"].as_str().unwrap_or_default()
            ),
            body,
        )));
    }
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(o.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..WORKERS {
        let (http, targets, next, failures) = (
            http.clone(),
            targets.clone(),
            next.clone(),
            failures.clone(),
        );
        let limit = o.requests;
        tasks.push(tokio::spawn(async move {
            let mut done = 0usize;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= limit || Instant::now() >= deadline {
                    break;
                }
                let t = &targets[n % targets.len()];
                let ok = http
                    .post(&t.0)
                    .header("authorization", &t.1)
                    .header("content-type", "application/json")
                    .body(t.2.clone())
                    .send()
                    .await
                    .map(|r| r.status() == 200)
                    .unwrap_or(false);
                if ok {
                    done += 1;
                } else {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
            done
        }));
    }
    let mut done = 0;
    for t in tasks {
        done += t.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let failed = failures.load(Ordering::Relaxed);
    emu.shutdown().await;
    if failed > 0 {
        return Err(format!("{failed} addKey requests failed").into());
    }
    eprintln!(
        "  {done} addKey in {elapsed:.2} s = {:.0}/s",
        done as f64 / elapsed
    );
    Ok(done as f64 / elapsed)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = options();
    let mut memory = Vec::new();
    eprintln!("in-memory state:");
    for _ in 0..o.rounds {
        memory.push(round(None, &o).await?);
    }
    let dir = tempfile::tempdir()?;
    let mut file = Vec::new();
    eprintln!("--state FILE:");
    for r in 0..o.rounds {
        file.push(round(Some(dir.path().join(format!("state-{r}.db"))), &o).await?);
    }
    println!(
        "{}",
        json!({
            "addkey_per_sec_memory_median": median(memory).round(),
            "addkey_per_sec_state_file_median": median(file).round(),
            "rounds": o.rounds,
            "workers": WORKERS,
            "apps": APPS,
        })
    );
    Ok(())
}
