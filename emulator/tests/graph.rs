//! Graph addKey / removeKey / read over real HTTPS against an emulator on a free port.

mod common;

use std::collections::HashSet;

use common::*;
use keyroll_emulator::EmulatorConfig;
use keyroll_proto::b64;
use keyroll_testkit::case;
use serde_json::{Value, json};
use uuid::Uuid;

const DIAG: &str = "x-keyroll-emulator-diagnostic";

#[tokio::test]
async fn add_key_then_remove_key_in_every_addressing_form() {
    let h = start_default().await;
    let app = h.create_app(json!({})).await;
    let forms = [
        format!("applications/{}/addKey", app.id),
        format!("applications(appId='{}')/addKey", app.app_id),
        format!("applications/{}/microsoft.graph.addKey", app.id),
    ];
    let new = identity(0, 10);
    for path in &forms {
        let _case = case(format!("path={path:?}"));
        let r = h
            .add_key(
                path,
                &app.token,
                &add_body(&new, &proof(&app.identity, app.id)),
            )
            .await;
        assert_eq!(r.status(), 200, "{path}");
        assert!(r.headers().contains_key("request-id"));
        assert!(r.headers().contains_key("client-request-id"));
        let v: Value = r.json().await.unwrap();
        assert!(
            v["@odata.context"]
                .as_str()
                .unwrap()
                .ends_with("$metadata#microsoft.graph.keyCredential")
        );
        assert_eq!(v["type"], "AsymmetricX509Cert");
        assert_eq!(
            v["customKeyIdentifier"],
            b64::encode_std(new.certificate().sha1())
        );
        assert!(Uuid::parse_str(v["keyId"].as_str().unwrap()).is_ok());
    }
    assert_eq!(h.keys(app.id).await.len(), 4);

    // Read keys with $select: key bytes come back.
    let r = h
        .admin
        .get(format!(
            "{}/v1.0/applications/{}?$select=keyCredentials",
            h.base, app.id
        ))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let keys = v["keyCredentials"].as_array().unwrap();
    assert_eq!(keys.len(), 4);
    assert!(keys.iter().all(|k| k["key"].is_string()));

    // removeKey, signed by the new key, by appId.
    let victim = keys[1]["keyId"].as_str().unwrap().to_owned();
    let r = h
        .add_key(
            &format!("applications(appId='{}')/removeKey", app.app_id),
            &app.token,
            &json!({"keyId": victim, "proof": proof(&new, app.id)}),
        )
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(h.keys(app.id).await.len(), 3);
    // Removing it again: 404.
    let r = h
        .add_key(
            &format!("applications/{}/removeKey", app.id),
            &app.token,
            &json!({"keyId": victim, "proof": proof(&new, app.id)}),
        )
        .await;
    assert_eq!(r.status(), 404);
    h.emu.shutdown().await;
}

