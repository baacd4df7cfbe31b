//! The steps of a roll, one function each, in the order [`super::roll`] runs them; step `verify`, with its wait
//! for the new key to sign in, is in `verify.rs`.

use time::OffsetDateTime;
use uuid::Uuid;

use super::RollSpec;
use super::errors::RollRefusal;
use super::report::{RollState, Run, Step, StepReport, StepStatus, summarize};
use crate::graph::{GraphClient, GraphError, ObjectGuard, ObjectKeys, Refusal, Target};
use crate::signer;
use keyroll_proto::credential::{AddKeyRequest, KeyCredential, KeyCredentialBuilder, serde_date};
use keyroll_proto::key_status;
use keyroll_proto::proof::ProofRequest;

/// Whole days, hours and minutes, for a wait people read.
fn human(d: time::Duration) -> String {
    let mins = d.whole_minutes().max(1);
    let (days, hours, mins) = (mins / 1440, mins % 1440 / 60, mins % 60);
    match (days, hours) {
        (0, 0) => format!("{mins} min"),
        (0, _) => format!("{hours} h {mins} min"),
        _ => format!("{days} d {hours} h"),
    }
}

/// The checks that need no read: the two certificates.
fn check_spec(spec: &RollSpec, now: OffsetDateTime) -> Result<(), RollRefusal> {
    let (current, new) = (spec.current.certificate(), spec.new.certificate());
    if current == new {
        return Err(RollRefusal::SameCertificate {
            thumbprint: new.sha1_hex(),
        });
    }
    if new.not_before() > now {
        return Err(RollRefusal::NotYetValid {
            thumbprint: new.sha1_hex(),
            valid_from: serde_date::format(new.not_before()),
            wait: human(new.not_before() - now),
        });
    }
    Ok(())
}

/// The client id the new key is verified as: the object's own appId (a token for another app proves nothing
/// about this object's keys), or the one given when the appId cannot be read.
fn verification_client_id(
    spec: &RollSpec,
    app_id: Option<Uuid>,
) -> Result<Option<String>, RollRefusal> {
    match (&spec.client_id, app_id) {
        (Some(given), Some(app)) if !given.trim().eq_ignore_ascii_case(&app.to_string()) => {
            Err(RollRefusal::ClientIdNotAppId {
                given: given.clone(),
                app_id: app,
            })
        }
        (_, Some(app)) => Ok(Some(app.to_string())),
        (Some(given), None) => Ok(Some(given.trim().to_string())),
        (None, None) if spec.remove_old => Err(RollRefusal::RemoveOldWithoutClientId),
        (None, None) => Ok(None),
    }
}

/// How the steps ended: before anything was written (the report says so already), or after a write, when the
/// final keys are read. The object's write lock is held until then.
pub(super) enum Ended {
    /// Nothing was written.
    Untouched,
    /// The object may have changed: read its final keys.
    Written(Target, ObjectGuard),
}

/// Step `check`: what needs no read.
pub(super) fn check(client: &GraphClient, spec: &RollSpec, run: &mut Run<'_>) -> Result<(), Ended> {
    if let Err(refusal) = check_spec(spec, client.clock().now()) {
        run.refuse(refusal);
        return Err(Ended::Untouched);
    }
    Ok(())
}

/// Part of step `read`, before anything is written: the tenant the new key is verified in — the one given, else
/// the connection's (the tenant it signs in to as an app, or the `tid` of its token: the object lives there).
/// A removal that could not be verified without one is refused here, with the object untouched.
pub(super) async fn tenant(
    client: &GraphClient,
    spec: &RollSpec,
    run: &mut Run<'_>,
) -> Result<Option<String>, Ended> {
    let tenant = match &spec.tenant {
        Some(t) => Some(t.clone()),
        None => client.tokens().tenant().await,
    };
    if spec.remove_old && tenant.is_none() {
        run.refuse(RollRefusal::RemoveOldWithoutTenant);
        return Err(Ended::Untouched);
    }
    Ok(tenant)
}

