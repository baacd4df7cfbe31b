//! `keyroll-emulator`: serves the local identity platform + Graph until SIGINT / SIGTERM.
//!
//! A binary of its own, apart from `keyroll`, so that the CLI users install carries no server code and no
//! SQLite; the test suites, the demo and rehearsals start this one.
//!
//! The first line on stdout is one JSON object with `graph_url`, `login_url`, `vault_url` (the emulated Key
//! Vault) and `ca_cert`, so that scripts and test fixtures can start it on port 0 and read where it listens.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser as _;

use keyroll_emulator::admin::BulkSeed;
use keyroll_emulator::{
    ConnectionLimits, EmulatorConfig, FaultConfig, FaultRule, ReadBudget, WriteBudget,
};

/// Serve the local emulator of the Microsoft identity platform, Graph and Key Vault (for rehearsals and
/// tests). The first line on stdout is a JSON object with graph_url, login_url, vault_url and ca_cert.
#[derive(Debug, clap::Parser)]
#[command(name = "keyroll-emulator", version, about)]
struct EmulatorArgs {
    /// Loopback address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Serve plain HTTP instead of HTTPS with a generated CA.
    #[arg(long)]
    pub http: bool,
    /// Keep the state in this SQLite file (WAL) instead of in memory; it survives restarts.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Load these objects at start (JSON: {"tenants": [...], "applications": [...]}).
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,
    /// Create this many applications, each with its service principal, a certificate on both and a client
    /// secret on the application, expiring over the next year (about a tenth already expired), before the
    /// endpoints line is printed (for inventory scans; the same as POST /_emulator/seed {"count": N}).
    #[arg(long, value_name = "N")]
    pub seed_count: Option<u32>,
    /// Write the CA certificate (PEM) here instead of a temporary file.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Identity writes allowed per app and tenant, as WRITES/SECONDS, or "off".
    #[arg(long, value_name = "N/SECS", default_value = "3000/150")]
    pub write_budget: String,
    /// Graph reads allowed per app and tenant, in resource units, as UNITS/SECONDS, or "off" (the default is
    /// the service's budget of a small tenant).
    #[arg(long, value_name = "UNITS/SECS", default_value = "3500/10")]
    pub read_budget: String,
    /// Answer this many Graph requests with 429 (Retry-After from --retry-after).
    #[arg(long, value_name = "N")]
    pub throttle: Option<u32>,
    /// Answer this many Graph requests with 503.
    #[arg(long, value_name = "N")]
    pub unavailable: Option<u32>,
    /// Retry-After seconds for --throttle and --unavailable (fractions allowed).
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    pub retry_after: f64,
    /// Delay every Graph and token request by this many milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Drop the connection after committing this many addKey requests.
    #[arg(long, value_name = "N")]
    pub drop_after_commit: Option<u32>,
    /// Replication delay of reads: Graph's read of an object's keys shows them as they were this many
    /// milliseconds ago (writes and the admin API see every write at once).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub replication_delay_ms: u64,
    /// Replication delay of sign-ins: a key added by addKey signs client assertions only this many
    /// milliseconds after it was added (until then: AADSTS700027).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub key_activation_delay_ms: u64,
    /// Seconds of clock difference tolerated on proofs and assertions.
    #[arg(long, value_name = "SECS", default_value_t = keyroll_emulator::DEFAULT_SKEW_SECS)]
    pub skew: i64,
    /// Connections served at once; more wait until one ends (default: 1024, or less to stay 64 below the
    /// process's open-files limit).
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Seconds a connection may take to send a complete request head, from its start or its previous
    /// response (the keep-alive idle timeout).
    #[arg(long, value_name = "SECS", default_value_t = 20.0)]
    pub header_timeout: f64,
    /// Seconds a request may take to send its body.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub body_timeout: f64,
}

/// A positive number of seconds as a duration, or a message naming the option.
fn seconds(option: &str, secs: f64) -> anyhow::Result<Duration> {
    if secs.is_nan() || secs <= 0.0 {
        anyhow::bail!("{option} must be a positive number of seconds, not {secs}");
    }
    Duration::try_from_secs_f64(secs)
        .map_err(|e| anyhow::anyhow!("{option} {secs} is not a usable number of seconds: {e}"))
}

impl EmulatorArgs {
    fn config(&self) -> anyhow::Result<EmulatorConfig> {
        let write_budget = if self.write_budget.eq_ignore_ascii_case("off") {
            None
        } else {
            Some(WriteBudget::parse(&self.write_budget).map_err(anyhow::Error::msg)?)
        };
        let read_budget = if self.read_budget.eq_ignore_ascii_case("off") {
            None
        } else {
            Some(
                ReadBudget::parse(&self.read_budget)
                    .map_err(|e| anyhow::anyhow!("--read-budget {e}"))?,
            )
        };
        if self
            .seed_count
            .is_some_and(|n| n == 0 || n > keyroll_emulator::admin::MAX_SEED_COUNT)
        {
            anyhow::bail!(
                "--seed-count must be between 1 and {}",
                keyroll_emulator::admin::MAX_SEED_COUNT
            );
        }
        let rule = |n: Option<u32>| {
            n.map(|count| FaultRule {
                count: Some(count),
                retry_after: Some(self.retry_after),
            })
        };
        Ok(EmulatorConfig {
            listen: self.listen,
            tls: !self.http,
            state: self.state.clone(),
            seed: self.seed.clone(),
            ca_file: self.ca_file.clone(),
            faults: FaultConfig {
                throttle: rule(self.throttle),
                unavailable: rule(self.unavailable),
                latency_ms: self.latency_ms,
                drop_after_commit: self.drop_after_commit.map(|count| FaultRule {
                    count: Some(count),
                    retry_after: None,
                }),
                write_budget,
                read_budget,
                replication_delay_ms: self.replication_delay_ms,
                key_activation_delay_ms: self.key_activation_delay_ms,
            },
            skew_secs: self.skew,
            limits: ConnectionLimits {
                max_connections: match self.max_connections {
                    Some(0) => anyhow::bail!("--max-connections must be at least 1"),
                    Some(n) => n,
                    None => keyroll_emulator::server::default_max_connections(),
                },
                header_read_timeout: seconds("--header-timeout", self.header_timeout)?,
                body_read_timeout: seconds("--body-timeout", self.body_timeout)?,
                ..ConnectionLimits::default()
            },
            ..EmulatorConfig::default()
        })
    }
}

