//! What every entry point shares: the status codes, the one runtime, the handle tables, reading inputs and
//! writing outputs, and the guard that keeps panics on this side.

use std::any::Any;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use interoptopus::patterns::result::FFIError;
use interoptopus::patterns::slice::FFISlice;
use interoptopus::{ffi_type, patterns::slice::FFISliceMut};
use keyroll_host::{ApiError, ErrorKind, ErrorReport};
use zeroize::Zeroizing;

/// The largest single input accepted (a string, a certificate, a settings document).
pub const MAX_INPUT_LEN: u64 = 16 * 1024 * 1024;

/// The outcome of a call. On anything but `Ok`, the call's output (when it has one) is the error object as
/// JSON: `{kind, code, message, httpStatus?, requestId?, clientRequestId?, aadstsCodes?, issues?, report?}`.
#[ffi_type(patterns(ffi_error))]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyrollStatus {
    /// Success; the output is the result.
    Ok = 0,
    /// A required pointer argument was null.
    NullPassed = 1,
    /// A bug: a panic inside the library, caught at the boundary. The library stays usable.
    Panic = 2,
    /// The input is wrong: invalid UTF-8, too long, bad settings, certificate or password, invalid request.
    InvalidInput = 3,
    /// The handle is not (or no longer) open: closed, freed, already taken, or of another kind.
    UnknownHandle = 4,
    /// Checked locally and refused before anything was sent: the service would reject it.
    Rejected = 5,
    /// The service (Graph or the identity platform) refused.
    ServiceError = 6,
    /// The service could not be reached (network, TLS, timeout).
    TransportError = 7,
    /// The buffer given to `keyroll_output_take` is shorter than the output; the output is kept.
    BufferTooSmall = 8,
}

impl FFIError for KeyrollStatus {
    const SUCCESS: Self = Self::Ok;
    const NULL: Self = Self::NullPassed;
    const PANIC: Self = Self::Panic;
}

/// Where a call's output waits to be copied out: `handle` for `keyroll_output_take` / `keyroll_output_free`,
/// and its length in bytes (UTF-8). `handle` is 0 when there is no output.
#[ffi_type]
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyrollOutput {
    /// The output's handle.
    pub handle: u64,
    /// Its length in bytes.
    pub len: u64,
}

/// A failure on this side of the boundary, or core's.
pub(crate) enum Failure {
    Api(ApiError),
    Boundary(KeyrollStatus, &'static str, String),
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Api(e)
    }
}

impl Failure {
    pub(crate) fn null(what: &'static str) -> Self {
        Failure::Boundary(
            KeyrollStatus::NullPassed,
            "null_pointer",
            format!("{what} is a null pointer"),
        )
    }
    fn status_and_report(&self) -> (KeyrollStatus, ErrorReport) {
        match self {
            Failure::Api(e) => {
                let report = e.report();
                let status = match report.kind {
                    ErrorKind::Input => KeyrollStatus::InvalidInput,
                    ErrorKind::Rejected => KeyrollStatus::Rejected,
                    ErrorKind::Service => KeyrollStatus::ServiceError,
                    ErrorKind::Transport => KeyrollStatus::TransportError,
                    _ => KeyrollStatus::Panic,
                };
                (status, report)
            }
            Failure::Boundary(status, code, message) => (
                *status,
                ErrorReport::new(ErrorKind::Input, *code, message.clone()),
            ),
        }
    }
}

pub(crate) type Outcome = Result<Zeroizing<Vec<u8>>, Failure>;

/// The process-wide runtime: every call blocks on it, from whichever host thread it comes.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("keyroll")
        .enable_all()
        .build()
        // A process that cannot start two threads cannot do anything else either; the guard turns this into
        // a `Panic` status for the call.
        .expect("cannot start the keyroll runtime")
});

/// Runs a future of core to completion on the runtime.
pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    RUNTIME.block_on(f)
}

/// Runs `f` inside the runtime's context, so that what it starts in the background runs on the runtime after
/// the call has returned.
pub(crate) fn in_runtime<R>(f: impl FnOnce() -> R) -> R {
    let _context = RUNTIME.enter();
    f()
}

