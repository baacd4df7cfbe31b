//! `keyroll_output_take` checks the caller's buffer length before it touches the buffer: a length no buffer can
//! have (above `isize::MAX`) is an `InvalidInput` status, never a slice made of it (undefined behaviour; an
//! abort in a debug build), and the output is kept for a correct second call.

use interoptopus::patterns::slice::FFISliceMut;
use keyroll::exports::{keyroll_info, keyroll_output_free, keyroll_output_take};
use keyroll::{KeyrollOutput, KeyrollStatus};

/// The layout of `FFISliceMut<u8>` as a C caller builds it.
#[repr(C)]
struct CSliceMut {
    data: *mut u8,
    len: u64,
}

/// A slice as a C caller may pass it: any pointer, any length.
fn c_slice(data: *mut u8, len: u64) -> FFISliceMut<'static, u8> {
    // SAFETY: `FFISliceMut<u8>` is `#[repr(C)] { *mut u8, u64, PhantomData }`, the layout of `CSliceMut`.
    unsafe { std::mem::transmute::<CSliceMut, FFISliceMut<'static, u8>>(CSliceMut { data, len }) }
}

fn info_output() -> KeyrollOutput {
    let mut out = KeyrollOutput::default();
    assert_eq!(keyroll_info(&mut out), KeyrollStatus::Ok);
    assert!(out.handle != 0 && out.len > 0);
    out
}

#[test]
fn output_take_trusts_the_callers_buffer_length() {
    let mut buf = vec![0u8; 16];
    for len in [isize::MAX as u64 + 1, u64::MAX - 1, u64::MAX] {
        let out = info_output();
        let status = keyroll_output_take(out.handle, c_slice(buf.as_mut_ptr(), len));
        assert_eq!(status, KeyrollStatus::InvalidInput, "length {len}");
        assert!(
            buf.iter().all(|&b| b == 0),
            "nothing written for length {len}"
        );
        // The output is kept: taken with the right buffer, it is whole.
        let mut right = vec![0u8; out.len as usize];
        let status = keyroll_output_take(out.handle, c_slice(right.as_mut_ptr(), out.len));
        assert_eq!(status, KeyrollStatus::Ok, "after length {len}");
        let v: serde_json::Value = serde_json::from_slice(&right).unwrap();
        assert!(v["abi"].is_number(), "after length {len}: {v}");
    }
}

#[test]
fn output_take_null_short_and_longer_buffers() {
    // A null buffer is an empty one: too small, output kept.
    let out = info_output();
    assert_eq!(
        keyroll_output_take(out.handle, c_slice(std::ptr::null_mut(), 1 << 20)),
        KeyrollStatus::BufferTooSmall
    );
    // One byte short: too small, nothing written.
    let mut short = vec![0u8; out.len as usize - 1];
    assert_eq!(
        keyroll_output_take(out.handle, c_slice(short.as_mut_ptr(), short.len() as u64)),
        KeyrollStatus::BufferTooSmall
    );
    assert!(short.iter().all(|&b| b == 0));
    // Longer than needed: only the output's bytes are written, the rest left alone.
    let mut long = vec![0xAAu8; out.len as usize + 8];
    assert_eq!(
        keyroll_output_take(out.handle, c_slice(long.as_mut_ptr(), long.len() as u64)),
        KeyrollStatus::Ok
    );
    assert!(long[out.len as usize..].iter().all(|&b| b == 0xAA));
    assert!(serde_json::from_slice::<serde_json::Value>(&long[..out.len as usize]).is_ok());
    // Taken once only.
    assert_eq!(
        keyroll_output_free(out.handle),
        KeyrollStatus::UnknownHandle
    );
}
