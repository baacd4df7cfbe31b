//! `keyroll roll` with certificates in Key Vault, end to end against `keyroll-emulator`: the next version is
//! created in the vault and rolled to with neither private key ever leaving it; a re-run uses the version an
//! earlier run made instead of creating another; and a missing vault permission is named with its role.

mod common;

use common::*;
use serde_json::json;
use uuid::Uuid;

const GRANTS: &[&str] = &[
    "keys/get",
    "keys/sign",
    "certificates/get",
    "certificates/list",
    "certificates/create",
];

#[test]
fn roll_to_a_version_created_in_the_vault_and_rerun_without_a_second_version() {
    let emu = emulator(&[]);
    let conn = emu.conn();
    let current = emu.vault_certificate("billing", json!({}));
    let app = emu.create(&[&current.certificate], json!({}));
    let app_uuid = Uuid::parse_str(&app.app_id).unwrap();
    emu.vault_grant(app_uuid, GRANTS);
    let vault_token = emu.block_on(emu.admin.vault_token_for(app_uuid));
    let url = format!("{}/certificates/billing", emu.vault);
    let current_url = format!("{url}/{}", current.version);

    // The app signs in with its current certificate's vault key; the proofs are signed there too.
    let r = keyroll(
        &args(
            &[
                "roll",
                "--object-id",
                &app.id,
                "--cert",
                &current_url,
                "--new-cert",
                &url,
                "--create-in-vault",
                "--remove-old",
                "--tenant-id",
                &app.tenant,
                "--client-id",
                &app.app_id,
                "--vault-access-token-env",
                "KV_TOKEN",
            ],
            &conn,
        ),
        &[("KV_TOKEN", &vault_token)],
    );
    r.ok();
    assert!(r.stdout().contains("state: rolled"), "{}", r.text());
    // Open the current version (2), read the latest, create, poll twice, read the new version (5), its key
    // (1), four signatures (client assertion and addKey proof; verification assertion and removeKey proof).
    assert!(
        r.stderr().contains("key vault: 12 requests"),
        "{}",
        r.stderr()
    );
    assert!(r.stderr().contains("created"), "{}", r.stderr());
    assert_no_secret(&r, &[&vault_token]);
    let after_first = emu.thumbs(&app.id);
    assert_eq!(after_first.len(), 1);
    assert_ne!(after_first, vec![current.certificate.sha1_hex()]);

    // The version in use read from the object (no version in --cert), the next one created, the old one kept.
    let graph_token = emu.token(&app.app_id);
    let pair = |remove_old: bool| {
        let mut a = vec![
            "roll",
            "--object-id",
            &app.id,
            "--cert",
            &url,
            "--new-cert",
            &url,
            "--create-in-vault",
            "--tenant-id",
            &app.tenant,
            "--access-token-env",
            "GRAPH_TOKEN",
            "--vault-access-token-env",
            "KV_TOKEN",
        ];
        if remove_old {
            a.push("--remove-old");
        }
        keyroll(
            &args(&a, &conn),
            &[("KV_TOKEN", &vault_token), ("GRAPH_TOKEN", &graph_token)],
        )
    };
    let r = pair(false);
    r.ok();
    assert!(r.stderr().contains("created"), "{}", r.stderr());
    let both = emu.thumbs(&app.id);
    assert_eq!(both.len(), 2, "{}", r.text());
    assert!(both.contains(&after_first[0]));

    // Run again, as after a stop before the old key was removed: the version made is used, none is created.
    let r = pair(true);
    r.ok();
    assert!(
        r.stderr().contains("made by an earlier run") && !r.stderr().contains(" created"),
        "{}",
        r.stderr()
    );
    let last = emu.thumbs(&app.id);
    assert_eq!(last.len(), 1, "{}", r.text());
    assert!(
        both.contains(&last[0]) && last[0] != after_first[0],
        "{last:?}"
    );
}

#[test]
fn a_vault_key_without_sign_permission_is_named_with_its_role() {
    let emu = emulator(&[]);
    let conn = emu.conn();
    let current = emu.vault_certificate("nosign", json!({}));
    let app = emu.create(&[&current.certificate], json!({}));
    let app_uuid = Uuid::parse_str(&app.app_id).unwrap();
    emu.vault_grant(app_uuid, &["keys/get", "certificates/get"]);
    let vault_token = emu.block_on(emu.admin.vault_token_for(app_uuid));
    let url = format!("{}/certificates/nosign", emu.vault);
    let r = keyroll(
        &args(
            &[
                "key",
                "list",
                "--object-id",
                &app.id,
                "--tenant-id",
                &app.tenant,
                "--client-id",
                &app.app_id,
                "--auth-cert",
                &url,
                "--vault-access-token-env",
                "KV_TOKEN",
            ],
            &conn,
        ),
        &[("KV_TOKEN", &vault_token)],
    );
    r.fails(2, &["keys/sign", "Key Vault Crypto User"]);
    assert_no_secret(&r, &[&vault_token]);

    // Without a vault token, a vault certificate cannot sign in to the vault itself: the fix is named.
    let r = keyroll(
        &args(
            &[
                "key",
                "list",
                "--object-id",
                &app.id,
                "--tenant-id",
                &app.tenant,
                "--client-id",
                &app.app_id,
                "--auth-cert",
                &url,
            ],
            &conn,
        ),
        &[],
    );
    r.fails(2, &["--managed-identity", "--vault-access-token-env"]);
    // A Graph token is no vault token: the vault's own token is asked for, in this CLI's words.
    let graph_token = emu.token(&app.app_id);
    let r = keyroll(
        &args(
            &[
                "key",
                "list",
                "--object-id",
                &app.id,
                "--access-token-env",
                "GRAPH_TOKEN",
                "--auth-cert",
                &url,
            ],
            &conn,
        ),
        &[("GRAPH_TOKEN", &graph_token)],
    );
    r.fails(2, &["is for Graph", "--vault-access-token-env"]);
    assert_no_secret(&r, &[&graph_token]);
    // A URL that is not a vault certificate is refused as such, not read as a file.
    let r = keyroll(
        &args(
            &[
                "key",
                "list",
                "--object-id",
                &app.id,
                "--auth-cert",
                &format!("{}/keys/nosign", emu.vault),
            ],
            &conn,
        ),
        &[],
    );
    r.fails(2, &["give the certificate's URL"]);
}