/// A table of open handles. Numbers come from one counter and are never reused, so a closed handle, or one of
/// another table, is an error rather than a different object.
pub(crate) struct Table<T> {
    what: &'static str,
    map: Mutex<HashMap<u64, T>>,
}

static NEXT_HANDLE: AtomicU64 = AtomicU64::new(1);

impl<T> Table<T> {
    pub(crate) fn new(what: &'static str) -> Self {
        Table {
            what,
            map: Mutex::new(HashMap::new()),
        }
    }
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, T>> {
        // Nothing panics while holding the lock; if it ever did, the map itself is still consistent.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub(crate) fn insert(&self, value: T) -> u64 {
        let handle = NEXT_HANDLE.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(handle, value);
        handle
    }
    pub(crate) fn remove(&self, handle: u64) -> Result<T, Failure> {
        self.lock()
            .remove(&handle)
            .ok_or_else(|| self.unknown(handle))
    }
    fn unknown(&self, handle: u64) -> Failure {
        Failure::Boundary(
            KeyrollStatus::UnknownHandle,
            "unknown_handle",
            format!(
                "{handle} is not an open {} handle (closed already, or not one of this kind)",
                self.what
            ),
        )
    }
}

impl<T: Clone> Table<T> {
    pub(crate) fn get(&self, handle: u64) -> Result<T, Failure> {
        self.lock()
            .get(&handle)
            .cloned()
            .ok_or_else(|| self.unknown(handle))
    }
    /// `None` for handle 0 ("none").
    pub(crate) fn get_optional(&self, handle: u64) -> Result<Option<T>, Failure> {
        if handle == 0 {
            Ok(None)
        } else {
            self.get(handle).map(Some)
        }
    }
}

/// Outputs waiting to be taken. Wiped when taken or freed: some are proofs.
pub(crate) static OUTPUTS: LazyLock<Table<Zeroizing<Vec<u8>>>> =
    LazyLock::new(|| Table::new("output"));

/// The raw layout of an [`FFISlice`], to check it before a Rust slice is made of it.
#[repr(C)]
struct RawSlice {
    data: *const u8,
    len: u64,
}

