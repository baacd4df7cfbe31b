//! Ctrl-C and SIGTERM during a roll: the first stops starting rolls and lets the ones in flight finish (a roll
//! cut short between adding the new key and removing the old one leaves its object half-done), so that the
//! summary, the results and the journal are written; a second one aborts at once. Rows that finished are in the
//! journal either way: each line is synced as its row ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use keyroll_client::roll::StopSignal;

/// Which signal stopped the run, if one did.
#[derive(Debug, Default, Clone)]
pub struct Interrupted(Arc<AtomicU8>);

impl Interrupted {
    /// The exit code of a run a signal stopped: 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM).
    pub fn exit_code(&self) -> Option<u8> {
        match self.0.load(Ordering::SeqCst) {
            0 => None,
            n => Some(128 + n),
        }
    }
}

/// Listens for Ctrl-C (and SIGTERM on Unix) on the current runtime. `in_flight` says what the first signal
/// lets finish, for the line it prints.
pub fn listen(stop: StopSignal, in_flight: &'static str) -> Interrupted {
    let interrupted = Interrupted::default();
    let seen = interrupted.0.clone();
    tokio::spawn(async move {
        let mut signals = Signals::new();
        let mut count = 0u32;
        loop {
            let signal = signals.next().await;
            count += 1;
            if count == 1 {
                seen.store(signal, Ordering::SeqCst);
                stop.stop();
                eprintln!(
                    "\nstopping: no new roll starts; {in_flight} finish, then the summary and the journal are written. Press Ctrl-C again to abort at once (rows that finished are journaled already)."
                );
            } else {
                eprintln!(
                    "\naborted: rolls in flight were cut short; resume from the journal to finish them"
                );
                std::process::exit(128 + i32::from(signal));
            }
        }
    });
    interrupted
}

/// The signals listened for, installed once (a signal between two waits is not lost).
struct Signals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    #[cfg(unix)]
    fn new() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        let streams = match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(int), Ok(term)) => Some((int, term)),
            // No handler could be installed: the default (exit at once) stays.
            _ => None,
        };
        Signals { streams }
    }

    /// The next SIGINT (2) or SIGTERM (15).
    #[cfg(unix)]
    async fn next(&mut self) -> u8 {
        let Some((int, term)) = self.streams.as_mut() else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = int.recv() => 2,
            _ = term.recv() => 15,
        }
    }

    #[cfg(not(unix))]
    fn new() -> Self {
        Signals {}
    }

    /// The next Ctrl-C (2).
    #[cfg(not(unix))]
    async fn next(&mut self) -> u8 {
        if tokio::signal::ctrl_c().await.is_err() {
            return std::future::pending().await;
        }
        2
    }
}
