//! Collection reads (`GET /applications`, `GET /servicePrincipals`) over real HTTPS: Graph's shapes, paging
//! that neither skips nor repeats while rolls and creations happen, the refusals with Graph's codes and texts,
//! who sees what, the read budget, client secrets and the bulk seed.

mod common;

use std::collections::{HashMap, HashSet};

use common::*;
use keyroll_testkit::case;
use serde_json::{Value, json};
use uuid::Uuid;

/// One GET of Graph: status, headers, body (JSON, or the text as a JSON string).
async fn get(
    h: &Harness,
    url: &str,
    token: &str,
    eventual: bool,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut r = h.admin.get(url).bearer_auth(token);
    if eventual {
        r = r.header("ConsistencyLevel", "eventual");
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

/// Follows `@odata.nextLink` from `first` to the end; returns every object and the number of pages.
async fn scan(h: &Harness, first: &str, token: &str) -> (Vec<Value>, usize) {
    let mut url = first.to_owned();
    let mut all = Vec::new();
    let mut pages = 0;
    loop {
        let (status, _, body) = get(h, &url, token, false).await;
        assert_eq!(status, 200, "{url}: {body}");
        pages += 1;
        all.extend(body["value"].as_array().unwrap().iter().cloned());
        match body["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    (all, pages)
}

async fn reader(h: &Harness, role: &str) -> (Uuid, Uuid, String) {
    let created = h
        .create(&[], json!({"roles": [role], "displayName": "scanner"}))
        .await;
    (
        created.app_id,
        created.sp_id,
        h.token_for(created.app_id).await,
    )
}

async fn seed(h: &Harness, body: Value) -> Value {
    let r = h
        .admin
        .post(format!("{}/_emulator/seed", h.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{v}");
    v
}

fn error_of(body: &Value) -> (String, String) {
    (
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test]
async fn a_paged_scan_returns_every_object_once_in_graphs_shape() {
    let h = start_default().await;
    let report = seed(
        &h,
        json!({"count": 250, "keysPerObject": 2, "secretsPerObject": 1, "seed": 7}),
    )
    .await;
    assert_eq!(report["applications"], 250);
    assert_eq!(report["servicePrincipals"], 250);
    assert_eq!(report["keyCredentials"], 1000);
    assert_eq!(report["passwordCredentials"], 250);
    let (_, _, token) = reader(&h, "Application.Read.All").await;

    let select = "id,appId,displayName,keyCredentials,passwordCredentials";
    let first = format!(
        "{}/v1.0/applications?$select={select}&$top=99&$count=true",
        h.base
    );
    let (status, headers, body) = get(&h, &first, &token, true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["@odata.context"],
        format!("{}/v1.0/$metadata#applications({select})", h.base)
    );
    assert_eq!(body["@odata.count"], 251, "250 seeded and the scanner");
    assert_eq!(
        headers["x-ms-resource-unit"], "1",
        "GET applications 2, $select -1"
    );
    let next = body["@odata.nextLink"].as_str().unwrap();
    assert!(
        next.starts_with(&format!("{}/v1.0/applications?", h.base)) && next.contains("$skiptoken="),
        "{next}"
    );
    let first_page = body["value"].as_array().unwrap();
    assert_eq!(first_page.len(), 99);
    let app = first_page
        .iter()
        .find(|a| a["displayName"] != "scanner")
        .unwrap();
    let keys: Vec<&str> = app
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys.iter().copied().collect::<HashSet<_>>(),
        select.split(',').collect::<HashSet<_>>(),
        "exactly the selected properties"
    );
    let kc = app["keyCredentials"].as_array().unwrap();
    assert_eq!(kc.len(), 2);
    for k in kc {
        assert!(
            k["key"].is_string(),
            "keyCredentials selected: key bytes come back: {k}"
        );
        assert_eq!(k["type"], "AsymmetricX509Cert");
        assert!(k["endDateTime"].as_str().unwrap().ends_with('Z'));
        assert!(k["customKeyIdentifier"].is_string());
    }
    let pc = &app["passwordCredentials"][0];
    assert!(pc["secretText"].is_null());
    assert_eq!(pc["hint"].as_str().unwrap().chars().count(), 3);
    assert!(pc["keyId"].is_string() && pc["endDateTime"].is_string());

    let (apps, pages) = scan(&h, &first, &token).await;
    assert_eq!(pages, 3);
    let ids: HashSet<&str> = apps.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(
        (apps.len(), ids.len()),
        (251, 251),
        "each object exactly once"
    );

    // Without $select: every property, key bytes null, the collection's full cost.
    let (status, headers, body) = get(
        &h,
        &format!("{}/beta/servicePrincipals?$top=999", h.base),
        &token,
        false,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-ms-resource-unit"], "1");
    assert_eq!(
        body["@odata.context"],
        format!("{}/beta/$metadata#servicePrincipals", h.base)
    );
    assert!(body.get("@odata.nextLink").is_none(), "one page holds 251");
    let sps = body["value"].as_array().unwrap();
    assert_eq!(sps.len(), 251);
    let sp = sps.iter().find(|s| s["displayName"] != "scanner").unwrap();
    assert_eq!(sp["servicePrincipalType"], "Application");
    assert_eq!(sp["accountEnabled"], true);
    assert!(sp["keyCredentials"][0]["key"].is_null(), "{sp}");
    assert!(
        sp.get("createdDateTime").is_none(),
        "v1.0 servicePrincipal has none"
    );
    let (_, headers, body) = get(&h, &format!("{}/v1.0/applications", h.base), &token, false).await;
    assert_eq!(headers["x-ms-resource-unit"], "2");
    assert_eq!(
        body["value"].as_array().unwrap().len(),
        100,
        "default page size"
    );
    assert!(body["value"][0]["createdDateTime"].is_string());
}

#[tokio::test]
async fn count_needs_the_eventual_header_as_graph_documents() {
    let h = start_default().await;
    seed(&h, json!({"count": 12, "seed": 3})).await;
    let (_, _, token) = reader(&h, "Directory.Read.All").await;
    let url = format!("{}/v1.0/applications?$count=true&$select=id", h.base);
    let (status, _, body) = get(&h, &url, &token, false).await;
    assert_eq!(
        status, 200,
        "without the header $count=true is ignored, not refused"
    );
    assert!(body.get("@odata.count").is_none());
    let (_, _, body) = get(&h, &url, &token, true).await;
    assert_eq!(body["@odata.count"], 13);

    let raw = format!("{}/v1.0/servicePrincipals/$count", h.base);
    let (status, _, body) = get(&h, &raw, &token, false).await;
    assert_eq!(status, 400);
    assert_eq!(
        error_of(&body),
        (
            "Request_UnsupportedQuery".into(),
            "Raw count (/$count) is not supported because the 'ConsistencyLevel:eventual' header is missing. Refer to https://aka.ms/graph-docs/advanced-queries for more information".into()
        )
    );
    let (status, headers, body) = get(&h, &raw, &token, true).await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(body, json!(13));
}

#[tokio::test]
async fn query_refusals_carry_graphs_codes_and_texts() {
    let h = start_default().await;
    seed(&h, json!({"count": 30, "seed": 5})).await;
    let (_, _, token) = reader(&h, "Application.Read.All").await;
    let cases: Vec<(&str, bool, &str, &str)> = vec![
        (
            "applications?$top=1000",
            false,
            "Request_UnsupportedQuery",
            "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.",
        ),
        (
            "applications?$top=0",
            false,
            "Request_UnsupportedQuery",
            "Invalid page size specified: '0'. Must be between 1 and 999 inclusive.",
        ),
        (
            "applications?$select=id,frob",
            false,
            "Request_BadRequest",
            "Could not find a property named 'frob' on type 'microsoft.graph.application'.",
        ),
        (
            "servicePrincipals?$select=createdDateTime",
            false,
            "Request_BadRequest",
            "Could not find a property named 'createdDateTime' on type 'microsoft.graph.servicePrincipal'.",
        ),
        (
            "servicePrincipals?$filter=keyCredentials/any(k:k/endDateTime le 2021-01-02T12:00:00Z)",
            false,
            "Request_UnsupportedQuery",
            "Complex query on property keyCredentials is not supported.",
        ),
        (
            "applications?$filter=createdDateTime ge 2021-01-01T00:00:00Z",
            false,
            "Request_UnsupportedQuery",
            "Unsupported or invalid query filter clause specified for property 'createdDateTime' of resource 'Application'.",
        ),
        (
            "applications?$filter=displayName ne 'x'",
            false,
            "Request_UnsupportedQuery",
            "Operator 'ne' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information",
        ),
        (
            "applications?$skip=10",
            false,
            "Request_BadRequest",
            "'$skip' is not supported by the service.",
        ),
    ];
    for (path, eventual, code, message) in cases {
        let _case = case(path);
        let (status, _, body) = get(&h, &format!("{}/v1.0/{path}", h.base), &token, eventual).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(error_of(&body), (code.to_owned(), message.to_owned()));
    }

    // A skip token is opaque and signed: an edited one, or one moved to another query, is refused.
    let first = format!("{}/v1.0/applications?$select=id&$top=10", h.base);
    let (_, _, body) = get(&h, &first, &token, false).await;
    let next = body["@odata.nextLink"].as_str().unwrap().to_owned();
    let (status, _, _) = get(&h, &next, &token, false).await;
    assert_eq!(status, 200, "the link as given works");
    let (head, tok) = next.split_once("$skiptoken=").unwrap();
    let mut edited: Vec<char> = tok.chars().collect();
    edited[20] = if edited[20] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{head}$skiptoken={}", edited.iter().collect::<String>());
    let moved = format!(
        "{}/v1.0/applications?$filter=startswith(displayName,'seeded')&$skiptoken={tok}",
        h.base
    );
    let sp_moved = format!("{}/v1.0/servicePrincipals?$skiptoken={tok}", h.base);
    for url in [
        tampered,
        moved,
        sp_moved,
        format!("{head}$skiptoken=garbage"),
    ] {
        let _case = case(url.clone());
        let (status, _, body) = get(&h, &url, &token, false).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(error_of(&body).0, "Directory_ExpiredPageToken");
    }
}

#[tokio::test]
async fn filters_on_app_id_and_display_name_match_as_the_directory_does() {
    let h = start_default().await;
    let (_, _, token) = reader(&h, "Application.Read.All").await;
    let mut made = HashMap::new();
    for name in ["Alpha one", "alpha two", "beta", "it's"] {
        let c = h.create(&[], json!({"displayName": name})).await;
        made.insert(name, c);
    }
    let names = |body: &Value| {
        let mut v: Vec<String> = body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["displayName"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    let q = |f: &str| {
        format!(
            "{}/v1.0/applications?$select=displayName&$filter={}",
            h.base,
            f.replace(' ', "%20").replace('\'', "%27")
        )
    };
    let (_, _, body) = get(&h, &q("startswith(displayName,'ALPHA')"), &token, false).await;
    assert_eq!(names(&body), ["Alpha one", "alpha two"]);
    let (_, _, body) = get(&h, &q("displayName eq 'BETA'"), &token, false).await;
    assert_eq!(names(&body), ["beta"]);
    let (_, _, body) = get(&h, &q("displayName eq 'it''s'"), &token, false).await;
    assert_eq!(names(&body), ["it's"]);
    let app_id = made["beta"].app_id;
    let (_, _, body) = get(
        &h,
        &format!(
            "{}/v1.0/servicePrincipals?$filter=appId%20eq%20'{app_id}'",
            h.base
        ),
        &token,
        false,
    )
    .await;
    assert_eq!(body["value"][0]["id"], made["beta"].sp_id.to_string());
    assert_eq!(body["value"].as_array().unwrap().len(), 1);
    h.create(&[], json!({"displayName": "mi", "managedIdentity": true}))
        .await;
    for (kind, expected) in [("ManagedIdentity", vec!["mi"]), ("Legacy", vec![])] {
        let (_, _, body) = get(
            &h,
            &format!(
                "{}/v1.0/servicePrincipals?$select=displayName&$filter=servicePrincipalType%20eq%20'{kind}'",
                h.base
            ),
            &token,
            false,
        )
        .await;
        assert_eq!(names(&body), expected, "{kind}");
    }
    let (_, _, body) = get(
        &h,
        &format!(
            "{}/v1.0/applications?$filter=endswith(displayName,'ONE')&$count=true",
            h.base
        ),
        &token,
        true,
    )
    .await;
    assert_eq!(names(&body), ["Alpha one"], "endsWith as an advanced query");
    assert_eq!(body["@odata.count"], 1);
    let (status, _, body) = get(
        &h,
        &format!(
            "{}/v1.0/applications?$select=DISPLAYNAME,id&$filter=DisplayName%20eq%20'beta'",
            h.base
        ),
        &token,
        false,
    )
    .await;
    assert_eq!(status, 200, "property names in any case: {body}");
    assert_eq!(
        body["value"][0]["displayName"], "beta",
        "answered in the declared spelling"
    );
}

#[tokio::test]
async fn owned_by_lists_only_owned_objects_and_no_role_is_refused() {
    let h = start_default().await;
    let (_, owner_sp, owner_token) = reader(&h, "Application.ReadWrite.OwnedBy").await;
    let owned_a = h.create(&[], json!({"owners": [owner_sp]})).await;
    let owned_b = h.create(&[], json!({"owners": [owner_sp]})).await;
    let other = h
        .create(&[], json!({"servicePrincipalOwners": [owner_sp]}))
        .await;
    let ids = |body: &Value| -> HashSet<String> {
        body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, _, body) = get(
        &h,
        &format!("{}/v1.0/applications", h.base),
        &owner_token,
        false,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        ids(&body),
        HashSet::from([owned_a.id.to_string(), owned_b.id.to_string()])
    );
    let (_, _, body) = get(
        &h,
        &format!("{}/v1.0/servicePrincipals", h.base),
        &owner_token,
        false,
    )
    .await;
    assert_eq!(ids(&body), HashSet::from([other.sp_id.to_string()]));

    let (_, _, all_token) = reader(&h, "Application.ReadWrite.All").await;
    let (_, _, body) = get(
        &h,
        &format!("{}/v1.0/applications", h.base),
        &all_token,
        false,
    )
    .await;
    assert_eq!(
        body["value"].as_array().unwrap().len(),
        5,
        "every application of the tenant"
    );

    let none = h.create(&[], json!({})).await;
    let token = h.token_for(none.app_id).await;
    let (status, _, body) = get(&h, &format!("{}/v1.0/applications", h.base), &token, false).await;
    assert_eq!(status, 403);
    assert_eq!(
        error_of(&body),
        (
            "Authorization_RequestDenied".into(),
            "Insufficient privileges to complete the operation.".into()
        )
    );
}

#[tokio::test]
async fn expand_owners_names_the_owning_service_principals() {
    let h = start_default().await;
    let (_, reader_sp, token) = reader(&h, "Application.Read.All").await;
    let owned = h
        .create(&[], json!({"owners": [reader_sp], "displayName": "owned"}))
        .await;
    let url = format!(
        "{}/v1.0/applications?$select=id,displayName&$expand=owners&$filter=displayName%20eq%20'owned'",
        h.base
    );
    let (status, headers, body) = get(&h, &url, &token, false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        headers["x-ms-resource-unit"], "2",
        "2 - 1 ($select) + 1 ($expand)"
    );
    assert!(
        body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#applications(id,displayName,owners())")
    );
    let app = &body["value"][0];
    assert_eq!(app["id"], owned.id.to_string());
    assert_eq!(app["owners"][0]["id"], reader_sp.to_string());
    assert_eq!(app["owners"][0]["displayName"], "scanner");
    assert_eq!(
        app["owners"][0]["@odata.type"],
        "#microsoft.graph.servicePrincipal"
    );
}

#[tokio::test]
async fn paging_during_rolls_and_creations_neither_skips_nor_repeats() {
    let h = start_default().await;
    seed(&h, json!({"count": 120, "seed": 11, "keysPerObject": 1})).await;
    let rolling: Vec<App> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(h.create_app(json!({})).await);
        }
        v
    };
    let (_, _, token) = reader(&h, "Application.Read.All").await;
    let before: HashSet<String> = scan(
        &h,
        &format!("{}/v1.0/applications?$select=id&$top=999", h.base),
        &token,
    )
    .await
    .0
    .iter()
    .map(|a| a["id"].as_str().unwrap().to_owned())
    .collect();
    assert_eq!(before.len(), 124);

    // Writers: rolls (addKey then removeKey of the old key) and new applications, while a scan pages by 7.
    let writer = async {
        let new = identity(0, 10);
        for app in &rolling {
            let r = h
                .add_key(
                    &format!("applications/{}/addKey", app.id),
                    &app.token,
                    &add_body(&new, &proof(&app.identity, app.id)),
                )
                .await;
            assert_eq!(r.status(), 200);
            let old = h.keys(app.id).await[0]["keyId"]
                .as_str()
                .unwrap()
                .to_owned();
            let r = h
                .add_key(
                    &format!("applications/{}/removeKey", app.id),
                    &app.token,
                    &json!({"keyId": old, "proof": proof(&new, app.id)}),
                )
                .await;
            assert_eq!(r.status(), 204);
            for _ in 0..10 {
                h.create(&[], json!({"displayName": "created during the scan"}))
                    .await;
            }
        }
    };
    let reader = async {
        let mut url = format!(
            "{}/v1.0/applications?$select=id,keyCredentials&$top=7",
            h.base
        );
        let mut seen = Vec::new();
        loop {
            let (status, _, body) = get(&h, &url, &token, false).await;
            assert_eq!(status, 200, "{body}");
            seen.extend(
                body["value"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a["id"].as_str().unwrap().to_owned()),
            );
            match body["@odata.nextLink"].as_str() {
                Some(n) => url = n.to_owned(),
                None => break,
            }
            tokio::task::yield_now().await;
        }
        seen
    };
    let ((), seen) = tokio::join!(writer, reader);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no object twice");
    let missing: Vec<&String> = before.iter().filter(|id| !unique.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "objects that existed before the scan were skipped: {missing:?}"
    );
    assert!(seen.len() <= 124 + 30);
}

#[tokio::test]
async fn the_read_budget_throttles_in_resource_units() {
    let h = start_default().await;
    let (app_id, _, token) = reader(&h, "Application.Read.All").await;
    h.faults(json!({"readBudget": {"units": 5, "windowSecs": 60}}))
        .await;
    let list = format!("{}/v1.0/applications", h.base);
    for _ in 0..2 {
        let (status, headers, _) = get(&h, &list, &token, false).await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-ms-resource-unit"], "2");
    }
    let (status, headers, body) = get(&h, &list, &token, false).await;
    assert_eq!(status, 429, "6 units of 5");
    assert_eq!(error_of(&body).0, "TooManyRequests");
    let wait: f64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(wait > 55.0 && wait <= 60.0, "{wait}");
    let tid = h.info().await["tenantId"].as_str().unwrap().to_owned();
    assert_eq!(
        headers["x-ms-throttle-scope"],
        format!("Tenant_Application/Read/{app_id}/{tid}").as_str()
    );
    assert_eq!(
        headers["x-ms-throttle-information"],
        "ResourceUnitLimitExceeded"
    );
    // A cheaper read still fits: $select takes the collection to 1 unit, and the budget is then full.
    let (status, headers, _) = get(&h, &format!("{list}?$select=id"), &token, false).await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-ms-throttle-limit-percentage"], "1.0");
}

#[tokio::test]
async fn client_secrets_are_stored_with_a_hint_and_never_returned() {
    let h = start_default().await;
    let (_, _, token) = reader(&h, "Application.Read.All").await;
    let secret = "Abc~n0t-a-real-secret-value";
    let created = h
        .create(
            &[],
            json!({"displayName": "with secret", "passwordCredentials": [{
                "displayName": "ci", "secretText": secret, "endDateTime": "2030-01-01T00:00:00Z"
            }]}),
        )
        .await;
    for url in [
        format!(
            "{}/v1.0/applications/{}?$select=passwordCredentials",
            h.base, created.id
        ),
        format!(
            "{}/v1.0/applications?$filter=displayName%20eq%20'with%20secret'",
            h.base
        ),
    ] {
        let r = h.admin.get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        assert!(!text.contains(secret), "the secret came back: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        let pc = v
            .get("passwordCredentials")
            .unwrap_or(&v["value"][0]["passwordCredentials"])[0]
            .clone();
        assert_eq!(pc["hint"], "Abc");
        assert_eq!(pc["displayName"], "ci");
        assert_eq!(pc["endDateTime"], "2030-01-01T00:00:00Z");
        assert!(pc["secretText"].is_null());
    }
    let admin_view = h.api().object(created.id).await;
    assert!(!admin_view.to_string().contains(secret));
    let r = h
        .api()
        .create_raw(&json!({"passwordCredentials": [{"secretText": "x", "startDateTime": "2030-01-01T00:00:00Z", "endDateTime": "2029-01-01T00:00:00Z"}]}))
        .await;
    assert_eq!(r.status(), 400, "an end before the start is refused");
}

#[tokio::test]
async fn a_seed_is_reproducible_spread_and_refused_twice() {
    let h = start_default().await;
    let body = json!({"count": 400, "seed": 42, "keysPerObject": 1, "secretsPerObject": 2, "expirySpreadDays": 100, "servicePrincipals": false});
    let report = seed(&h, body.clone()).await;
    assert_eq!(
        (
            report["applications"].as_u64(),
            report["servicePrincipals"].as_u64(),
            report["passwordCredentials"].as_u64()
        ),
        (Some(400), Some(0), Some(800))
    );
    let r = h
        .admin
        .post(format!("{}/_emulator/seed", h.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "the same seed twice would duplicate ids");
    let (_, _, token) = reader(&h, "Application.Read.All").await;
    let (apps, _) = scan(
        &h,
        &format!(
            "{}/v1.0/applications?$select=displayName,keyCredentials&$top=999",
            h.base
        ),
        &token,
    )
    .await;
    let now = time::OffsetDateTime::now_utc();
    let ends: Vec<time::OffsetDateTime> = apps
        .iter()
        .filter(|a| a["displayName"] != "scanner")
        .map(|a| {
            time::OffsetDateTime::parse(
                a["keyCredentials"][0]["endDateTime"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
        })
        .collect();
    assert_eq!(ends.len(), 400);
    let expired = ends.iter().filter(|e| **e < now).count();
    assert!(
        (10..=80).contains(&expired),
        "about a tenth expired: {expired}"
    );
    assert!(ends.iter().all(|e| *e < now + time::Duration::days(101)));
    let r = h
        .admin
        .post(format!("{}/_emulator/seed", h.base))
        .json(&json!({"count": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn a_single_read_has_the_shape_of_a_collection_item() {
    let h = start_default().await;
    let (_, _, token) = reader(&h, "Application.Read.All").await;
    let app = h.create(&[], json!({"displayName": "single"})).await;
    let (status, _, body) = get(
        &h,
        &format!(
            "{}/v1.0/applications/{}?$select=createdDateTime,APPID",
            h.base, app.id
        ),
        &token,
        false,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["createdDateTime"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["appId"], app.app_id.to_string());
    assert!(
        body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#applications(createdDateTime,appId)/$entity")
    );
    let (status, headers, body) = get(
        &h,
        &format!("{}/v1.0/servicePrincipals/{}", h.base, app.sp_id),
        &token,
        false,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-ms-resource-unit"], "1");
    assert_eq!(body["servicePrincipalType"], "Application");
    assert_eq!(body["appOwnerOrganizationId"], app.tenant.to_string());
    let (status, _, body) = get(
        &h,
        &format!(
            "{}/v1.0/servicePrincipals/{}?$select=createdDateTime",
            h.base, app.sp_id
        ),
        &token,
        false,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        error_of(&body).1,
        "Could not find a property named 'createdDateTime' on type 'microsoft.graph.servicePrincipal'."
    );
}
