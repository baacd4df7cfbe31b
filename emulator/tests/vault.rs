//! The emulated Key Vault over real HTTPS: the 401 challenge, vault-audience tokens, the access policy's 403,
//! certificates read, created and polled, keys read (public part only) and signing with keys that never
//! leave the emulator.

mod common;

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256,
    UnparsedPublicKey,
};
use common::*;
use keyroll_emulator::EmulatorConfig;
use keyroll_proto::assertion::{AssertionRequest, CLIENT_ASSERTION_TYPE, mint};
use keyroll_proto::b64;
use keyroll_proto::cert::Certificate;
use serde_json::{Value, json};
use uuid::Uuid;

const API: &str = "api-version=7.4";

/// A vault token for `app` from the token endpoint, through a client assertion, as a client gets one.
async fn vault_token(h: &Harness, app: &App) -> String {
    let tenant = h.emu.tenant_id;
    let endpoint = format!("{}/{tenant}/oauth2/v2.0/token", h.base);
    let assertion = mint(
        &app.identity,
        &AssertionRequest::new(app.app_id.to_string(), &endpoint, Uuid::new_v4()),
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    let r = h
        .admin
        .post(&endpoint)
        .form(&[
            ("client_id", app.app_id.to_string()),
            ("scope", "https://vault.azure.net/.default".to_owned()),
            ("grant_type", "client_credentials".to_owned()),
            ("client_assertion_type", CLIENT_ASSERTION_TYPE.to_owned()),
            ("client_assertion", assertion),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

async fn get(
    h: &Harness,
    path: &str,
    token: Option<&str>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut req = h.admin.get(format!("{}{path}{sep}{API}", h.vault_url()));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.json().await.unwrap_or(Value::Null), headers)
}

async fn post(
    h: &Harness,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut req = h
        .admin
        .post(format!("{}{path}?{API}", h.vault_url()))
        .json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.json().await.unwrap_or(Value::Null), headers)
}

/// Signs SHA-256(`message`) with `alg` through the vault; the signature bytes.
async fn sign(h: &Harness, kid_path: &str, token: &str, alg: &str, message: &[u8]) -> (u16, Value) {
    let d = digest(&SHA256, message);
    let (status, v, _) = post(
        h,
        &format!("{kid_path}/sign"),
        Some(token),
        &json!({"alg": alg, "value": b64::encode_url(d.as_ref())}),
    )
    .await;
    (status, v)
}

fn path_of(url: &str, h: &Harness) -> String {
    url.strip_prefix(h.vault_url()).unwrap().to_owned()
}

const ALL: &[&str] = &[
    "keys/get",
    "keys/sign",
    "certificates/get",
    "certificates/list",
    "certificates/create",
];

#[tokio::test]
async fn challenge_then_certificate_then_rs256_and_ps256_signatures_that_verify_over_the_message() {
    let h = start_default().await;
    assert_eq!(h.vault_url(), h.base);
    let info = h.info().await;
    assert_eq!(info["vault_url"], h.base);
    let app = h.create_app(json!({})).await;
    let vc = h
        .vault_certificate("app-cert", json!({"subject": "CN=vault app"}))
        .await;
    h.vault_grant(app.sp_id, ALL).await;

    // No token: the service's challenge, naming the login URL with the vault's tenant and the resource.
    let (status, body, headers) = get(&h, "/certificates/app-cert", None).await;
    assert_eq!(status, 401);
    assert_eq!(
        headers["www-authenticate"],
        format!(
            "Bearer authorization=\"{}/{}\", resource=\"https://vault.azure.net\"",
            h.base, h.emu.tenant_id
        )
    );
    assert_eq!(
        body,
        json!({"error": {"code": "Unauthorized", "message": "AKV10000: Request is missing a Bearer or PoP token."}})
    );
    // The challenge request Microsoft's clients send first: the POST without its body.
    let r = h
        .admin
        .post(format!(
            "{}/keys/app-cert/{}/sign?{API}",
            h.base, vc.version
        ))
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));

    let token = vault_token(&h, &app).await;
    let (status, cert, _) = get(&h, "/certificates/app-cert", Some(&token)).await;
    assert_eq!(status, 200, "{cert}");
    assert_eq!(cert["id"], vc.id);
    assert_eq!(cert["kid"], vc.kid);
    assert_eq!(
        cert["sid"],
        format!("{}/secrets/app-cert/{}", h.base, vc.version)
    );
    assert_eq!(cert["x5t"], vc.certificate.x5t());
    let der = b64::decode_lenient(cert["cer"].as_str().unwrap()).unwrap();
    assert_eq!(der, vc.certificate.der());
    assert_eq!(cert["attributes"]["enabled"], true);
    assert_eq!(cert["attributes"]["recoveryLevel"], "Recoverable+Purgeable");
    assert_eq!(
        cert["attributes"]["exp"],
        vc.certificate.not_after().unix_timestamp()
    );
    assert_eq!(cert["policy"]["key_props"]["kty"], "RSA");
    assert_eq!(cert["policy"]["issuer"]["name"], "Self");
    let (status, same, _) = get(
        &h,
        &format!("/certificates/app-cert/{}", vc.version),
        Some(&token),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(same["cer"], cert["cer"]);

    // The key: public part only.
    let kid_path = path_of(&vc.kid, &h);
    let (status, key, _) = get(&h, &kid_path, Some(&token)).await;
    assert_eq!(status, 200, "{key}");
    assert_eq!(key["key"]["kid"], vc.kid);
    assert_eq!(key["key"]["kty"], "RSA");
    assert_eq!(key["key"]["e"], "AQAB");
    assert_eq!(key["managed"], true);
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(key["key"].get(private).is_none(), "{private} in {key}");
    }
    assert_eq!(
        get(&h, "/keys/app-cert", Some(&token)).await.1["key"],
        key["key"]
    );

    // Signatures over the digest verify as JWS signatures over the message with the certificate's key.
    let message = b"eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0";
    let public = vc.certificate.rsa_public_key_pkcs1().unwrap().to_vec();
    let (status, v) = sign(&h, &kid_path, &token, "RS256", message).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["kid"], vc.kid);
    let sig = b64::decode_jose_segment(v["value"].as_str().unwrap()).unwrap();
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &public)
        .verify(message, &sig)
        .expect("RS256 verifies");
    let (status, v) = sign(&h, &kid_path, &token, "PS256", message).await;
    assert_eq!(status, 200, "{v}");
    let sig = b64::decode_jose_segment(v["value"].as_str().unwrap()).unwrap();
    UnparsedPublicKey::new(&RSA_PSS_2048_8192_SHA256, &public)
        .verify(message, &sig)
        .expect("PS256 verifies");
    // The latest version when none is named, or the version is empty (as Microsoft's clients send it).
    for latest in ["/keys/app-cert", "/keys/app-cert/"] {
        let (status, v) = sign(&h, latest, &token, "RS256", message).await;
        assert_eq!(status, 200, "{latest}: {v}");
        assert_eq!(v["kid"], vc.kid);
    }
    assert_eq!(
        get(&h, "/keys/app-cert/", Some(&token)).await.1["key"]["kid"],
        vc.kid
    );
    assert_eq!(
        get(&h, "/certificates/app-cert/", Some(&token)).await.1["id"],
        vc.id
    );

    // A digest of the wrong length, an algorithm the vault does not know.
    let (status, v, _) = post(
        &h,
        &format!("{kid_path}/sign"),
        Some(&token),
        &json!({"alg": "RS256", "value": b64::encode_url(&[1u8; 20])}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("BadParameter"))
    );
    let (status, _) = sign(&h, &kid_path, &token, "HS256", message).await;
    assert_eq!(status, 400);

    // No endpoint hands out key material.
    let (status, _, _) = get(&h, "/secrets/app-cert", Some(&token)).await;
    assert_eq!(status, 404);
    h.emu.shutdown().await;
}

