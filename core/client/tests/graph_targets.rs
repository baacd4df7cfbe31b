//! The Graph client end to end against the emulator over HTTPS: every addressing form (application and
//! service principal, by object id, appId and displayName) on v1.0 and beta. After each run the object's key
//! set is read back through the emulator's admin API: nothing lost, nothing duplicated.

use keyroll_client::cloud::ApiVersion;
use keyroll_client::graph::{ObjectRef, Target, TargetKind};
use keyroll_proto::b64;
use keyroll_proto::proof::{self, ProofRequest};
use serde_json::json;
use time::OffsetDateTime;

// The shared fixtures and the emulator harness (certificates, an emulator with its admin client, clients of
// every kind): keyroll-testkit.
use keyroll_testkit::case;
use keyroll_testkit::emulator::*;

// ---------------------------------------------------------------------------------------------------------
// Every addressing form, on v1.0 and beta.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_target_form_on_v1_and_beta() {
    let h = start().await;
    let c = certs();
    let (cur, new) = (&c.valid[0], &c.valid[1]);
    let cur_id = ident(cur);
    let admin = h
        .create(&[], json!({"roles": ["Application.ReadWrite.All"]}))
        .await;
    for version in [ApiVersion::V1, ApiVersion::Beta] {
        let _case = case(format!("version={version:?}"));
        // Application by object id and by appId, authenticated as itself.
        let app = h.create(&[&cur.certificate], json!({})).await;
        let client = h.token_client(app.app_id, version).await;
        for object in [ObjectRef::Id(app.id), ObjectRef::AppId(app.app_id)] {
            let _case = case(format!("object={object:?}"));
            let target = Target {
                kind: TargetKind::Application,
                object,
            };
            let out = add(&client, &target, app.id, &cur_id, &new.certificate)
                .await
                .unwrap_or_else(|e| panic!("{version:?} {target}: {e}"));
            assert!(!out.recovered);
            assert_eq!(out.attempts, 1);
            assert_eq!(
                h.thumbprints(app.id).await,
                sorted(vec![cur.certificate.sha1_hex(), new.certificate.sha1_hex()])
            );
            let p = proof::mint(
                &cur_id,
                &ProofRequest::new(app.id),
                OffsetDateTime::now_utc(),
            )
            .unwrap();
            client
                .remove_key(&target, out.credential.key_id.unwrap(), p.as_str(), false)
                .await
                .unwrap_or_else(|e| panic!("{version:?} {target}: {e}"));
            assert_eq!(
                h.thumbprints(app.id).await,
                vec![cur.certificate.sha1_hex()]
            );
            let keys = client.read_keys(&target).await.unwrap();
            assert_eq!((keys.id, keys.app_id), (app.id, Some(app.app_id)));
        }

        // Service principal, by an identity holding Application.ReadWrite.All.
        let sp_app = h
            .create(
                &[],
                json!({"servicePrincipalCertificates": [b64::encode_std(cur.certificate.der())]}),
            )
            .await;
        let client = h.token_client(admin.app_id, version).await;
        let target = Target {
            kind: TargetKind::ServicePrincipal,
            object: ObjectRef::Id(sp_app.sp_id),
        };
        let out = add(&client, &target, sp_app.sp_id, &cur_id, &new.certificate)
            .await
            .unwrap_or_else(|e| panic!("{version:?} {target}: {e}"));
        assert_eq!(
            h.thumbprints(sp_app.sp_id).await,
            sorted(vec![cur.certificate.sha1_hex(), new.certificate.sha1_hex()])
        );
        assert!(h.thumbprints(sp_app.id).await.is_empty());
        let p = proof::mint(
            &cur_id,
            &ProofRequest::new(sp_app.sp_id),
            OffsetDateTime::now_utc(),
        )
        .unwrap();
        client
            .remove_key(&target, out.credential.key_id.unwrap(), p.as_str(), false)
            .await
            .unwrap();
        assert_eq!(
            h.thumbprints(sp_app.sp_id).await,
            vec![cur.certificate.sha1_hex()]
        );

        // Agent identity blueprint, through its type cast, authenticated as itself.
        let bp = h
            .create(
                &[&cur.certificate],
                json!({"kind": "agentIdentityBlueprint"}),
            )
            .await;
        let client = h.token_client(bp.app_id, version).await;
        let target = Target {
            kind: TargetKind::AgentIdentityBlueprint,
            object: ObjectRef::Id(bp.id),
        };
        add(&client, &target, bp.id, &cur_id, &new.certificate)
            .await
            .unwrap_or_else(|e| panic!("{version:?} {target}: {e}"));
        assert_eq!(
            h.thumbprints(bp.id).await,
            sorted(vec![cur.certificate.sha1_hex(), new.certificate.sha1_hex()])
        );
        // The cast on a plain application names nothing: a clear 404.
        let plain = h.create(&[&cur.certificate], json!({})).await;
        let client = h.token_client(plain.app_id, version).await;
        let e = add(
            &client,
            &Target {
                kind: TargetKind::AgentIdentityBlueprint,
                object: ObjectRef::Id(plain.id),
            },
            plain.id,
            &cur_id,
            &new.certificate,
        )
        .await
        .unwrap_err();
        assert_eq!(e.service().map(|s| s.status), Some(404), "{e}");
        assert_eq!(
            h.thumbprints(plain.id).await,
            vec![cur.certificate.sha1_hex()]
        );
    }
    h.emu.shutdown().await;
}