#[tokio::test]
async fn every_broken_proof_rule_is_a_bare_401_with_a_diagnostic() {
    let h = start_default().await;
    let app = h.create_app(json!({})).await;
    let stranger = identity(1, 30);
    let expired = identity(40, 30);
    let new = identity(0, 10);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let hdr = good_header(&app.identity);
    let claims = good_claims(app.id);
    let with = |k: &str, v: Value| {
        let mut c = claims.clone();
        c[k] = v;
        c
    };
    let padded = {
        let p = proof(&app.identity, app.id);
        let mut parts: Vec<String> = p.split('.').map(str::to_owned).collect();
        parts[2].push('=');
        parts.join(".")
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("padding", padded, "padding"),
        (
            "wrong aud 00000003",
            custom_proof(
                &app.identity,
                &hdr,
                &with("aud", "00000003-0000-0000-c000-000000000000".into()),
            ),
            "audience",
        ),
        (
            "appId as iss",
            custom_proof(
                &app.identity,
                &hdr,
                &with("iss", app.app_id.to_string().into()),
            ),
            "issuer_is_app_id",
        ),
        (
            "other iss",
            custom_proof(
                &app.identity,
                &hdr,
                &with("iss", Uuid::new_v4().to_string().into()),
            ),
            "issuer",
        ),
        (
            "lifetime over 600",
            custom_proof(&app.identity, &hdr, &with("exp", (now + 3600).into())),
            "lifetime",
        ),
        (
            "expired",
            custom_proof(
                &app.identity,
                &hdr,
                &json!({"aud": "00000002-0000-0000-c000-000000000000", "iss": app.id.to_string(), "nbf": now - 1200, "exp": now - 900}),
            ),
            "expired",
        ),
        (
            "not yet valid",
            custom_proof(
                &app.identity,
                &hdr,
                &json!({"aud": "00000002-0000-0000-c000-000000000000", "iss": app.id.to_string(), "nbf": now + 900, "exp": now + 1200}),
            ),
            "not_yet_valid",
        ),
        (
            "string exp",
            custom_proof(
                &app.identity,
                &hdr,
                &with("exp", (now + 600).to_string().into()),
            ),
            "time_claim",
        ),
        (
            "PS256 alg",
            custom_proof(
                &app.identity,
                &json!({"alg": "PS256", "x5t": app.identity.certificate().x5t()}),
                &claims,
            ),
            "algorithm",
        ),
        (
            "unregistered key",
            custom_proof(&stranger, &good_header(&stranger), &claims),
            "x5t",
        ),
        (
            "x5t names the app's cert, another key signs",
            custom_proof(&stranger, &hdr, &claims),
            "signature",
        ),
        (
            "expired registered cert signs",
            custom_proof(&expired, &good_header(&expired), &claims),
            "",
        ),
        ("not a JWT", "abc.def".into(), "malformed"),
    ];
    for (name, p, code) in cases {
        let _case = case(format!("name={name:?} p={p:?} code={code:?}"));
        let r = h
            .add_key(
                &format!("applications/{}/addKey", app.id),
                &app.token,
                &add_body(&new, &p),
            )
            .await;
        assert_eq!(r.status(), 401, "{name}");
        let diag = r
            .headers()
            .get(DIAG)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        assert!(
            diag.contains(code),
            "{name}: diagnostic {diag:?} should name {code}"
        );
        let v: Value = r.json().await.unwrap();
        assert_eq!(
            v["error"]["code"], "Authentication_MissingOrMalformed",
            "{name}"
        );
        assert_eq!(v["error"]["message"], "Access Token missing or malformed.");
        assert!(v["error"]["innerError"]["request-id"].is_string());
    }
    // Nothing was added.
    assert_eq!(h.keys(app.id).await.len(), 1);
    h.emu.shutdown().await;
}