#[tokio::test]
async fn a_token_for_another_resource_or_tenant_is_refused_with_the_challenge() {
    let h = start_default().await;
    let app = h.create_app(json!({})).await;
    h.vault_certificate("c1", json!({})).await;
    h.vault_grant(app.sp_id, ALL).await;
    // A Graph token at the vault.
    let (status, body, headers) = get(&h, "/certificates/c1", Some(&app.token)).await;
    assert_eq!(status, 401);
    assert!(headers.contains_key("www-authenticate"));
    assert_eq!(
        body["error"]["message"],
        "AKV10022: Invalid audience. Expected https://vault.azure.net, found: https://graph.microsoft.com."
    );
    // A vault token at Graph.
    let token = h.vault_token_for(app.app_id).await;
    let r = h
        .admin
        .get(format!("{}/v1.0/applications/{}", h.base, app.id))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // A vault token of another tenant.
    let other = Uuid::new_v4();
    let stranger = h
        .create(&[identity(1, 30).certificate()], json!({"tenantId": other}))
        .await;
    h.vault_grant(stranger.sp_id, ALL).await;
    let foreign = h
        .api()
        .http
        .post(format!("{}/_emulator/tokens", h.base))
        .json(&json!({"appId": stranger.app_id, "tenantId": other, "resource": "https://vault.azure.net"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body, _) = get(&h, "/certificates/c1", Some(&foreign)).await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("AKV10032: Invalid issuer."),
        "{body}"
    );
    h.emu.shutdown().await;
}

#[tokio::test]
async fn managed_identity_gets_a_vault_token_and_signs() {
    let h = start_default().await;
    let mi = h.create_app(json!({"managedIdentity": true})).await;
    let vc = h.vault_certificate("mi-cert", json!({})).await;
    // Granted by client id this time.
    h.vault_grant(mi.app_id, &["keys/sign"]).await;
    let info = h.info().await;
    let r = h
        .admin
        .get(format!(
            "{}?resource=https://vault.azure.net&api-version=2019-08-01",
            info["identityEndpoint"].as_str().unwrap()
        ))
        .header(
            "X-IDENTITY-HEADER",
            info["identityHeader"].as_str().unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["resource"], "https://vault.azure.net");
    let token = v["access_token"].as_str().unwrap();
    let (status, v) = sign(&h, &path_of(&vc.kid, &h), token, "RS256", b"m").await;
    assert_eq!(status, 200, "{v}");
    h.emu.shutdown().await;
}

#[tokio::test]
async fn without_the_permission_the_403_names_it() {
    let h = start_default().await;
    let app = h.create_app(json!({})).await;
    let vc = h.vault_certificate("guarded", json!({})).await;
    let token = vault_token(&h, &app).await;
    let (status, body, _) = get(&h, "/certificates/guarded", Some(&token)).await;
    assert_eq!(status, 403);
    assert_eq!(
        body,
        json!({"error": {
            "code": "Forbidden",
            "message": format!(
                "The user, group or application 'appid={};oid={};iss=https://sts.windows.net/{}/' does not have certificates get permission on key vault 'keyroll-emulator;location=local'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
                app.app_id, app.sp_id, h.emu.tenant_id
            ),
            "innererror": {"code": "AccessDenied"},
        }})
    );
    // Permission to read is not permission to sign; a missing object is judged after the permission.
    h.vault_grant(app.sp_id, &["certificates/get", "keys/get"])
        .await;
    assert_eq!(get(&h, "/certificates/guarded", Some(&token)).await.0, 200);
    let (status, body) = sign(&h, &path_of(&vc.kid, &h), &token, "RS256", b"m").await;
    assert_eq!(status, 403);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not have keys sign permission")
    );
    let (status, body) = sign(&h, "/keys/absent/0123", &token, "RS256", b"m").await;
    assert_eq!(status, 403, "{body}");
    let (status, body, _) = get(&h, "/certificates/guarded/versions", Some(&token)).await;
    assert_eq!(status, 403);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not have certificates list permission")
    );
    let (status, body, _) =
        post(&h, "/certificates/guarded/create", Some(&token), &json!({})).await;
    assert_eq!(status, 403);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not have certificates create permission")
    );
    // Revoked.
    h.vault_grant(app.sp_id, &[]).await;
    assert_eq!(get(&h, "/certificates/guarded", Some(&token)).await.0, 403);
    // The admin API refuses a permission it does not know.
    let r = h
        .admin
        .post(format!("{}/_emulator/vault/grants", h.base))
        .json(&json!({"principal": app.sp_id, "permissions": ["secrets/get"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    h.emu.shutdown().await;
}

#[tokio::test]
async fn missing_certificates_and_keys_have_the_services_404s() {
    let h = start_default().await;
    let app = h.create_app(json!({})).await;
    h.vault_grant(app.sp_id, ALL).await;
    let token = vault_token(&h, &app).await;
    let (status, body, _) = get(&h, "/certificates/nope", Some(&token)).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "CertificateNotFound");
    assert_eq!(
        body["error"]["message"],
        "A certificate with (name/id) nope was not found in this key vault. If you recently deleted this certificate you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
    );
    let (status, body, _) = get(&h, "/keys/nope/abc", Some(&token)).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "KeyNotFound");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("A key with (name/id) nope/abc was not found in this key vault.")
    );
    let (status, body, _) = get(&h, "/certificates/nope/pending", Some(&token)).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "PendingCertificateNotFound");
    h.emu.shutdown().await;
}

