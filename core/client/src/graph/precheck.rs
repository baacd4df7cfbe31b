//! The proof checked locally, with the service's own rules, before it is sent: a bad proof is never sent, and a
//! 401 from the service is explained with the causes found.

use keyroll_proto::cert::Certificate;
use keyroll_proto::credential::KeyCredential;
use keyroll_proto::inspect::{self, Finding, FindingCode, InspectOptions, Severity};
use keyroll_proto::key_status;

use super::{GraphClient, GraphError, ObjectKeys, ServiceError};

impl GraphClient {
    /// Every reason the service would reject `proof` for this object, judged against its current keys with the
    /// service's clock tolerance: the causes in words, empty when the proof checks out.
    pub(super) fn proof_problems(&self, proof: &str, current: &ObjectKeys) -> Vec<Finding> {
        let now = self.clock.now();
        let pairs: Vec<(&KeyCredential, Certificate)> = current
            .keys
            .iter()
            .filter_map(|k| k.certificate().map(|c| (k, c)))
            .collect();
        let certs: Vec<Certificate> = pairs.iter().map(|(_, c)| c.clone()).collect();
        let report = inspect::inspect(
            proof,
            &InspectOptions {
                certificates: &certs,
                expected_object_id: Some(current.id),
                app_id: current.app_id,
                expected_audience: None,
                now,
                clock_skew_secs: key_status::SERVICE_CLOCK_SKEW_SECS,
            },
        );
        let mut problems: Vec<Finding> = report.errors().cloned().collect();
        // The certificate may be valid while the key credential holding it is not (its own end date passed).
        if let Some(i) = report.signer
            && let Some((k, c)) = pairs.get(i)
            && !pairs.iter().any(|(k2, c2)| {
                c2 == c && key_status::may_sign(k2, now, key_status::SERVICE_CLOCK_SKEW_SECS)
            })
        {
            problems.push(Finding {
                severity: Severity::Error,
                code: FindingCode::SignerValidity,
                message: format!(
                "the key credential {} holding the signing certificate {} is not valid now (from {} to {}); sign with a current key of the object",
                k.key_id.map(|i| i.to_string()).unwrap_or_default(),
                c.sha1_hex(),
                k.start_date_time.map(keyroll_proto::credential::serde_date::format).unwrap_or_else(|| "-".into()),
                k.end_date_time.map(keyroll_proto::credential::serde_date::format).unwrap_or_else(|| "-".into()),
                ),
            });
        }
        problems
    }

    pub(super) fn precheck_proof(
        &self,
        proof: &str,
        current: &ObjectKeys,
    ) -> Result<(), GraphError> {
        let problems = self.proof_problems(proof, current);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(GraphError::ProofRejected(problems))
        }
    }

    pub(super) fn explain_401(
        &self,
        mut s: ServiceError,
        proof: &str,
        current: &ObjectKeys,
    ) -> ServiceError {
        let causes = self.proof_problems(proof, current);
        s.hint = Some(if causes.is_empty() && self.is_delegated() {
            format!(
                "the proof checks out locally; the key that signed it may have been removed or not yet replicated. Signed in as a user: {}",
                super::error::DELEGATED_PROOF_NOTE
            )
        } else if causes.is_empty() {
            "the proof checks out locally; the key that signed it may have been removed or not yet replicated, or the token lacks permission to change this object".into()
        } else {
            causes
                .iter()
                .map(|f| f.message.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        });
        s
    }
}