#[tokio::test]
async fn body_rules_answer_400_with_the_documented_codes_and_change_nothing() {
    let h = start_default().await;
    let app = h.create_app(json!({})).await;
    let new = identity(0, 10);
    let p = proof(&app.identity, app.id);
    let der = b64::encode_std(new.certificate().der());
    let kc = |extra: Value| {
        let mut k = json!({"type": "AsymmetricX509Cert", "usage": "Verify", "key": der});
        if let (Value::Object(a), Value::Object(b)) = (&mut k, extra) {
            a.extend(b);
        }
        json!({"keyCredential": k, "passwordCredential": null, "proof": p})
    };
    let far = (time::OffsetDateTime::now_utc() + time::Duration::days(400))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "bad usage",
            kc(json!({"usage": "Encrypt"})),
            "Request_BadRequest",
        ),
        (
            "bad pair",
            kc(json!({"usage": "Sign"})),
            "Request_BadRequest",
        ),
        (
            "empty key",
            kc(json!({"key": ""})),
            "KeyCredentialsInvalidValue",
        ),
        (
            "double-encoded key",
            kc(json!({"key": b64::encode_std(der.as_bytes())})),
            "KeyCredentialsInvalidValue",
        ),
        (
            "end after cert",
            kc(json!({"endDateTime": far})),
            "KeyCredentialsInvalidEndDate",
        ),
        ("unknown field", kc(json!({"color": "blue"})), "BadRequest"),
        (
            "bad base64",
            kc(json!({"key": "!!!not base64!!!"})),
            "Request_BadRequest",
        ),
        ("bad keyId guid", kc(json!({"keyId": "nope"})), "BadRequest"),
    ];
    for (name, body, code) in cases {
        let r = h
            .add_key(
                &format!("applications/{}/addKey", app.id),
                &app.token,
                &body,
            )
            .await;
        assert_eq!(r.status(), 400, "{name}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], code, "{name}: {v}");
    }
    // Malformed JSON, wrong content type, oversized body.
    let url = format!("{}/v1.0/applications/{}/addKey", h.base, app.id);
    for (ct, body) in [
        ("application/json", "{not json".to_owned()),
        ("text/plain", serde_json::to_string(&kc(json!({}))).unwrap()),
        (
            "application/json",
            format!("{{\"proof\": \"{}\"}}", "a".repeat(300_000)),
        ),
    ] {
        let _case = case(format!("ct={ct:?} body={body:?}"));
        let r = h
            .admin
            .post(&url)
            .bearer_auth(&app.token)
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let v: Value = r.json().await.unwrap();
        assert!(v["error"]["code"].is_string());
    }
    // Missing proof: 403.
    let mut body = kc(json!({}));
    body["proof"] = "".into();
    let r = h
        .add_key(
            &format!("applications/{}/addKey", app.id),
            &app.token,
            &body,
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(h.keys(app.id).await.len(), 1);
    h.emu.shutdown().await;
}

#[tokio::test]
async fn not_found_forbidden_and_token_errors() {
    let h = start_default().await;
    let app = h.create_app(json!({})).await;
    let other = h.create_app(json!({})).await;
    let admin = h
        .create_app(json!({"roles": ["Application.ReadWrite.All"]}))
        .await;
    let new = identity(0, 10);
    // Unknown id → 404; the appId where the object id belongs → 404.
    for id in [Uuid::new_v4(), app.app_id] {
        let _case = case(format!("id={id:?}"));
        let r = h
            .add_key(
                &format!("applications/{id}/addKey"),
                &app.token,
                &add_body(&new, &proof(&app.identity, app.id)),
            )
            .await;
        assert_eq!(r.status(), 404);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "Request_ResourceNotFound");
    }
    // Another application's keys without a role → 403; with Application.ReadWrite.All → 200.
    let body = add_body(&new, &proof(&other.identity, other.id));
    let r = h
        .add_key(
            &format!("applications/{}/addKey", other.id),
            &app.token,
            &body,
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "Authorization_RequestDenied"
    );
    let r = h
        .add_key(
            &format!("applications/{}/addKey", other.id),
            &admin.token,
            &body,
        )
        .await;
    assert_eq!(r.status(), 200);
    // A service principal needs a role even for its own app.
    let r = h
        .add_key(
            &format!("servicePrincipals/{}/addKey", app.sp_id),
            &app.token,
            &add_body(&new, &proof(&app.identity, app.sp_id)),
        )
        .await;
    assert_eq!(r.status(), 403);
    // No token / garbage token → 401 InvalidAuthenticationToken.
    let r = h
        .admin
        .post(format!("{}/v1.0/applications/{}/addKey", h.base, app.id))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "InvalidAuthenticationToken"
    );
    let r = h
        .add_key(&format!("applications/{}/addKey", app.id), "x.y.z", &body)
        .await;
    assert_eq!(r.status(), 401);
    // Bad GUID → 400.
    let r = h
        .add_key("applications/not-a-guid/addKey", &app.token, &body)
        .await;
    assert_eq!(r.status(), 400);
    h.emu.shutdown().await;
}