/// Reads a byte input. A null pointer is an empty input; a length above [`MAX_INPUT_LEN`] is an error.
pub(crate) fn bytes<'a>(what: &'static str, slice: &FFISlice<'a, u8>) -> Result<&'a [u8], Failure> {
    // SAFETY: `FFISlice<u8>` is `#[repr(C)] { data: *const u8, len: u64, PhantomData }`, the same layout as
    // `RawSlice`; reading its length first keeps an absurd length from ever becoming a slice.
    let raw = unsafe { &*(slice as *const FFISlice<'a, u8> as *const RawSlice) };
    if raw.data.is_null() {
        return Ok(&[]);
    }
    if raw.len > MAX_INPUT_LEN {
        return Err(Failure::Boundary(
            KeyrollStatus::InvalidInput,
            "too_long",
            format!(
                "{what} is {} bytes, above the limit of {MAX_INPUT_LEN}",
                raw.len
            ),
        ));
    }
    Ok(slice.as_slice())
}

/// Reads a UTF-8 string input (null = empty).
pub(crate) fn text<'a>(what: &'static str, slice: &FFISlice<'a, u8>) -> Result<&'a str, Failure> {
    std::str::from_utf8(bytes(what, slice)?).map_err(|e| {
        Failure::Boundary(
            KeyrollStatus::InvalidInput,
            "invalid_utf8",
            format!("{what} is not valid UTF-8 ({e})"),
        )
    })
}

/// Writes a handle through an out-pointer.
pub(crate) fn write_handle(what: &'static str, ptr: *mut u64, value: u64) -> Result<(), Failure> {
    if ptr.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: non-null, and the caller passes a pointer to a u64 it owns for the duration of the call.
    unsafe { ptr.write(value) };
    Ok(())
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("internal error (a bug in keyroll, please report it): {text}")
}

/// The guard of every entry point with an output: catches panics, stores the result or the error object, and
/// writes the output's handle and length through `out`.
pub(crate) fn run(out: *mut KeyrollOutput, f: impl FnOnce() -> Outcome) -> KeyrollStatus {
    if out.is_null() {
        // Nowhere to put a result or an error: do nothing at all.
        return KeyrollStatus::NullPassed;
    }
    let guarded = catch_unwind(AssertUnwindSafe(|| {
        let (status, payload) = match f() {
            Ok(bytes) => (KeyrollStatus::Ok, bytes),
            Err(failure) => {
                let (status, report) = failure.status_and_report();
                (status, Zeroizing::new(report.to_json().into_bytes()))
            }
        };
        (status, payload)
    }));
    let (status, payload) = match guarded {
        Ok(r) => r,
        Err(panic) => {
            let report = ErrorReport::new(ErrorKind::Internal, "panic", panic_message(&*panic));
            (
                KeyrollStatus::Panic,
                Zeroizing::new(report.to_json().into_bytes()),
            )
        }
    };
    let len = payload.len() as u64;
    let stored = catch_unwind(AssertUnwindSafe(|| OUTPUTS.insert(payload)));
    let output = match stored {
        Ok(handle) => KeyrollOutput { handle, len },
        Err(_) => KeyrollOutput::default(),
    };
    // SAFETY: checked non-null above; the caller passes a pointer to a KeyrollOutput it owns for the call.
    unsafe { out.write(output) };
    status
}

/// The guard of entry points without an output.
pub(crate) fn run_plain(f: impl FnOnce() -> Result<(), Failure>) -> KeyrollStatus {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => KeyrollStatus::Ok,
        Ok(Err(failure)) => failure.status_and_report().0,
        Err(_) => KeyrollStatus::Panic,
    }
}

/// The raw layout of an [`FFISliceMut`], to check it before a Rust slice is made of it.
#[repr(C)]
struct RawSliceMut {
    data: *mut u8,
    len: u64,
}

/// Copies an output into the caller's buffer and frees it.
///
/// The caller's length is checked before any slice is made of it: a Rust slice longer than `isize::MAX` bytes
/// is undefined behaviour (and aborts a debug build), and no real buffer is that long — such a length is a
/// caller's bug (an uninitialised or negative length), answered with `InvalidInput`. Only the output's own
/// length of the buffer is ever touched.
pub(crate) fn take_output(handle: u64, buffer: FFISliceMut<'_, u8>) -> Result<(), Failure> {
    // SAFETY: `FFISliceMut<u8>` is `#[repr(C)] { data: *mut u8, len: u64, PhantomData }`, the same layout as
    // `RawSliceMut`; only the two fields are read.
    let raw = unsafe { &*(&buffer as *const FFISliceMut<'_, u8> as *const RawSliceMut) };
    let capacity = usize::try_from(raw.len)
        .ok()
        .filter(|&n| isize::try_from(n).is_ok())
        .ok_or_else(|| {
            Failure::Boundary(
                KeyrollStatus::InvalidInput,
                "invalid_buffer_length",
                format!(
                    "the buffer length {} is larger than any buffer can be (above {}); pass the buffer's real length in bytes",
                    raw.len,
                    isize::MAX
                ),
            )
        })?;
    let capacity = if raw.data.is_null() { 0 } else { capacity };
    let mut outputs = OUTPUTS.lock();
    let Some(payload) = outputs.get(&handle) else {
        return Err(OUTPUTS.unknown(handle));
    };
    if capacity < payload.len() {
        return Err(Failure::Boundary(
            KeyrollStatus::BufferTooSmall,
            "buffer_too_small",
            String::new(),
        ));
    }
    if !payload.is_empty() {
        // SAFETY: non-null (a null buffer has capacity 0, refused above unless the output is empty), the caller
        // promises `len` writable bytes there for the call, and only `payload.len() <= len <= isize::MAX` of
        // them are made a slice.
        let target = unsafe { std::slice::from_raw_parts_mut(raw.data, payload.len()) };
        target.copy_from_slice(payload);
    }
    outputs.remove(&handle);
    Ok(())
}

/// A string result as output bytes.
pub(crate) fn text_output(s: String) -> Outcome {
    Ok(Zeroizing::new(s.into_bytes()))
}

/// A JSON result as output bytes.
pub(crate) fn json_output(v: &serde_json::Value) -> Outcome {
    Ok(Zeroizing::new(v.to_string().into_bytes()))
}

/// Shared ownership of what a handle stands for.
pub(crate) type Shared<T> = Arc<T>;
