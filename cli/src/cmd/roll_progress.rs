//! What `keyroll roll` shows while it runs. A terminal gets a live bar for a plan (rows done and failed, the
//! object being rolled, throttle waits with their Retry-After); anything else gets plain lines, one per row as it
//! ends and one per throttle wait (a few seconds apart at most, unless -v). A single roll prints its steps.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use keyroll_client::graph::{RetryEvent, human_wait};
use keyroll_client::roll::{Progress, RollReport};

/// Without -v, a roll that keeps waiting prints a plain line this often; throttle lines too.
const WAIT_LINE_EVERY: Duration = Duration::from_secs(5);

/// Progress on stderr.
pub struct TermProgress {
    total: usize,
    done: AtomicUsize,
    failed: AtomicUsize,
    tty: bool,
    verbose: bool,
    /// The live bar of a plan on a terminal.
    bar: Option<ProgressBar>,
    /// A waiting line drawn with `\r` is on screen (single roll on a terminal): the next line starts anew.
    open_line: AtomicBool,
    /// When each roll last printed a waiting line (plain lines, without -v: one every few seconds).
    last_wait_line: Mutex<HashMap<String, Instant>>,
    /// Throttle waits: their total, and how many.
    throttle: Mutex<ThrottleSeen>,
    /// Lines about throttle waits, a few seconds apart at most.
    throttle_lines: LineGate,
}

#[derive(Default)]
struct ThrottleSeen {
    total_wait: Duration,
    retries: u32,
}

impl TermProgress {
    /// Progress for `total` rows; a bar when `tty` and more than one row.
    pub fn new(total: usize, tty: bool, verbose: bool) -> Self {
        let bar = (tty && total > 1).then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{bar:30.cyan/blue} {pos}/{len} rows {elapsed_precise} · {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("#>.");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        TermProgress {
            total,
            done: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            tty,
            verbose,
            bar,
            open_line: AtomicBool::new(false),
            last_wait_line: Mutex::new(HashMap::new()),
            throttle: Mutex::new(ThrottleSeen::default()),
            throttle_lines: LineGate::default(),
        }
    }

    /// Rows ended so far, and of them failed.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.done.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }

    /// Total time the batch's requests were told to wait (throttled or busy), and how many retries.
    pub fn throttle_total(&self) -> (Duration, u32) {
        let t = self.throttle.lock().unwrap_or_else(|e| e.into_inner());
        (t.total_wait, t.retries)
    }

    /// Ends the live display (the bar, or an open waiting line) before the summary is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.end_open_line();
    }

    /// A line above the bar, or on its own.
    fn line(&self, text: &str) {
        self.end_open_line();
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    fn status(&self, current: &str) {
        if let Some(bar) = &self.bar {
            let (_, failed) = self.counts();
            bar.set_message(format!("{failed} failed · {current}"));
        }
    }

    /// Draws a waiting line: redrawn in place on a terminal for a single roll without -v; otherwise a plain
    /// line (bulk runs, logs, -v), every attempt with -v, else one every few seconds of a long wait.
    fn wait_line(&self, target: &str, line: String) {
        if self.total == 1 && self.tty && !self.verbose {
            eprint!("\r[{target}] {line}   ");
            self.open_line.store(true, Ordering::Relaxed);
            return;
        }
        if let Some(_bar) = &self.bar
            && !self.verbose
        {
            self.status(&format!("{target}: {line}"));
            return;
        }
        if !self.verbose {
            let mut last = self
                .last_wait_line
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            // A short wait says nothing (the steps say enough); a long one a line every few seconds.
            let now = Instant::now();
            let since = last.entry(target.to_string()).or_insert(now);
            if now.duration_since(*since) < WAIT_LINE_EVERY {
                return;
            }
            *since = now;
        }
        self.line(&format!("[{target}] {line}"));
    }

    fn end_open_line(&self) {
        if self.open_line.swap(false, Ordering::Relaxed) {
            eprintln!();
        }
    }
}

impl Progress for TermProgress {
    fn step(&self, target: &str, message: &str) {
        if self.verbose || self.total == 1 {
            self.line(&format!("[{target}] {message}"));
        } else {
            self.status(target);
        }
    }
    fn waiting(&self, target: &str, attempt: u32, waited: Duration) {
        self.wait_line(
            target,
            format!(
                "waiting for the new key to be usable (attempt {attempt}, {:.0} s)",
                waited.as_secs_f64()
            ),
        );
    }
    fn lagging(&self, target: &str, read: u32, waited: Duration) {
        self.wait_line(
            target,
            format!(
                "waiting for the new key to replicate: the keys read do not list it yet (read {read}, {:.0} s)",
                waited.as_secs_f64()
            ),
        );
    }
    fn throttled(&self, event: &RetryEvent) {
        let retry_after = event
            .retry_after
            .map(|d| format!(" (Retry-After {})", human_wait(d)))
            .unwrap_or_default();
        let text = format!("{event}{retry_after}");
        {
            let mut seen = self.throttle.lock().unwrap_or_else(|e| e.into_inner());
            seen.total_wait += event.delay;
            seen.retries += 1;
        }
        if self.bar.is_some() && !self.verbose {
            self.status(&text);
            return;
        }
        if let Some(more) = self.throttle_lines.pass(self.verbose) {
            self.line(&format!("{text}{more}"));
        }
    }
    fn row_done(&self, _row: usize, report: &RollReport) {
        let d = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if !report.success {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        if self.total == 1 {
            return;
        }
        match &self.bar {
            Some(bar) => {
                bar.set_position(d as u64);
                if !report.success {
                    let why = report.error.as_deref().unwrap_or("");
                    let first = why.lines().next().unwrap_or("");
                    bar.println(format!(
                        "FAILED {} ({}): {first}",
                        report.target, report.state
                    ));
                }
                self.status(&report.target);
            }
            None => {
                let mut line = format!(
                    "[{d}/{}] {:<13} {}",
                    self.total,
                    report.state.as_str(),
                    report.target
                );
                if report.from_journal {
                    line.push_str(" (done in an earlier run: skipped)");
                }
                if let Some(e) = report.error.as_deref().filter(|_| !report.success) {
                    line.push_str(": ");
                    line.push_str(e.lines().next().unwrap_or(""));
                }
                self.line(&line);
            }
        }
    }
}

/// Lets a line through at most every few seconds (every one with -v) and counts the ones it held back, so that a
/// storm of retries is said without flooding a log.
#[derive(Default)]
pub struct LineGate(Mutex<(Option<Instant>, u32)>);

impl LineGate {
    /// The suffix to print with the line now (`""`, or how many were held back since the last), or `None` to hold
    /// this one back.
    pub fn pass(&self, every_one: bool) -> Option<String> {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if !every_one && g.0.is_some_and(|l| now.duration_since(l) < WAIT_LINE_EVERY) {
            g.1 += 1;
            return None;
        }
        g.0 = Some(now);
        Some(match std::mem::take(&mut g.1) {
            0 => String::new(),
            n => format!(" [{n} more retries since the last line]"),
        })
    }
}