/// Step `read`: reads the object, holding its write lock until the roll ends (what is decided on this read stays
/// true), and checks that the current certificate is one of its keys and may sign now.
pub(super) async fn read(
    client: &GraphClient,
    spec: &RollSpec,
    run: &mut Run<'_>,
) -> Result<(ObjectKeys, ObjectGuard), Ended> {
    let (before, guard) = match client.resolve_for_write(&spec.target).await {
        Ok(k) => k,
        Err(e) => {
            run.fail(
                Step::Read,
                &e,
                RollState::Unchanged,
                "unchanged: nothing was sent besides reading",
            );
            return Err(Ended::Untouched);
        }
    };
    run.report.object_id = Some(before.id);
    let current_cert = spec.current.certificate();
    let now = client.clock().now();
    let new_cert = spec.new.certificate();
    let new_usable = before.keys.iter().any(|k| {
        k.is_certificate(new_cert)
            && key_status::is_valid_certificate_with(k, Some(new_cert), now, 0)
    });
    if new_usable && !before.keys.iter().any(|k| k.is_certificate(current_cert)) {
        // Done already (a re-run, or a roll finished elsewhere): say so, write nothing.
        run.push(
            Step::Read,
            StepStatus::Done,
            format!(
                "{} key credential(s); the new certificate {} is one of them and the current certificate {} is not",
                before.keys.len(),
                new_cert.sha1_hex(),
                current_cert.sha1_hex()
            ),
        );
        run.report.new_key_id = before
            .keys
            .iter()
            .find(|k| k.is_certificate(new_cert))
            .and_then(|k| k.key_id);
        run.report.final_keys = summarize(&before.keys, now, Some(new_cert));
        run.report.success = true;
        run.set_state(
            RollState::AlreadyRolled,
            "already rolled: the new key is in place and the old key is gone; nothing was written",
        );
        return Err(Ended::Untouched);
    }
    // With the new key in place already (a roll stopped half-way), the current certificate signs nothing: the
    // roll goes on from verify.
    let problem = if new_usable {
        None
    } else {
        current_key_problem(&before, current_cert, now)
    };
    if let Some(refusal) = problem {
        run.fail(
            Step::Read,
            &GraphError::Refused(refusal),
            RollState::Unchanged,
            "unchanged",
        );
        return Err(Ended::Untouched);
    }
    let listed = if before.keys.iter().any(|k| k.is_certificate(current_cert)) {
        "is one of them"
    } else {
        "is not one of them (the new key is)"
    };
    run.push(
        Step::Read,
        StepStatus::Done,
        format!(
            "{} key credential(s); current certificate {} {listed}",
            before.keys.len(),
            current_cert.sha1_hex()
        ),
    );
    Ok((before, guard))
}

/// Why the current certificate cannot sign the addKey proof, if it cannot.
fn current_key_problem(
    before: &ObjectKeys,
    current_cert: &keyroll_proto::cert::Certificate,
    now: OffsetDateTime,
) -> Option<Refusal> {
    let Some(k) = before.keys.iter().find(|k| k.is_certificate(current_cert)) else {
        return Some(Refusal::CurrentNotAKey {
            thumbprint: current_cert.sha1_hex(),
        });
    };
    if key_status::is_valid_certificate_with(k, Some(current_cert), now, 0) {
        return None;
    }
    Some(Refusal::CurrentNotValid {
        thumbprint: current_cert.sha1_hex(),
        valid_from: k.start_date_time.map(serde_date::format),
        valid_to: k.end_date_time.map(serde_date::format),
    })
}

/// Part of step `read`, once the object is known: who the new key is verified as.
pub(super) fn verifier(
    spec: &RollSpec,
    before: &ObjectKeys,
    run: &mut Run<'_>,
) -> Result<Option<String>, Ended> {
    verification_client_id(spec, before.app_id).map_err(|refusal| {
        run.refuse(refusal);
        Ended::Untouched
    })
}

/// Step `add`: adds the new key, or notes that it is there already.
pub(super) async fn add(
    client: &GraphClient,
    target: &Target,
    before: &ObjectKeys,
    spec: &RollSpec,
    run: &mut Run<'_>,
) -> Result<(), ()> {
    let new_cert = spec.new.certificate();
    if let Some(k) = before.keys.iter().find(|k| k.is_certificate(new_cert)) {
        run.report.new_key_id = k.key_id;
        run.push(
            Step::Add,
            StepStatus::Skipped,
            format!(
                "the new certificate {} is already a key (keyId {})",
                new_cert.sha1_hex(),
                k.key_id.map(|i| i.to_string()).unwrap_or_default()
            ),
        );
        return Ok(());
    }
    match add_new_key(client, target, before, spec).await {
        Ok(o) => {
            run.report.new_key_id = o.credential.key_id;
            run.report.warnings.extend(o.warnings.iter().cloned());
            run.push(Step::Add, StepStatus::Done, added_detail(&o, new_cert));
            run.gone.extend(o.duplicates_removed.iter().copied());
            run.added = Some(o.credential);
            Ok(())
        }
        Err(e) => {
            if matches!(e, GraphError::OutcomeUnknown { .. }) {
                run.fail(
                    Step::Add,
                    &e,
                    RollState::Unknown,
                    "unknown: the addKey answer was lost and the keys could not be read afterwards; check the final keys",
                );
            } else {
                run.fail(
                    Step::Add,
                    &e,
                    RollState::Unchanged,
                    "unchanged: the new key was not added (checked)",
                );
            }
            Err(())
        }
    }
}

