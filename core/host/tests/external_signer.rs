//! Keys the host holds, end to end against the emulator over HTTPS: signature requests are answered by another
//! thread (as the PowerShell facade answers them on its own thread), through a background roll's waits and
//! through `ExternalSigner::wait_any` while a blocking call runs; a host that does not answer, or refuses, ends
//! the operation with an error that says so.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use keyroll_host::{
    self as api, Connection, ConnectionSettings, ExternalSigner, RollSettings, SharedSigner,
};
use keyroll_proto::b64;
use keyroll_proto::cert::SigningIdentity;
use keyroll_proto::clock::SystemClock;
use keyroll_testkit::emulator::*;
use serde_json::{Value, json};

/// The keys a host holds, by certificate thumbprint.
type Keys = BTreeMap<String, Arc<SigningIdentity>>;

fn signs(keys: &Keys, request: &Value) -> Vec<u8> {
    let key = &keys[request["thumbprint"].as_str().unwrap()];
    let input = b64::decode_lenient(request["input"].as_str().unwrap()).unwrap();
    key.sign_rs256(&input).unwrap()
}

fn external(id: &SigningIdentity, timeout: Option<Duration>) -> Arc<ExternalSigner> {
    ExternalSigner::open(id.certificate().der(), timeout).unwrap()
}

