//! `keyroll demo`: the whole proof flow on a certificate generated on the spot. No arguments, no network.

use std::process::ExitCode;

use clap::Args;
use keyroll_core::cert::generate;
use keyroll_core::credential::{AddKeyRequest, KeyCredentialBuilder, validate_add_key};
use keyroll_core::inspect::{self, InspectOptions};
use keyroll_core::proof::{self, ProofRequest};
use time::OffsetDateTime;

use crate::exit::{CmdResult, Failure};

#[derive(Args, Debug)]
pub struct DemoArgs {}

pub fn run(_args: DemoArgs) -> CmdResult {
    let now = OffsetDateTime::now_utc();
    let step = |n: u32, text: &str| println!("\n[{n}] {text}");

    step(
        1,
        "Generating the application's current certificate (RSA 2048, self-signed)",
    );
    let current = generate::self_signed_rsa(
        "keyroll demo current",
        now - time::Duration::days(1),
        90,
        2048,
    )?;
    println!(
        "    thumbprint {}  x5t {}",
        current.certificate.sha1_hex(),
        current.certificate.x5t()
    );
    let identity = current.identity()?;

    step(2, "Generating the new certificate to roll to");
    let next = generate::self_signed_rsa(
        "keyroll demo next",
        now - time::Duration::minutes(5),
        365,
        2048,
    )?;
    println!("    thumbprint {}", next.certificate.sha1_hex());

    let object_id = uuid::Uuid::new_v4();
    let app_id = uuid::Uuid::new_v4();
    step(
        3,
        &format!("Minting a proof of possession for object id {object_id}"),
    );
    let token = proof::mint(&identity, &ProofRequest::new(object_id), now)?;
    let parsed = keyroll_core::jwt::parse(token.as_str()).map_err(Failure::input)?;
    println!(
        "    header  {}",
        serde_json::Value::Object(parsed.header.clone())
    );
    println!(
        "    claims  {}",
        serde_json::Value::Object(parsed.claims.clone())
    );

    step(
        4,
        "Inspecting it as the service would (certificate, object id, clock)",
    );
    let certs = [current.certificate.clone()];
    let opts = InspectOptions {
        certificates: &certs,
        expected_object_id: Some(object_id),
        app_id: Some(app_id),
        expected_audience: None,
        now,
        clock_skew_secs: 0,
    };
    let report = inspect::inspect(token.as_str(), &opts);
    println!(
        "    verdict: {}",
        if report.accepted() {
            "accepted"
        } else {
            "REJECTED"
        }
    );

    step(
        5,
        "Building and validating the addKey request for the new certificate",
    );
    let built = KeyCredentialBuilder::new(next.certificate.clone()).build()?;
    let request = AddKeyRequest {
        key_credential: built.key_credential,
        password_credential: None,
        proof: token.as_str().to_string(),
    };
    let validated = validate_add_key(&request, now)?;
    println!(
        "    keyCredential: {} / {}, key = {} DER bytes, valid until {}",
        validated.kind.type_and_usage().0,
        validated.kind.type_and_usage().1,
        validated.certificate.der().len(),
        keyroll_core::credential::serde_date::format(validated.certificate.not_after())
    );

    step(
        6,
        "The most common mistake, caught locally: the appId used as iss",
    );
    let wrong = proof::mint(&identity, &ProofRequest::new(app_id), now)?;
    let bad = inspect::inspect(wrong.as_str(), &opts);
    for f in bad.errors() {
        println!("    {}", f.message);
    }

    let ok = report.accepted() && !bad.accepted();
    println!("\n{}", if ok { "demo complete" } else { "demo FAILED" });
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