/// What step `add` did, in words: the key added, and how a lost answer or a retry was resolved.
fn added_detail(
    o: &crate::graph::AddKeyOutcome,
    new_cert: &keyroll_proto::cert::Certificate,
) -> String {
    let mut how = if o.recovered {
        " (the answer was lost; found by reading the keys)".to_string()
    } else {
        String::new()
    };
    if !o.duplicates_removed.is_empty() {
        how.push_str(&format!(
            "; a retry after a lost answer had added it again, and the copy was removed ({})",
            join_ids(&o.duplicates_removed)
        ));
    }
    for w in &o.warnings {
        how.push_str("; ");
        how.push_str(w);
    }
    format!(
        "added {} as keyId {}{how}",
        new_cert.sha1_hex(),
        o.credential
            .key_id
            .map(|i| i.to_string())
            .unwrap_or_default()
    )
}

/// Key ids, comma-separated.
fn join_ids(ids: &[Uuid]) -> String {
    ids.iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Step `remove`: removes the old key(s) when asked, only once the new key was verified.
pub(super) async fn remove(
    client: &GraphClient,
    target: &Target,
    spec: &RollSpec,
    verified: bool,
    guard: &ObjectGuard,
    run: &mut Run<'_>,
) -> Result<(), ()> {
    if !spec.remove_old {
        run.push(
            Step::Remove,
            StepStatus::Skipped,
            "the old key was kept (not asked to remove it)",
        );
        return Ok(());
    }
    if !verified {
        // Not reached: check_spec and verification_client_id refuse a removal that cannot be verified.
        let e = GraphError::Refused(Refusal::RemovalUnverified);
        run.fail(
            Step::Remove,
            &e,
            RollState::Incomplete,
            "the new key was added; the old key was kept",
        );
        return Err(());
    }
    let (ids, failure) = remove_old_keys(client, target, spec, guard, run).await;
    run.gone.extend(ids.iter().copied());
    run.report.removed_key_ids = ids.clone();
    let Some(e) = failure else {
        run.push(
            Step::Remove,
            StepStatus::Done,
            format!("removed {} old key(s): {}", ids.len(), join_ids(&ids)),
        );
        return Ok(());
    };
    let state = if ids.is_empty() {
        "the new key was added and verified; the old key was kept".to_string()
    } else {
        format!(
            "the new key was added and verified; {} old key(s) were removed ({}) before the failure, the rest kept",
            ids.len(),
            join_ids(&ids)
        )
    };
    run.fail(Step::Remove, &e, RollState::Incomplete, state);
    Err(())
}

/// After the last step: the roll succeeded; what the object holds now, in one sentence.
pub(super) fn conclude(spec: &RollSpec, verified: bool, run: &mut Run<'_>) {
    run.report.success = true;
    if spec.remove_old {
        run.set_state(
            RollState::Rolled,
            "rolled: the new key is in place and verified; the old key was removed",
        );
    } else if verified {
        run.set_state(
            RollState::KeptOld,
            "the new key is in place and verified; the old key was kept",
        );
    } else {
        run.set_state(
            RollState::KeptOld,
            "the new key is in place (not verified); the old key was kept",
        );
    }
}

async fn add_new_key(
    client: &GraphClient,
    target: &Target,
    before: &ObjectKeys,
    spec: &RollSpec,
) -> Result<crate::graph::AddKeyOutcome, GraphError> {
    let mut builder = KeyCredentialBuilder::new(spec.new.certificate().clone());
    if let Some(n) = &spec.display_name {
        builder = builder.display_name(n.clone());
    }
    let built = builder.build().map_err(|e| match e {
        keyroll_proto::credential::CredentialError::Invalid(v) => GraphError::Invalid(v),
        other => GraphError::Credential(other),
    })?;
    // Minted right before the call: reads before it may have waited on throttling.
    let proof = signer::mint_proof(
        spec.current.as_ref(),
        &ProofRequest::new(before.id),
        client.clock().now(),
    )
    .await?;
    let request = AddKeyRequest {
        key_credential: built.key_credential,
        password_credential: None,
        proof: proof.into_string(),
    };
    // What building the credential adjusted (a display name shortened to 90 characters) is said with the add,
    // before what the call itself noticed.
    let mut outcome = client
        .add_key_resolved(target, before, &request, spec.new.certificate())
        .await?;
    outcome.warnings.splice(0..0, built.warnings);
    Ok(outcome)
}

async fn remove_old_keys(
    client: &GraphClient,
    target: &Target,
    spec: &RollSpec,
    guard: &ObjectGuard,
    run: &Run<'_>,
) -> (Vec<Uuid>, Option<GraphError>) {
    let object_id = guard.object_id();
    let now = client.clock().now();
    let new_cert = spec.new.certificate();
    let usable_new = |k: &KeyCredential| {
        k.is_certificate(new_cert)
            && key_status::is_valid_certificate_with(k, Some(new_cert), now, 0)
    };
    // Reads lag writes: the new key was added and signed in, but a read may not list it yet. Decide only on a
    // read that lists it (bounded by the replication window); a read that never does keeps the old key.
    let (name, progress) = (run.report.target.as_str(), run.progress);
    let keys = match client
        .read_keys_until(
            target,
            "the new key",
            |k| k.keys.iter().any(usable_new),
            &|read, waited| progress.lagging(name, read, waited),
        )
        .await
    {
        Ok(k) => k,
        Err(e) => return (Vec::new(), Some(e)),
    };
    let (waited, keys) = (keys.waited, keys.keys);
    let old: Vec<Uuid> = keys
        .keys
        .iter()
        .filter(|k| k.is_certificate(spec.current.certificate()))
        .filter_map(|k| k.key_id)
        .collect();
    // The new key listed as valid, and a currently valid certificate left once the old keys are gone.
    let new_listed = keys
        .keys
        .iter()
        .filter(|k| k.key_id.is_some_and(|id| !old.contains(&id)))
        .any(usable_new);
    if !new_listed || !key_status::valid_certificate_remains(&keys.keys, &old, now, 0) {
        return (
            Vec::new(),
            Some(GraphError::Refused(Refusal::NewKeyNotListed { waited })),
        );
    }
    let mut removed = Vec::new();
    for id in old {
        let proof = match signer::mint_proof(
            spec.new.as_ref(),
            &ProofRequest::new(object_id),
            client.clock().now(),
        )
        .await
        {
            Ok(p) => p,
            Err(e) => return (removed, Some(e.into())),
        };
        if let Err(e) = client
            .remove_key_held(target, id, proof.as_str(), false, guard)
            .await
        {
            return (removed, Some(e));
        }
        removed.push(id);
    }
    (removed, None)
}

/// Reads the final keys. A read may lag this roll's own writes: what the roll knows it wrote (the new key added,
/// keys removed) is applied to what was read, and the detail says so, rather than report a stale count.
pub(super) async fn finish(
    client: &GraphClient,
    target: &Target,
    spec: &RollSpec,
    run: &mut Run<'_>,
) {
    match client.read_keys(target).await {
        Ok(k) => {
            let listed = k.keys.len();
            let mut keys = k.keys;
            let mut lag = Vec::new();
            keys.retain(|k| !k.key_id.is_some_and(|id| run.gone.contains(&id)));
            if keys.len() < listed {
                lag.push(format!(
                    "{} key(s) it removed still listed",
                    listed - keys.len()
                ));
            }
            if let Some(added) = &run.added
                && !keys.iter().any(|k| k.key_id == added.key_id)
            {
                keys.push(added.clone());
                lag.push("the key it added not listed yet".to_string());
            }
            run.report.final_keys =
                summarize(&keys, client.clock().now(), Some(spec.new.certificate()));
            let detail = if lag.is_empty() {
                format!("the object holds {} key credential(s)", keys.len())
            } else {
                format!(
                    "the object holds {} key credential(s) after this roll's writes (the read, which lags writes, listed {listed}: {})",
                    keys.len(),
                    lag.join(", ")
                )
            };
            run.push(Step::Final, StepStatus::Done, detail);
        }
        Err(e) => {
            run.report.steps.push(StepReport {
                step: Step::Final,
                status: StepStatus::Failed,
                detail: format!("could not read the final keys: {e}"),
            });
        }
    }
}