#[tokio::test]
async fn create_is_pending_then_completed_and_a_second_create_makes_a_new_version() {
    let h = start_default().await;
    let app = h.create_app(json!({})).await;
    h.vault_grant(app.sp_id, ALL).await;
    let token = vault_token(&h, &app).await;
    let policy = json!({"policy": {
        "key_props": {"kty": "RSA", "key_size": 3072, "exportable": false, "reuse_key": false},
        "x509_props": {"subject": "CN=next", "validity_months": 6},
        "issuer": {"name": "Self"},
    }});
    let (status, op, headers) = post(&h, "/certificates/next/create", Some(&token), &policy).await;
    assert_eq!(status, 202, "{op}");
    assert_eq!(op["status"], "inProgress");
    assert_eq!(op["id"], format!("{}/certificates/next/pending", h.base));
    assert_eq!(op["issuer"]["name"], "Self");
    assert!(op["csr"].is_string());
    let location = headers["location"].to_str().unwrap();
    assert!(
        location.starts_with(&format!(
            "{}/certificates/next/pending?api-version=7.4",
            h.base
        )),
        "{location}"
    );
    // Pending: the certificate has no cer yet.
    let (_, cert, _) = get(&h, "/certificates/next", Some(&token)).await;
    assert!(cert.get("cer").is_none());
    assert_eq!(cert["attributes"]["enabled"], false);
    // One read in progress, then completed (the default selfIssuePolls is 1).
    let (status, op, _) = get(&h, "/certificates/next/pending", Some(&token)).await;
    assert_eq!((status, op["status"].as_str()), (200, Some("inProgress")));
    let (_, op, _) = get(&h, "/certificates/next/pending", Some(&token)).await;
    assert_eq!(op["status"], "completed");
    assert_eq!(op["target"], format!("{}/certificates/next", h.base));
    let (_, first, _) = get(&h, "/certificates/next", Some(&token)).await;
    let der = b64::decode_lenient(first["cer"].as_str().unwrap()).unwrap();
    let c = Certificate::from_der(&der).unwrap();
    assert!(c.subject().contains("next"));
    assert_eq!(first["policy"]["key_props"]["key_size"], 3072);
    // The certificate's key is the vault key: a signature verifies with the certificate.
    let (_, v) = sign(
        &h,
        &path_of(first["kid"].as_str().unwrap(), &h),
        &token,
        "RS256",
        b"msg",
    )
    .await;
    let sig = b64::decode_jose_segment(v["value"].as_str().unwrap()).unwrap();
    UnparsedPublicKey::new(
        &RSA_PKCS1_2048_8192_SHA256,
        c.rsa_public_key_pkcs1().unwrap(),
    )
    .verify(b"msg", &sig)
    .unwrap();

    // A second create is a new version; with selfIssuePolls 0 the first read completes it.
    h.api().vault_settings(json!({"selfIssuePolls": 0})).await;
    let (status, _, _) = post(&h, "/certificates/next/create", Some(&token), &policy).await;
    assert_eq!(status, 202);
    let (_, op, _) = get(&h, "/certificates/next/pending", Some(&token)).await;
    assert_eq!(op["status"], "completed");
    let (_, second, _) = get(&h, "/certificates/next", Some(&token)).await;
    assert_ne!(second["id"], first["id"]);
    assert_ne!(second["x5t"], first["x5t"]);
    // The versions, a page of one at a time through nextLink.
    let (status, page, _) = get(&h, "/certificates/next/versions?maxresults=1", Some(&token)).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["value"].as_array().unwrap().len(), 1);
    assert_eq!(page["value"][0]["id"], first["id"]);
    assert_eq!(page["value"][0]["x5t"], first["x5t"]);
    let next = page["nextLink"].as_str().unwrap();
    let page2: Value = h
        .admin
        .get(next)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page2["value"][0]["id"], second["id"]);
    assert!(page2["nextLink"].is_null());
    // reuse_key: the next version keeps the key (the same public JWK), a new kid all the same.
    let mut reuse = policy.clone();
    reuse["policy"]["key_props"]["reuse_key"] = json!(true);
    let (status, _, _) = post(&h, "/certificates/next/create", Some(&token), &reuse).await;
    assert_eq!(status, 202);
    get(&h, "/certificates/next/pending", Some(&token)).await;
    let (_, third, _) = get(&h, "/certificates/next", Some(&token)).await;
    assert_ne!(third["kid"], second["kid"]);
    let n = |kid: &Value| {
        let h = &h;
        let token = &token;
        let kid = kid.as_str().unwrap().to_owned();
        async move { get(h, &path_of(&kid, h), Some(token)).await.1["key"]["n"].clone() }
    };
    assert_eq!(n(&third["kid"]).await, n(&second["kid"]).await);
    assert_ne!(n(&second["kid"]).await, n(&first["kid"]).await);
    // A bad policy is refused with the reason.
    let (status, body, _) = post(
        &h,
        "/certificates/next/create",
        Some(&token),
        &json!({"policy": {"key_props": {"kty": "RSA", "key_size": 1024}, "x509_props": {"subject": "CN=x"}}}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("1024"));
    h.emu.shutdown().await;
}

