//! PATCH of `keyCredentials` as the service judges it: the collection replaces the object's, an existing key sent
//! back by keyId without bytes is kept as it is, a new key must carry a public certificate, and private key
//! material is refused by the same rules as addKey's.

use keyroll_proto::cert::Certificate;
use keyroll_proto::credential::{
    Issue, KeyCredential, KeyCredentialBuilder, kept_by_key_id, repair_collection,
    validate_key_credentials_update,
};
use keyroll_testkit::fixtures::fixtures;
use time::OffsetDateTime;
use uuid::Uuid;

fn cert(name: &str) -> Certificate {
    Certificate::from_der(&fixtures().read(name)).unwrap()
}

fn stored(name: &str) -> KeyCredential {
    let mut kc = KeyCredentialBuilder::new(cert(name))
        .build()
        .unwrap()
        .key_credential;
    kc.key_id = Some(Uuid::new_v4());
    kc
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

#[test]
fn existing_keys_sent_back_without_bytes_are_kept_and_a_new_one_is_added() {
    let existing = vec![stored("cert.der"), stored("cert.der")];
    let new = KeyCredentialBuilder::new(cert("other_cert.der"))
        .build()
        .unwrap()
        .key_credential;
    let sent = repair_collection(&existing, new);
    assert!(sent[..2].iter().all(|k| k.key.is_none()));
    let fixed = Uuid::new_v4();
    let update = validate_key_credentials_update(&sent, &existing, now(), || fixed).unwrap();
    assert_eq!(update.keys.len(), 3);
    assert_eq!(update.keys[..2], existing[..], "kept exactly as stored");
    assert_eq!(update.added.len(), 1);
    assert_eq!(update.added[0].0, fixed);
    assert_eq!(update.keys[2].key_id, Some(fixed));
    assert_eq!(
        update.keys[2].key.as_deref(),
        Some(cert("other_cert.der").der())
    );
    assert!(update.removed.is_empty());
}

#[test]
fn a_key_left_out_is_removed_and_said() {
    let existing = vec![stored("cert.der"), stored("other_cert.der")];
    let sent = vec![kept_by_key_id(&existing[1])];
    let update = validate_key_credentials_update(&sent, &existing, now(), Uuid::new_v4).unwrap();
    assert_eq!(update.keys, vec![existing[1].clone()]);
    assert_eq!(update.removed, vec![existing[0].key_id.unwrap()]);
}

#[test]
fn a_new_key_without_bytes_is_refused_with_the_services_words() {
    let existing = vec![stored("cert.der")];
    let mut unknown = kept_by_key_id(&existing[0]);
    unknown.key_id = Some(Uuid::new_v4());
    let errs =
        validate_key_credentials_update(&[unknown], &existing, now(), Uuid::new_v4).unwrap_err();
    let first = errs.first().unwrap();
    assert_eq!(first.issue, Issue::KeyMissing);
    assert_eq!(first.graph_code(), "KeyCredentialsInvalidValue");
    assert_eq!(first.graph_message(), "KeyValue cannot be null or empty");
}

#[test]
fn private_key_material_is_refused_as_addkey_refuses_it() {
    for (file, expect_pfx) in [("key.der", false), ("plain.pfx", true)] {
        let mut kc = KeyCredentialBuilder::new(cert("cert.der"))
            .build()
            .unwrap()
            .key_credential;
        kc.key = Some(fixtures().read(file));
        let errs = validate_key_credentials_update(&[kc], &[], now(), Uuid::new_v4).unwrap_err();
        let issue = &errs.first().unwrap().issue;
        if expect_pfx {
            assert_eq!(issue, &Issue::KeyIsPfx, "{file}");
        } else {
            assert!(matches!(issue, Issue::KeyIsPrivate(_)), "{file}: {issue:?}");
        }
        assert!(
            errs.to_string().contains("public certificate")
                || errs.to_string().contains("DER bytes"),
            "{errs}"
        );
    }
}

#[test]
fn the_same_key_id_twice_is_refused() {
    let existing = vec![stored("cert.der")];
    let back = kept_by_key_id(&existing[0]);
    let errs =
        validate_key_credentials_update(&[back.clone(), back], &existing, now(), Uuid::new_v4)
            .unwrap_err();
    assert!(matches!(
        errs.first().unwrap().issue,
        Issue::DuplicateKeyId(_)
    ));
}

#[test]
fn an_empty_collection_removes_every_key() {
    let existing = vec![stored("cert.der")];
    let update = validate_key_credentials_update(&[], &existing, now(), Uuid::new_v4).unwrap();
    assert!(update.keys.is_empty());
    assert_eq!(update.removed.len(), 1);
}
