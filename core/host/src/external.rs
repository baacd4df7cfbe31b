//! Keys the host holds: a Windows certificate store key that will not be exported, a smart card. The library
//! never calls into the host; it asks, and the host answers when it looks.
//!
//! An [`ExternalSigner`] is a [`Signer`] whose [`sign_rs256`](Signer::sign_rs256) queues a signature request
//! (an id, what it is for, the exact bytes to sign, the certificate's thumbprints) and awaits the host's answer
//! ([`ExternalSigner::answer`]) or refusal ([`ExternalSigner::refuse`]), at most [`DEFAULT_SIGN_TIMEOUT`]. The
//! host learns of a request in one of two ways, both on a thread of its own choosing (no foreign thread ever
//! calls into it, so a PowerShell runspace is only ever entered by its own thread):
//!
//! * a background roll ([`RollOperation`]) lists the pending requests of the signers it uses in every
//!   [`poll`](RollOperation::poll) / [`wait`](RollOperation::wait) answer (`signatures`), and a wait returns as
//!   soon as one is pending;
//! * a call that blocks its thread (connect's first token, list, addKey, removeKey, a proof, a scan page) is run
//!   by the host on a worker thread while the calling thread waits for requests with
//!   [`ExternalSigner::wait_any`] and answers them; the call returns once its signatures are answered.
//!
//! The signature is verified against the certificate before anything is sent (`signer::mint_proof`,
//! `signer::mint_assertion`), so a key that does not belong to the certificate is named here.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::*;
use keyroll_client::signer::SignFuture;
use keyroll_proto::cert::{self, Certificate};

/// How long a signature request waits for the host when the host does not say: long enough for a PIN prompt
/// or a smart card's touch, short enough that a forgotten request does not hold a roll for good.
pub const DEFAULT_SIGN_TIMEOUT: Duration = Duration::from_secs(120);

/// Request ids are unique in the process, so that an answer can never reach another signer's request.
static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

/// Rung whenever any external signer queues a request: [`ExternalSigner::wait_any`] waits on it, so a host
/// serving several signers at once (the connection's and a proof's) waits on one thing.
static BELL: Bell = Bell {
    rung: Mutex::new(0),
    changed: Condvar::new(),
};

struct Bell {
    rung: Mutex<u64>,
    changed: Condvar,
}

impl Bell {
    fn lock(&self) -> MutexGuard<'_, u64> {
        self.rung.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn ring(&self) {
        *self.lock() += 1;
        self.changed.notify_all();
    }
}

/// A request the host has not answered yet.
struct Pending {
    purpose: SignPurpose,
    input: Vec<u8>,
    reply: oneshot::Sender<Result<Vec<u8>, String>>,
}

/// A certificate whose key the host holds: signatures are asked of the host and awaited.
pub struct ExternalSigner {
    certificate: Certificate,
    timeout: Duration,
    pending: Mutex<BTreeMap<u64, Pending>>,
    /// The host's handle of this signer, shown in each request as `signer` (0 until the host sets it).
    handle: AtomicU64,
    /// The background operations using this signer: each is woken when a request is queued.
    watchers: Mutex<Vec<Weak<Recorder>>>,
}