#[tokio::test]
async fn issuer_unknown_stays_in_progress_not_yet_issued() {
    let h = start_default().await;
    let app = h.create_app(json!({})).await;
    h.vault_grant(app.sp_id, ALL).await;
    let token = vault_token(&h, &app).await;
    let body = json!({"policy": {"x509_props": {"subject": "CN=ca issued"}, "issuer": {"name": "Unknown"}}});
    let (status, _, _) = post(&h, "/certificates/ca-issued/create", Some(&token), &body).await;
    assert_eq!(status, 202);
    for _ in 0..3 {
        let (_, op, _) = get(&h, "/certificates/ca-issued/pending", Some(&token)).await;
        assert_eq!(op["status"], "inProgress");
        assert_eq!(
            op["status_details"],
            "Pending certificate created. Please Perform Merge to complete the request."
        );
    }
    let (status, cert, _) = get(&h, "/certificates/ca-issued", Some(&token)).await;
    assert_eq!(status, 200);
    assert!(
        cert.get("cer").is_none() && cert.get("x5t").is_none(),
        "{cert}"
    );
    assert_eq!(cert["attributes"]["enabled"], false);
    assert_eq!(
        cert["pending"]["id"],
        format!("{}/certificates/ca-issued/pending", h.base)
    );
    // The admin API puts a pending version in the same state, for tests that have no create permission.
    let (id, kid) = h.api().vault_pending_certificate("put-pending").await;
    let (status, cert, _) = get(&h, "/certificates/put-pending", Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(cert["id"], id);
    assert_eq!(cert["kid"], kid);
    assert!(cert.get("cer").is_none(), "{cert}");
    let (_, op, _) = get(&h, "/certificates/put-pending/pending", Some(&token)).await;
    assert_eq!(op["status"], "inProgress");
    assert_eq!(op["issuer"]["name"], "Unknown");
    // A new version waits for the pending one.
    let (status, _, _) = post(&h, "/certificates/ca-issued/create", Some(&token), &body).await;
    assert_eq!(status, 409);
    h.emu.shutdown().await;
}

#[tokio::test]
async fn ec_keys_sign_es256_and_refuse_rs256_as_the_service_does() {
    let h = start_default().await;
    let app = h.create_app(json!({})).await;
    h.vault_grant(app.sp_id, ALL).await;
    let token = vault_token(&h, &app).await;
    let vc = h.vault_certificate("ec-cert", json!({"kty": "EC"})).await;
    let kid_path = path_of(&vc.kid, &h);
    let (status, body) = sign(&h, &kid_path, &token, "RS256", b"m").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "BadParameter");
    assert_eq!(
        body["error"]["message"],
        format!(
            "Key and signing algorithm are incompatible. Key {} is of type 'EC', and algorithm 'RS256' can only be used with key type 'RSA'.",
            vc.kid
        )
    );
    let (status, v) = sign(&h, &kid_path, &token, "ES256", b"m").await;
    assert_eq!(status, 200, "{v}");
    let sig = b64::decode_jose_segment(v["value"].as_str().unwrap()).unwrap();
    let (_, key, _) = get(&h, &kid_path, Some(&token)).await;
    assert_eq!(key["key"]["kty"], "EC");
    assert_eq!(key["key"]["crv"], "P-256");
    assert!(key["key"].get("d").is_none());
    let mut point = vec![4u8];
    point.extend(b64::decode_jose_segment(key["key"]["x"].as_str().unwrap()).unwrap());
    point.extend(b64::decode_jose_segment(key["key"]["y"].as_str().unwrap()).unwrap());
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
        .verify(b"m", &sig)
        .expect("ES256 verifies with the JWK");
    h.emu.shutdown().await;
}

