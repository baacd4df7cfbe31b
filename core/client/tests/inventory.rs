//! The inventory scan against the emulator's collection reads: every certificate and secret, paged, filtered by
//! expiry, the last valid certificate marked, the plan rows, and the permission a scan needs.

use std::sync::Arc;

use keyroll_client::cloud::ApiVersion;
use keyroll_client::inventory::{
    self, CredentialType, InventoryItem, NamingRule, NoScanProgress, ObjectType, ScanError,
    ScanOptions,
};
use serde_json::json;

use keyroll_testkit::emulator::*;

async fn collect(
    client: &keyroll_client::graph::GraphClient,
    options: &ScanOptions,
) -> (Vec<InventoryItem>, inventory::ScanSummary) {
    let mut items = Vec::new();
    let summary = inventory::scan(client, options, &NoScanProgress, &mut |i| {
        items.push(i);
        true
    })
    .await
    .unwrap();
    (items, summary)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_finds_every_certificate_pages_and_filters_by_expiry() {
    let h = start().await;
    let c = certs();
    let reader = h
        .create(&[], json!({"roles": ["Application.Read.All"]}))
        .await;
    let a = h
        .create(
            &[&c.valid[0].certificate, &c.expired.certificate],
            json!({}),
        )
        .await;
    let b = h.create(&[&c.valid[1].certificate], json!({})).await;
    for _ in 0..3 {
        h.create(&[], json!({})).await;
    }
    let client = h.token_client(reader.app_id, ApiVersion::V1).await;
    let options = ScanOptions {
        types: vec![ObjectType::Application],
        page_size: 2,
        ..Default::default()
    };
    let (items, summary) = collect(&client, &options).await;
    // Six applications, two a page: three pages; three certificates among them.
    assert_eq!(summary.objects, 6, "{summary:?}");
    assert_eq!(summary.pages, 3, "{summary:?}");
    assert_eq!(items.len(), 3, "{items:?}");
    let of = |id| {
        items
            .iter()
            .filter(move |i: &&InventoryItem| i.object_id == id)
    };
    assert_eq!(of(a.id).count(), 2);
    let expired = of(a.id).find(|i| i.status == "expired").unwrap();
    assert!(!expired.last_valid_certificate);
    assert!(expired.days_left.unwrap() < 0);
    let valid = of(a.id).find(|i| i.status == "valid").unwrap();
    assert!(valid.last_valid_certificate, "{valid:?}");
    assert_eq!(
        valid.thumbprint.as_deref(),
        Some(c.valid[0].certificate.sha1_hex().as_str())
    );
    assert_eq!(of(b.id).count(), 1);
    assert!(
        items
            .iter()
            .all(|i| i.credential_type == CredentialType::Certificate)
    );

    // Expiring within 30 days: only the expired certificate.
    let (soon, _) = collect(
        &client,
        &ScanOptions {
            expiring_within: Some(time::Duration::days(30)),
            ..options.clone()
        },
    )
    .await;
    assert_eq!(soon.len(), 1, "{soon:?}");
    assert_eq!(soon[0].object_id, a.id);

    // Its plan row, by naming rules.
    let rule = NamingRule::parse("next/{appId}.pfx").unwrap();
    let row = inventory::plan_row(&soon[0], None, Some(&rule), true).unwrap();
    assert_eq!(row.new_cert, format!("next/{}.pfx", a.app_id));
    assert_eq!(row.cert, "");
    assert_eq!(row.target, "application");
    assert_eq!(row.current_thumbprint, c.expired.certificate.sha1_hex());

    // Both collections: the service principals are read too, after the applications.
    let (all, summary) = collect(&client, &ScanOptions::default()).await;
    assert_eq!(all.len(), 3);
    assert!(summary.objects >= 12, "{summary:?}");
    h.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_without_the_permission_names_it() {
    let h = start().await;
    let nobody = h.create(&[], json!({})).await;
    let client = h.token_client(nobody.app_id, ApiVersion::V1).await;
    let e = inventory::scan(
        &client,
        &ScanOptions::default(),
        &NoScanProgress,
        &mut |_| true,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ScanError::Denied { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("Application.Read.All"), "{text}");
    assert!(text.contains("OwnedBy"), "{text}");
    let _ = Arc::new(());
    h.emu.shutdown().await;
}