#[test]
fn a_plan_rolls_rows_whose_certificates_are_in_the_vault() {
    let emu = emulator(&[]);
    let conn = emu.conn();
    let automation = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let automation_id = Uuid::parse_str(&automation.app_id).unwrap();
    emu.vault_grant(
        automation_id,
        &["keys/get", "keys/sign", "certificates/get"],
    );
    let graph_token = emu.token(&automation.app_id);
    let vault_token = emu.block_on(emu.admin.vault_token_for(automation_id));
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("objectId,cert,newCert,removeOld\n");
    let mut expected = Vec::new();
    for i in 0..2 {
        let name = format!("plan-{i}");
        let old = emu.vault_certificate(&name, json!({}));
        let new = emu.vault_certificate(&name, json!({}));
        let app = emu.create(&[&old.certificate], json!({}));
        csv.push_str(&format!("{},{},{},true\n", app.id, old.id, new.id));
        expected.push((app.id, new.certificate.sha1_hex()));
    }
    let plan = dir.path().join("plan.csv");
    std::fs::write(&plan, csv).unwrap();
    let r = keyroll(
        &args(
            &[
                "roll",
                "--plan",
                plan.to_str().unwrap(),
                "--tenant-id",
                &automation.tenant,
                "--access-token-env",
                "GRAPH_TOKEN",
                "--vault-access-token-env",
                "KV_TOKEN",
            ],
            &conn,
        ),
        &[("GRAPH_TOKEN", &graph_token), ("KV_TOKEN", &vault_token)],
    );
    r.ok();
    assert!(r.stdout().contains("2 succeeded"), "{}", r.text());
    assert_no_secret(&r, &[&graph_token, &vault_token]);
    for (id, thumb) in expected {
        assert_eq!(emu.thumbs(&id), vec![thumb]);
    }
}

#[test]
fn a_rerun_after_the_vault_was_still_issuing_completes_that_version_and_creates_no_other() {
    let emu = emulator(&[]);
    let conn = emu.conn();
    let current = emu.vault_certificate("slow", json!({}));
    let app = emu.create(&[&current.certificate], json!({}));
    let app_uuid = Uuid::parse_str(&app.app_id).unwrap();
    emu.vault_grant(app_uuid, GRANTS);
    let vault_token = emu.block_on(emu.admin.vault_token_for(app_uuid));
    let graph_token = emu.token(&app.app_id);
    let url = format!("{}/certificates/slow", emu.vault);
    let run = || {
        keyroll(
            &args(
                &[
                    "roll",
                    "--object-id",
                    &app.id,
                    "--cert",
                    &url,
                    "--new-cert",
                    &url,
                    "--create-in-vault",
                    "--vault-wait",
                    "1",
                    "--remove-old",
                    "--tenant-id",
                    &app.tenant,
                    "--access-token-env",
                    "GRAPH_TOKEN",
                    "--vault-access-token-env",
                    "KV_TOKEN",
                ],
                &conn,
            ),
            &[("KV_TOKEN", &vault_token), ("GRAPH_TOKEN", &graph_token)],
        )
    };
    // The vault takes longer than keyroll waits: the run stops, nothing was written to the app.
    emu.block_on(emu.admin.vault_settings(json!({"selfIssuePolls": 1000})));
    run().fails(3, &["did not complete within", "run again later"]);
    assert_eq!(emu.thumbs(&app.id), vec![current.certificate.sha1_hex()]);
    // Run again once the vault has issued it: that version is used, no third one is made.
    emu.block_on(emu.admin.vault_settings(json!({"selfIssuePolls": 0})));
    let r = run();
    r.ok();
    assert!(
        r.stderr().contains("completed (an earlier run's)") && !r.stderr().contains(" created"),
        "{}",
        r.stderr()
    );
    let keys = emu.thumbs(&app.id);
    assert_eq!(keys.len(), 1);
    assert_ne!(keys, vec![current.certificate.sha1_hex()]);
}