#[tokio::test]
async fn a_certificate_whose_key_differs_from_the_named_key_signs_what_it_does_not_verify() {
    let h = start_default().await;
    let app = h.create_app(json!({})).await;
    h.vault_grant(app.sp_id, ALL).await;
    let token = vault_token(&h, &app).await;
    let vc = h
        .vault_certificate("mismatch", json!({"keyMismatch": true}))
        .await;
    let kid_path = path_of(&vc.kid, &h);
    let (status, v) = sign(&h, &kid_path, &token, "RS256", b"m").await;
    assert_eq!(status, 200);
    let sig = b64::decode_jose_segment(v["value"].as_str().unwrap()).unwrap();
    assert!(
        UnparsedPublicKey::new(
            &RSA_PKCS1_2048_8192_SHA256,
            vc.certificate.rsa_public_key_pkcs1().unwrap()
        )
        .verify(b"m", &sig)
        .is_err()
    );
    let (_, key, _) = get(&h, &kid_path, Some(&token)).await;
    let n = b64::decode_jose_segment(key["key"]["n"].as_str().unwrap()).unwrap();
    let cert_key = vc.certificate.rsa_public_key_pkcs1().unwrap();
    assert!(!cert_key.windows(n.len()).any(|w| w == n.as_slice()));
    h.emu.shutdown().await;
}