/// Runs the emulator until SIGINT or SIGTERM. Exit codes as `keyroll`'s: 2 for a bad option (clap's own
/// mistakes included), 1 when it cannot start or serve.
fn main() -> ExitCode {
    let args = EmulatorArgs::parse();
    let config = match args.config() {
        Ok(config) => config,
        Err(e) => return report(&e, 2),
    };
    match serve(config, args.seed_count) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e, 1),
    }
}

/// Prints the error and its causes on stderr, as `keyroll` does, and gives the exit code.
fn report(error: &anyhow::Error, code: u8) -> ExitCode {
    eprintln!("error: {error}");
    for cause in error.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    ExitCode::from(code)
}

fn serve(config: EmulatorConfig, seed_count: Option<u32>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        // The handlers are installed before the endpoints line is printed: a harness that reads the line and
        // sends SIGTERM at once must get a clean stop (the generated CA file removed), not the default death.
        let stop = StopSignal::install()?;
        let running = keyroll_emulator::start(config)
            .await
            .context("starting the emulator")?;
        if let Some(count) = seed_count {
            let state = running.state.clone();
            let seeded = tokio::task::spawn_blocking(move || {
                keyroll_emulator::admin::seed_objects(&state, &BulkSeed::with_count(count))
            })
            .await
            .context("seeding")?;
            match seeded {
                Ok(report) => eprintln!(
                    "seeded {} applications, {} service principals, {} certificates, {} client secrets in {} ms",
                    report.applications,
                    report.service_principals,
                    report.key_credentials,
                    report.password_credentials,
                    report.milliseconds
                ),
                // A restart with --state and the same --seed-count: the objects are there from the first run.
                Err(e) if e.status().as_u16() == SEED_EXISTS => {
                    eprintln!("the state already holds the seeded objects; not seeded again");
                }
                Err(e) => anyhow::bail!("--seed-count {count}: {}", api_message(&e)),
            }
        }
        let line = serde_json::to_string(&running.endpoints).context("printing the endpoints")?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}").context("writing to stdout")?;
        out.flush().context("writing to stdout")?;
        drop(out);
        stop.wait().await;
        running.shutdown().await;
        Ok(())
    })
}

/// The seed's status when its objects exist already (the same seed into the same state).
const SEED_EXISTS: u16 = 409;

/// The text of an emulator refusal, for the seed's error.
fn api_message(e: &keyroll_emulator::ApiError) -> String {
    match e {
        keyroll_emulator::ApiError::Graph {
            message,
            diagnostic,
            ..
        } => diagnostic.clone().unwrap_or_else(|| message.clone()),
        keyroll_emulator::ApiError::OAuth { description, .. } => description.clone(),
    }
}

/// SIGINT and SIGTERM (Ctrl-C on Windows), registered when installed.
#[cfg(unix)]
struct StopSignal {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl StopSignal {
    fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
            terminate: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
        })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

#[cfg(not(unix))]
struct StopSignal(tokio::signal::windows::CtrlC);

#[cfg(not(unix))]
impl StopSignal {
    fn install() -> anyhow::Result<Self> {
        Ok(Self(
            tokio::signal::windows::ctrl_c().context("installing the Ctrl-C handler")?,
        ))
    }

    async fn wait(mut self) {
        self.0.recv().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(argv: &[&str]) -> anyhow::Result<EmulatorConfig> {
        let mut full = vec!["keyroll-emulator"];
        full.extend_from_slice(argv);
        EmulatorArgs::try_parse_from(full)?.config()
    }

    #[test]
    fn command_line_definition_is_consistent() {
        use clap::CommandFactory as _;
        EmulatorArgs::command().debug_assert();
    }

    #[test]
    fn read_budget_defaults_to_the_service_value_and_parses() {
        assert_eq!(
            config(&[]).unwrap().faults.read_budget,
            Some(ReadBudget::SERVICE)
        );
        assert_eq!(
            config(&["--read-budget", "50/2"])
                .unwrap()
                .faults
                .read_budget,
            Some(ReadBudget {
                units: 50,
                window_secs: 2.0
            })
        );
        assert_eq!(
            config(&["--read-budget", "off"])
                .unwrap()
                .faults
                .read_budget,
            None
        );
        let e = config(&["--read-budget", "50"]).unwrap_err().to_string();
        assert!(
            e.contains("--read-budget") && e.contains("UNITS/SECONDS"),
            "{e}"
        );
    }

    #[test]
    fn seed_count_out_of_range_is_refused_with_its_bounds() {
        let e = config(&["--seed-count", "0"]).unwrap_err().to_string();
        assert!(e.contains("--seed-count must be between 1 and"), "{e}");
        assert!(config(&["--seed-count", "50000"]).is_ok());
    }
}