fn settings(h: &Harness, app: &Created) -> ConnectionSettings {
    api::from_json(
        "connection settings",
        json!({
            "graphUrl": h.base,
            "loginUrl": h.base,
            "caPem": String::from_utf8(h.ca_pem.clone()).unwrap(),
            "tenantId": app.tenant.to_string(),
            "clientId": app.app_id.to_string(),
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap()
}

/// Serves the requests of `signers` on a thread of its own until `stop`, answering with `keys` (or refusing
/// with `refusal`); returns the purposes it was asked for.
fn serve(
    signers: Vec<Arc<ExternalSigner>>,
    keys: Keys,
    refusal: Option<&'static str>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let mut purposes = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            if let Some((i, request)) =
                ExternalSigner::wait_any(&signers, Duration::from_millis(200))
            {
                purposes.push(request["purpose"].as_str().unwrap().to_owned());
                let id = request["id"].as_u64().unwrap();
                match refusal {
                    Some(text) => signers[i].refuse(id, text).unwrap(),
                    None => signers[i].answer(id, signs(&keys, &request)).unwrap(),
                }
            }
        }
        purposes
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roll_with_both_keys_held_by_the_host_is_answered_through_its_waits() {
    let h = start().await;
    let c = certs();
    let (cur, new) = (ident(&c.valid[0]), ident(&c.valid[1]));
    let app = h.create(&[cur.certificate()], json!({})).await;
    let (cur_x, new_x) = (external(&cur, None), external(&new, None));
    cur_x.set_handle(7);
    let keys: Keys = [cur.clone(), new.clone()]
        .into_iter()
        .map(|k| (k.certificate().sha1_hex(), k))
        .collect();
    let conn = Connection::open(
        &settings(&h, &app),
        Some(cur_x.clone() as SharedSigner),
        Arc::new(SystemClock),
    )
    .unwrap();
    let roll: RollSettings = api::from_json(
        "roll settings",
        json!({
            "target": {"objectId": app.id.to_string()},
            "removeOld": true,
            "tenantId": app.tenant.to_string(),
            "verifyTimeoutSecs": 20,
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let op = conn
        .start_roll(&roll, cur_x.clone(), new_x.clone())
        .unwrap()
        .with_signers(vec![cur_x.clone(), new_x.clone()]);
    // The host's thread: waits, answers what the waits list, until the end.
    let answered = tokio::task::spawn_blocking(move || {
        let mut answered: Vec<(String, String, u64)> = Vec::new();
        for _ in 0..400 {
            let started = std::time::Instant::now();
            let p = op.wait(Duration::from_secs(30));
            if p["done"] == json!(true) {
                assert_eq!(p["signatures"], json!([]), "{p}");
                return (p["report"].clone(), answered);
            }
            for s in p["signatures"].as_array().unwrap() {
                // A wait returns as soon as a request is pending, not at its timeout.
                assert!(started.elapsed() < Duration::from_secs(10));
                let thumbprint = s["thumbprint"].as_str().unwrap().to_owned();
                let signer =
                    if thumbprint == keyroll_host::Signer::certificate(cur_x.as_ref()).sha1_hex() {
                        &cur_x
                    } else {
                        &new_x
                    };
                assert_eq!(s["algorithm"], "RS256");
                assert!(s["x5t"].as_str().is_some_and(|x| !x.is_empty()), "{s}");
                assert!(s["x5tS256"].as_str().is_some_and(|x| !x.is_empty()), "{s}");
                let id = s["id"].as_u64().unwrap();
                signer.answer(id, signs(&keys, s)).unwrap();
                // An answer is taken once.
                let again = signer.answer(id, vec![1]).unwrap_err().report();
                assert_eq!(again.code, "settings");
                answered.push((
                    thumbprint,
                    s["purpose"].as_str().unwrap().to_owned(),
                    s["signer"].as_u64().unwrap(),
                ));
            }
        }
        panic!("the roll did not end");
    })
    .await
    .unwrap();
    let (report, answered) = answered;
    assert_eq!(report["success"], json!(true), "{report}");
    let cur_tp = cur.certificate().sha1_hex();
    let new_tp = new.certificate().sha1_hex();
    // The current key signed in and the proof; the new key signed the assertion that verified it.
    assert!(
        answered
            .iter()
            .any(|(t, p, s)| *t == cur_tp && p == "clientAssertion" && *s == 7),
        "{answered:?}"
    );
    assert!(
        answered
            .iter()
            .any(|(t, p, _)| *t == cur_tp && p == "proof"),
        "{answered:?}"
    );
    assert!(
        answered
            .iter()
            .any(|(t, p, _)| *t == new_tp && p == "clientAssertion"),
        "{answered:?}"
    );
    assert_eq!(h.thumbprints(app.id).await, vec![new_tp]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_calls_are_served_from_another_thread_and_a_silent_or_refusing_host_is_named() {
    let h = start().await;
    let c = certs();
    let cur = ident(&c.valid[2]);
    let app = h.create(&[cur.certificate()], json!({})).await;
    let target: api::TargetSettings =
        api::from_json("target", json!({"objectId": app.id}).to_string().as_bytes()).unwrap();
    let keys: Keys = [(cur.certificate().sha1_hex(), cur.clone())].into();

    // Answered: the token and the list come back.
    let x = external(&cur, None);
    let conn = Connection::open(
        &settings(&h, &app),
        Some(x.clone() as SharedSigner),
        Arc::new(SystemClock),
    )
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let server = serve(vec![x.clone()], keys.clone(), None, stop.clone());
    let listed = conn.list_keys(&target, Some(x.as_ref())).await.unwrap();
    stop.store(true, Ordering::Relaxed);
    assert_eq!(server.join().unwrap(), vec!["clientAssertion"]);
    assert_eq!(listed["keys"][0]["signs"], json!(true), "{listed}");
    assert!(x.pending().is_empty());

    // Refused: the host's words, code signer_refused.
    let x = external(&cur, None);
    let conn = Connection::open(
        &settings(&h, &app),
        Some(x.clone() as SharedSigner),
        Arc::new(SystemClock),
    )
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let refusal = "Keyset does not exist (the smart card was removed)";
    let server = serve(vec![x.clone()], keys.clone(), Some(refusal), stop.clone());
    let e = conn.list_keys(&target, None).await.unwrap_err().report();
    stop.store(true, Ordering::Relaxed);
    server.join().unwrap();
    assert_eq!(e.code, "signer_refused", "{e:?}");
    assert!(e.message.contains(refusal), "{}", e.message);
    assert!(e.message.contains("client assertion"), "{}", e.message);

    // Nobody answers: the timeout, named, and the request is withdrawn.
    let x = external(&cur, Some(Duration::from_secs(1)));
    let conn = Connection::open(
        &settings(&h, &app),
        Some(x.clone() as SharedSigner),
        Arc::new(SystemClock),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let e = conn.list_keys(&target, None).await.unwrap_err().report();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(e.code, "signer_timeout", "{e:?}");
    assert!(e.message.contains("did not sign"), "{}", e.message);
    assert!(e.message.contains("within 1 s"), "{}", e.message);
    assert!(x.pending().is_empty());
    // Nothing secret in either text: no signed bytes, no key.
    assert!(!e.message.contains("eyJ"), "{}", e.message);
}

#[test]
fn only_rsa_certificates_that_may_sign_are_taken() {
    let e = ExternalSigner::open(b"not a certificate", None)
        .unwrap_err()
        .report();
    assert_eq!(e.code, "certificate", "{e:?}");
    assert_eq!(
        ExternalSigner::open(certs().valid[0].certificate.der(), None)
            .unwrap()
            .timeout(),
        api::DEFAULT_SIGN_TIMEOUT
    );
}