#[tokio::test]
async fn agent_blueprint_cast_and_service_principal_with_role() {
    let h = start_default().await;
    let bp = h
        .create_app(json!({"kind": "agentIdentityBlueprint"}))
        .await;
    let plain = h
        .create_app(json!({"roles": ["Application.ReadWrite.All"]}))
        .await;
    let new = identity(0, 10);
    let r = h
        .add_key(
            &format!(
                "applications/{}/microsoft.graph.agentIdentityBlueprint/addKey",
                bp.id
            ),
            &bp.token,
            &add_body(&new, &proof(&bp.identity, bp.id)),
        )
        .await;
    assert_eq!(r.status(), 200);
    // The cast on a plain application names nothing.
    let r = h
        .add_key(
            &format!(
                "applications/{}/microsoft.graph.agentIdentityBlueprint/addKey",
                plain.id
            ),
            &plain.token,
            &add_body(&new, &proof(&plain.identity, plain.id)),
        )
        .await;
    assert_eq!(r.status(), 404);
    // The service principal of `plain` holds no key yet: the refusal for "no valid certificate".
    let r = h
        .add_key(
            &format!("servicePrincipals/{}/addKey", plain.sp_id),
            &plain.token,
            &add_body(&new, &proof(&plain.identity, plain.sp_id)),
        )
        .await;
    assert_eq!(r.status(), 400);
    h.emu.shutdown().await;
}

#[tokio::test]
async fn no_valid_certificate_left_is_refused() {
    let h = start_default().await;
    let old = identity(60, 30);
    let app = h.create_app_with(old, json!({})).await;
    let new = identity(0, 10);
    let r = h
        .add_key(
            &format!("applications/{}/addKey", app.id),
            &app.token,
            &add_body(&new, &proof(&app.identity, app.id)),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(
        r.headers()[DIAG]
            .to_str()
            .unwrap()
            .contains("no currently valid certificate")
    );
    h.emu.shutdown().await;
}

#[tokio::test]
async fn key_limit_is_directory_resource_size_exceeded() {
    let h = start_default().await;
    let id = identity(1, 30);
    let der = b64::encode_std(id.certificate().der());
    let certs: Vec<String> = std::iter::repeat_n(der, 600).collect();
    let app = h.create_app_with(id, json!({"certificates": certs})).await;
    let r = h
        .add_key(
            &format!("applications/{}/addKey", app.id),
            &app.token,
            &add_body(&app.identity, &proof(&app.identity, app.id)),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "Directory_ResourceSizeExceeded"
    );
    h.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_add_key_loses_and_duplicates_nothing() {
    let h = start_default().await;
    let app = h.create_app(json!({})).await;
    let new = identity(0, 10);
    let n = 100;
    let mut tasks = Vec::new();
    for i in 0..n {
        let _case = case(format!("i={i:?}"));
        let http = h.admin.clone();
        let url = format!("{}/v1.0/applications/{}/addKey", h.base, app.id);
        let mut body = add_body(&new, &proof(&app.identity, app.id));
        body["keyCredential"]["displayName"] = format!("parallel {i}").into();
        let token = app.token.clone();
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()["keyId"]
                .as_str()
                .unwrap()
                .to_owned()
        }));
    }
    let mut ids = HashSet::new();
    for t in tasks {
        assert!(ids.insert(t.await.unwrap()));
    }
    let keys = h.keys(app.id).await;
    assert_eq!(keys.len(), n + 1);
    let names: HashSet<String> = keys
        .iter()
        .filter_map(|k| k["displayName"].as_str().map(str::to_owned))
        .collect();
    for i in 0..n {
        assert!(names.contains(&format!("parallel {i}")));
    }
    h.emu.shutdown().await;
}

#[tokio::test]
async fn state_file_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let config = EmulatorConfig {
        state: Some(path.clone()),
        ..EmulatorConfig::default()
    };
    let h = start(config.clone()).await;
    let app = h.create_app(json!({})).await;
    let new = identity(0, 10);
    let r = h
        .add_key(
            &format!("applications/{}/addKey", app.id),
            &app.token,
            &add_body(&new, &proof(&app.identity, app.id)),
        )
        .await;
    assert_eq!(r.status(), 200);
    h.emu.shutdown().await;

    let h = start(config).await;
    assert_eq!(h.keys(app.id).await.len(), 2);
    // Tokens issued before the restart still work (the signing key is kept in the state).
    let r = h
        .add_key(
            &format!("applications/{}/addKey", app.id),
            &app.token,
            &add_body(&new, &proof(&new, app.id)),
        )
        .await;
    assert_eq!(r.status(), 200);
    h.emu.shutdown().await;
}

