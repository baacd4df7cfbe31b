//! `keyroll_proof_inspect` without `clockSkewSecs` judges with the service's tolerance, as the emulator and the
//! client's pre-check do: a proof minted on a clock 30 s ahead is accepted, one 2 minutes ahead is not.

use interoptopus::patterns::slice::{FFISlice, FFISliceMut};
use keyroll::exports::{keyroll_output_take, keyroll_proof_inspect};
use keyroll::{KeyrollOutput, KeyrollStatus};
use keyroll_proto::cert::generate::self_signed_rsa;
use keyroll_proto::proof::{self, ProofRequest};
use time::{Duration, OffsetDateTime};

fn inspect(proof: &str, settings: &str) -> serde_json::Value {
    let mut out = KeyrollOutput::default();
    let status = keyroll_proof_inspect(
        FFISlice::from_slice(proof.as_bytes()),
        FFISlice::from_slice(settings.as_bytes()),
        &mut out,
    );
    let mut buf = vec![0u8; out.len as usize];
    assert_eq!(
        keyroll_output_take(out.handle, FFISliceMut::from_slice(&mut buf)),
        KeyrollStatus::Ok
    );
    assert_eq!(
        status,
        KeyrollStatus::Ok,
        "{}",
        String::from_utf8_lossy(&buf)
    );
    serde_json::from_slice(&buf).unwrap()
}

#[test]
fn proof_inspect_allows_no_clock_skew_where_the_emulator_allows_60_s() {
    let now = OffsetDateTime::now_utc();
    let made = self_signed_rsa("ffi skew", now - Duration::days(1), 30, 2048).unwrap();
    let identity = made.identity().unwrap();
    let object_id = proof::parse_object_id("3fa85f64-5717-4562-b3fc-2c963f66afa6").unwrap();
    let request = ProofRequest::new(object_id);
    let skew = keyroll_proto::inspect::SERVICE_CLOCK_SKEW_SECS;
    let ahead = proof::mint(&identity, &request, now + Duration::seconds(skew / 2)).unwrap();
    let far = proof::mint(&identity, &request, now + Duration::seconds(skew * 2)).unwrap();
    for settings in ["", "{}"] {
        let report = inspect(ahead.as_str(), settings);
        assert_eq!(report["accepted"], true, "settings {settings:?}: {report}");
        let report = inspect(far.as_str(), settings);
        assert_eq!(report["accepted"], false, "settings {settings:?}: {report}");
    }
    // A strict check stays possible, explicitly.
    let report = inspect(ahead.as_str(), r#"{"clockSkewSecs": 0}"#);
    assert_eq!(report["accepted"], false, "{report}");
}