impl std::fmt::Debug for ExternalSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalSigner")
            .field("certificate", &self.certificate.sha1_hex())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ExternalSigner {
    /// A signer for the public certificate `certificate` (DER, PEM or base64), whose key the host holds;
    /// requests wait at most `timeout` (`None`: [`DEFAULT_SIGN_TIMEOUT`]). The certificate must be RSA of a
    /// size that may sign (RS256 is the only algorithm the service takes).
    pub fn open(certificate: &[u8], timeout: Option<Duration>) -> Result<Arc<Self>, ApiError> {
        let public = cert::load_public_certificate(certificate, None)?;
        public.certificate.check_signing_key()?;
        let timeout = timeout
            .filter(|t| !t.is_zero())
            .unwrap_or(DEFAULT_SIGN_TIMEOUT);
        Ok(Arc::new(ExternalSigner {
            certificate: public.certificate,
            timeout,
            pending: Mutex::new(BTreeMap::new()),
            handle: AtomicU64::new(0),
            watchers: Mutex::new(Vec::new()),
        }))
    }

    fn queue(&self) -> MutexGuard<'_, BTreeMap<u64, Pending>> {
        // Nothing panics while holding the lock; the map stays consistent if something ever did.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Names this signer with the host's handle, so that each request says which signer answers it.
    pub fn set_handle(&self, handle: u64) {
        self.handle.store(handle, Ordering::Relaxed);
    }

    /// How long a request waits for the host.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Wakes the background operations using this signer (and forgets the ones that ended).
    pub(crate) fn watch(&self, recorder: &Arc<Recorder>) {
        let mut w = self.watchers.lock().unwrap_or_else(|e| e.into_inner());
        w.retain(|r| r.strong_count() > 0);
        w.push(Arc::downgrade(recorder));
    }

    fn wake(&self) {
        let watchers: Vec<Arc<Recorder>> = {
            let mut w = self.watchers.lock().unwrap_or_else(|e| e.into_inner());
            w.retain(|r| r.strong_count() > 0);
            w.iter().filter_map(Weak::upgrade).collect()
        };
        for r in watchers {
            // Locking and releasing the record wakes the hosts waiting on it.
            r.lock().fresh = true;
        }
        BELL.ring();
    }

    fn describe(&self, id: u64, p: &Pending) -> Value {
        json!({
            "id": id,
            "signer": self.handle.load(Ordering::Relaxed),
            "purpose": p.purpose.as_str(),
            "input": keyroll_proto::b64::encode_std(&p.input),
            "algorithm": "RS256",
            "thumbprint": self.certificate.sha1_hex(),
            "x5t": self.certificate.x5t(),
            "x5tS256": self.certificate.x5t_s256(),
        })
    }

    /// The requests waiting for the host, oldest first: `[{id, purpose, input (base64 of the exact bytes to
    /// sign with RSASSA-PKCS1-v1_5 SHA-256), algorithm, thumbprint, x5t, x5tS256}]`.
    pub fn pending(&self) -> Vec<Value> {
        self.queue()
            .iter()
            .map(|(id, p)| self.describe(*id, p))
            .collect()
    }

    /// Waits at most `timeout` for a request of one of `signers` and returns the oldest one with the position
    /// of its signer in `signers`, or `None` when none came. Blocks the calling thread (never the runtime): the
    /// host calls it on the thread that may use the keys while a blocking call runs on another.
    pub fn wait_any(signers: &[Arc<ExternalSigner>], timeout: Duration) -> Option<(usize, Value)> {
        let deadline = Instant::now() + timeout;
        let mut bell = BELL.lock();
        loop {
            let oldest = signers
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    let q = s.queue();
                    q.iter().next().map(|(id, p)| (*id, i, s.describe(*id, p)))
                })
                .min_by_key(|(id, _, _)| *id);
            if let Some((_, i, request)) = oldest {
                return Some((i, request));
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            bell = match BELL.changed.wait_timeout(bell, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    fn take(&self, id: u64) -> Result<Pending, ApiError> {
        self.queue().remove(&id).ok_or_else(|| {
            ApiError::settings(
                "signature answer",
                format!(
                    "certificate {} has no signature request {id} waiting: it was answered or refused already, \
                     or timed out after {} s; answer each request once, with the id it came with",
                    self.certificate.sha1_hex(),
                    self.timeout.as_secs()
                ),
            )
        })
    }

    /// Answers request `id` with the RS256 signature the host's key made over its input. The signature is
    /// checked against the certificate by the operation that asked for it.
    pub fn answer(&self, id: u64, signature: Vec<u8>) -> Result<(), ApiError> {
        if signature.is_empty() {
            return Err(ApiError::settings(
                "signature answer",
                "the signature is empty: give the bytes of the RS256 signature, or refuse the request",
            ));
        }
        // The operation may have timed out in between: then the answer reaches nobody, as the error said.
        let _ = self.take(id)?.reply.send(Ok(signature));
        Ok(())
    }

    /// Refuses request `id`: the operation that asked fails with `message` (the key store's words: a cancelled
    /// PIN, a key that may not sign). Never pass key material.
    pub fn refuse(&self, id: u64, message: &str) -> Result<(), ApiError> {
        let message = match message.trim() {
            "" => "the host refused to sign".to_string(),
            m => m.to_string(),
        };
        let _ = self.take(id)?.reply.send(Err(message));
        Ok(())
    }
}

impl Signer for ExternalSigner {
    fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    fn location(&self) -> String {
        "a key held by the host".into()
    }

    fn sign_rs256<'a>(&'a self, message: &'a [u8], purpose: SignPurpose) -> SignFuture<'a> {
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            let id = NEXT_REQUEST.fetch_add(1, Ordering::Relaxed);
            self.queue().insert(
                id,
                Pending {
                    purpose,
                    input: message.to_vec(),
                    reply,
                },
            );
            // Whatever happens (an answer, a refusal, the timeout, the operation dropped), the request is no
            // longer waiting once this ends.
            let _withdraw = Withdraw(self, id);
            self.wake();
            let outcome = tokio::time::timeout(self.timeout, answer).await;
            match outcome {
                Ok(Ok(Ok(signature))) => Ok(signature),
                Ok(Ok(Err(refusal))) => Err(SignError::Remote {
                    kind: ErrorKind::Input,
                    code: "signer_refused".into(),
                    message: format!(
                        "the host refused to sign {purpose} (request {id}): {refusal}"
                    ),
                    request_ids: Vec::new(),
                }),
                Ok(Err(_)) | Err(_) => Err(SignError::Remote {
                    kind: ErrorKind::Input,
                    code: "signer_timeout".into(),
                    message: format!(
                        "the host did not sign {purpose} (request {id}) within {} s: the host must answer \
                         the signature requests that its waits and polls report (a key that needs a PIN or a \
                         touch waits for it)",
                        self.timeout.as_secs()
                    ),
                    request_ids: Vec::new(),
                }),
            }
        })
    }
}

/// Takes a request out of the queue when its signing ends, however it ends.
struct Withdraw<'a>(&'a ExternalSigner, u64);

impl Drop for Withdraw<'_> {
    fn drop(&mut self) {
        self.0.queue().remove(&self.1);
    }
}

impl RollOperation {
    /// Serves the signature requests of `signers` (the external signers among the connection's and the roll's
    /// certificates) through this operation: every poll and wait lists them, and a wait returns as soon as one
    /// is queued.
    pub fn with_signers(mut self, signers: Vec<Arc<ExternalSigner>>) -> Self {
        for s in &signers {
            s.watch(&self.recorder);
        }
        self.signers.extend(signers);
        self
    }

    /// The pending requests of the operation's signers, oldest first (what `signatures` lists).
    pub(crate) fn signatures(&self) -> Vec<Value> {
        let mut all: Vec<Value> = self.signers.iter().flat_map(|s| s.pending()).collect();
        all.sort_by_key(|v| v["id"].as_u64());
        all.dedup_by_key(|v| v["id"].as_u64());
        all
    }
}