#[tokio::test]
async fn add_password_and_remove_password_in_every_addressing_form() {
    let h = start_default().await;
    let admin = h
        .create_app(json!({"roles": ["Application.ReadWrite.All"]}))
        .await;
    let reader = h
        .create_app(json!({"roles": ["Application.Read.All"]}))
        .await;
    let app = h.create_app(json!({})).await;
    let forms = [
        format!("applications/{}", app.id),
        format!("applications(appId='{}')", app.app_id),
        format!("servicePrincipals/{}", app.sp_id),
        format!("servicePrincipals(appId='{}')", app.app_id),
    ];
    let mut secrets = Vec::new();
    for base in &forms {
        for action in ["addPassword", "microsoft.graph.addPassword"] {
            let path = format!("{base}/{action}");
            let _case = case(format!("path={path:?}"));
            // A reader may not; the app itself may not either (no proof, no self-service rule).
            for token in [&reader.token, &app.token] {
                let r = h
                    .add_key(&path, token, &json!({"passwordCredential": {}}))
                    .await;
                assert_eq!(r.status(), 403);
            }
            let r = h
                .add_key(
                    &path,
                    &admin.token,
                    &json!({"passwordCredential": {"displayName": "ci", "endDateTime": "2031-01-01T00:00:00Z"}}),
                )
                .await;
            assert_eq!(r.status(), 200);
            let v: Value = r.json().await.unwrap();
            assert!(
                v["@odata.context"]
                    .as_str()
                    .unwrap()
                    .ends_with("$metadata#microsoft.graph.passwordCredential")
            );
            let secret = v["secretText"].as_str().unwrap().to_owned();
            assert_eq!(secret.len(), 40);
            assert_eq!(v["hint"].as_str().unwrap(), &secret[..3]);
            assert_eq!(v["displayName"], "ci");
            assert_eq!(v["endDateTime"], "2031-01-01T00:00:00Z");
            assert!(v["customKeyIdentifier"].is_null());
            let key_id = v["keyId"].as_str().unwrap().to_owned();
            secrets.push(secret);
            let read = h
                .admin
                .get(format!(
                    "{}/v1.0/{base}?$select=passwordCredentials",
                    h.base
                ))
                .bearer_auth(&admin.token)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(read.contains(&key_id), "{read}");
            let remove = path.replace("addPassword", "removePassword");
            let r = h
                .add_key(&remove, &admin.token, &json!({"keyId": key_id}))
                .await;
            assert_eq!(r.status(), 204);
            let r = h
                .add_key(&remove, &admin.token, &json!({"keyId": key_id}))
                .await;
            assert_eq!(r.status(), 404, "removed already");
        }
    }
    // Every secret drawn is different, and none is in any read of the object.
    assert_eq!(secrets.iter().collect::<HashSet<_>>().len(), secrets.len());
    let _ = h
        .add_key(
            &format!("applications/{}/addPassword", app.id),
            &admin.token,
            &json!({}),
        )
        .await;
    let view = h
        .admin
        .get(format!("{}/_emulator/applications/{}", h.base, app.id))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for s in &secrets {
        assert!(!view.contains(s.as_str()));
    }
    // A body that is not one: a keyId that is not a GUID, an unknown property.
    let r = h
        .add_key(
            &format!("applications/{}/removePassword", app.id),
            &admin.token,
            &json!({"keyId": "nope"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = h
        .add_key(
            &format!("applications/{}/addPassword", app.id),
            &admin.token,
            &json!({"passwordCredential": {"displayNam": "x"}}),
        )
        .await;
    assert_eq!(r.status(), 400);
}