#[tokio::test]
async fn vault_state_survives_a_restart_with_a_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let config = || EmulatorConfig {
        state: Some(path.clone()),
        ..EmulatorConfig::default()
    };
    let h = start(config()).await;
    let app = h.create_app(json!({})).await;
    let vc = h.vault_certificate("kept", json!({})).await;
    h.vault_grant(app.sp_id, &["keys/sign", "certificates/get"])
        .await;
    h.emu.shutdown().await;

    let h = start(config()).await;
    let token = h.vault_token_for(app.app_id).await;
    let (status, cert, _) = get(&h, "/certificates/kept", Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(cert["x5t"], vc.certificate.x5t());
    let (status, v) = sign(
        &h,
        &format!("/keys/kept/{}", vc.version),
        &token,
        "RS256",
        b"after",
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let sig = b64::decode_jose_segment(v["value"].as_str().unwrap()).unwrap();
    UnparsedPublicKey::new(
        &RSA_PKCS1_2048_8192_SHA256,
        vc.certificate.rsa_public_key_pkcs1().unwrap(),
    )
    .verify(b"after", &sig)
    .expect("the same key after the restart");
    h.emu.shutdown().await;
}

#[tokio::test]
async fn throttled_requests_get_the_services_429_then_pass() {
    let h = start_default().await;
    let app = h.create_app(json!({})).await;
    h.vault_grant(app.sp_id, ALL).await;
    let vc = h.vault_certificate("busy", json!({})).await;
    let token = h.vault_token_for(app.app_id).await;
    h.api()
        .vault_settings(json!({"throttle": 2, "throttleRetryAfter": 1.5}))
        .await;
    // The challenge is not counted: no token, no throttle.
    assert_eq!(get(&h, "/certificates/busy", None).await.0, 401);
    for _ in 0..2 {
        let (status, body, headers) = get(&h, "/certificates/busy", Some(&token)).await;
        assert_eq!(status, 429);
        assert_eq!(headers["retry-after"], "1.5");
        assert_eq!(
            body,
            json!({"error": {"code": "Throttled", "message": "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached"}})
        );
    }
    let (status, v) = sign(&h, &path_of(&vc.kid, &h), &token, "RS256", b"m").await;
    assert_eq!(status, 200, "{v}");
    let settings: Value = h
        .admin
        .get(format!("{}/_emulator/vault/settings", h.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(settings["throttle"], 0);
    let r = h
        .admin
        .put(format!("{}/_emulator/vault/settings", h.base))
        .json(&json!({"throttleRetryAfter": -1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    h.emu.shutdown().await;
}
