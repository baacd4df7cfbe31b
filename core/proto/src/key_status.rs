//! One home for three questions about an object's key credentials, at an instant the caller passes in:
//!
//! * what is a key's status ([`status`]: valid, expired or not yet valid, whether it holds a certificate, days
//!   left);
//! * may it sign a proof now ([`may_sign`]: a certificate credential inside its own start and end dates, with the
//!   service's clock tolerance), and is it a currently valid certificate ([`is_valid_certificate`]: the
//!   certificate itself in its validity too);
//! * does a currently valid certificate remain after removing some keys ([`valid_certificate_remains`]): the
//!   service refuses addKey and removeKey for an object without one (only a PATCH of all its keys repairs it),
//!   so no removal may leave an object there (docs/protocol.md §1 on who may sign, §2 on objects without one).
//!
//! The client's guards, the roll, the key listings and the emulator's judgement all ask here, so they cannot
//! disagree about what "valid now" means.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::cert::Certificate;
use crate::credential::{KeyCredential, TYPE_ASYMMETRIC_X509, TYPE_X509_AND_PASSWORD};

/// Seconds of clock difference the service is taken to tolerate on `nbf` / `exp` and on key validity. The
/// emulator judges with it and the client's pre-check uses the same, so the two never disagree.
pub const SERVICE_CLOCK_SKEW_SECS: i64 = 60;

/// Where an instant falls in a key credential's own start and end dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Validity {
    /// Inside its dates (a date not given does not limit it).
    Valid,
    /// Past its end date.
    Expired,
    /// Before its start date.
    NotYetValid,
}

impl Validity {
    /// `valid`, `expired` or `not yet valid`: the words key listings show.
    pub fn as_str(self) -> &'static str {
        match self {
            Validity::Valid => "valid",
            Validity::Expired => "expired",
            Validity::NotYetValid => "not yet valid",
        }
    }
}

impl std::fmt::Display for Validity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// A key credential's status at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyStatus {
    /// Its dates against the instant.
    pub validity: Validity,
    /// Whether it is a certificate credential (the only kind that signs proofs).
    pub certificate: bool,
    /// Whole days until its end date (negative when past); `None` without an end date.
    pub days_left: Option<i64>,
}

/// Whether the credential's type is one of the certificate types.
fn is_certificate_type(k: &KeyCredential) -> bool {
    matches!(
        k.key_type.as_deref(),
        Some(TYPE_ASYMMETRIC_X509) | Some(TYPE_X509_AND_PASSWORD)
    )
}

/// The status of `k` at `now`, exactly (no clock tolerance): what a listing shows.
pub fn status(k: &KeyCredential, now: OffsetDateTime) -> KeyStatus {
    let validity = match (k.start_date_time, k.end_date_time) {
        (_, Some(e)) if e < now => Validity::Expired,
        (Some(s), _) if s > now => Validity::NotYetValid,
        _ => Validity::Valid,
    };
    KeyStatus {
        validity,
        certificate: is_certificate_type(k),
        days_left: k.end_date_time.map(|e| (e - now).whole_days()),
    }
}

/// Whether `k` may sign a proof at `now`: a certificate credential inside its own start and end dates, each
/// widened by `skew_secs` (the service's tolerance is [`SERVICE_CLOCK_SKEW_SECS`]; 0 judges exactly). Whether
/// the certificate itself is valid is [`is_valid_certificate`]'s question (the proof inspector says it apart).
pub fn may_sign(k: &KeyCredential, now: OffsetDateTime, skew_secs: i64) -> bool {
    let skew = time::Duration::seconds(skew_secs.clamp(0, 3600));
    is_certificate_type(k)
        && k.start_date_time.is_none_or(|s| s <= now + skew)
        && k.end_date_time.is_none_or(|e| now - skew <= e)
}

/// Whether `k`, holding `certificate`, is a currently valid certificate: it [`may_sign`] and the certificate is
/// within its own validity at `now`. `certificate` is the one its key holds; a caller whose listing carries no
/// key bytes (the emulator's store) passes the one it looked up. No certificate: not valid.
pub fn is_valid_certificate_with(
    k: &KeyCredential,
    certificate: Option<&Certificate>,
    now: OffsetDateTime,
    skew_secs: i64,
) -> bool {
    may_sign(k, now, skew_secs) && certificate.is_some_and(|c| c.is_valid_at(now))
}

/// [`is_valid_certificate_with`] for the certificate in `k`'s own key bytes.
pub fn is_valid_certificate(k: &KeyCredential, now: OffsetDateTime, skew_secs: i64) -> bool {
    is_valid_certificate_with(k, k.certificate().as_ref(), now, skew_secs)
}

/// Whether a currently valid certificate remains among `keys` once the keys whose ids are in `removed` are gone.
pub fn valid_certificate_remains(
    keys: &[KeyCredential],
    removed: &[Uuid],
    now: OffsetDateTime,
    skew_secs: i64,
) -> bool {
    valid_certificate_remains_with(keys, removed, now, skew_secs, |k| k.certificate())
}

/// [`valid_certificate_remains`] with each key's certificate given by `certificate_of` (for listings without
/// key bytes).
pub fn valid_certificate_remains_with(
    keys: &[KeyCredential],
    removed: &[Uuid],
    now: OffsetDateTime,
    skew_secs: i64,
    certificate_of: impl Fn(&KeyCredential) -> Option<Certificate>,
) -> bool {
    keys.iter()
        .filter(|k| !k.key_id.is_some_and(|id| removed.contains(&id)))
        .any(|k| is_valid_certificate_with(k, certificate_of(k).as_ref(), now, skew_secs))
}

/// The warning for a removal forced past the last-valid-certificate check: `Some` when removing `removed` from
/// `keys` leaves no currently valid certificate (the removal was allowed, so it is said, not refused). `object`
/// names the object as the host shows it.
pub fn forced_last_valid_removal(
    keys: &[KeyCredential],
    removed: Uuid,
    now: OffsetDateTime,
    object: &str,
) -> Option<String> {
    let present = keys.iter().any(|k| k.key_id == Some(removed));
    (present && !valid_certificate_remains(keys, &[removed], now, 0)).then(|| {
        format!(
            "key {removed} was the last currently valid certificate of the {object}: it can no longer sign in with a \
             certificate nor sign the proof addKey needs; add a certificate by repair (a PATCH of keyCredentials)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::seconds(secs)
    }

    fn key(id: u128, key_type: &str, start: Option<i64>, end: Option<i64>) -> KeyCredential {
        KeyCredential {
            key_id: Some(Uuid::from_u128(id)),
            key_type: Some(key_type.into()),
            start_date_time: start.map(at),
            end_date_time: end.map(at),
            ..KeyCredential::default()
        }
    }

    #[test]
    fn status_by_dates_with_days_left() {
        let day = 86_400;
        let k = key(1, TYPE_ASYMMETRIC_X509, Some(0), Some(10 * day));
        let s = status(&k, at(day));
        assert_eq!(s.validity, Validity::Valid);
        assert!(s.certificate);
        assert_eq!(s.days_left, Some(9));
        assert_eq!(status(&k, at(11 * day)).validity, Validity::Expired);
        assert_eq!(status(&k, at(11 * day)).days_left, Some(-1));
        assert_eq!(status(&k, at(-1)).validity, Validity::NotYetValid);
        assert_eq!(Validity::NotYetValid.to_string(), "not yet valid");
        let secret = key(2, "Symmetric", None, None);
        assert!(!status(&secret, at(0)).certificate);
        assert_eq!(status(&secret, at(0)).days_left, None);
    }

    #[test]
    fn may_sign_needs_a_certificate_type_inside_its_dates_with_tolerance() {
        let k = key(1, TYPE_ASYMMETRIC_X509, Some(100), Some(200));
        assert!(may_sign(&k, at(150), 0));
        assert!(!may_sign(&k, at(99), 0));
        assert!(may_sign(&k, at(99), SERVICE_CLOCK_SKEW_SECS));
        assert!(!may_sign(&k, at(201), 0));
        assert!(may_sign(&k, at(201), SERVICE_CLOCK_SKEW_SECS));
        assert!(!may_sign(&k, at(300), SERVICE_CLOCK_SKEW_SECS));
        assert!(may_sign(
            &key(2, TYPE_X509_AND_PASSWORD, None, None),
            at(0),
            0
        ));
        assert!(!may_sign(&key(3, "Symmetric", None, None), at(0), 0));
    }

    #[test]
    fn without_a_certificate_no_key_is_a_valid_certificate() {
        // Key bytes absent (a listing) and none looked up: nothing can be judged valid.
        let keys = [key(1, TYPE_ASYMMETRIC_X509, None, None)];
        assert!(!is_valid_certificate(&keys[0], at(0), 0));
        assert!(!valid_certificate_remains(&keys, &[], at(0), 0));
    }

    #[test]
    fn a_forced_removal_warns_only_when_it_leaves_no_valid_certificate() {
        // Keys without certificate bytes are never valid certificates: one key, whatever it is, is the last.
        let keys = [key(1, TYPE_ASYMMETRIC_X509, Some(0), Some(100))];
        let w = forced_last_valid_removal(&keys, Uuid::from_u128(1), at(50), "application x");
        assert!(
            w.as_deref()
                .is_some_and(|w| w.contains("last currently valid certificate")
                    && w.contains("application x")),
            "{w:?}"
        );
        // A key the object does not have removes nothing, and warns of nothing.
        assert!(
            forced_last_valid_removal(&keys, Uuid::from_u128(2), at(50), "application x").is_none()
        );
    }

    #[test]
    fn a_valid_certificate_remains_only_outside_the_removed_keys() {
        let cert = Certificate::from_der(&keyroll_testkit::fixtures::fixtures().read("cert.der"))
            .expect("the fixture certificate parses");
        let now = cert.not_before() + Duration::days(1);
        let keys = [
            key(1, TYPE_ASYMMETRIC_X509, None, None),
            key(2, TYPE_ASYMMETRIC_X509, None, None),
            key(3, "Symmetric", None, None),
        ];
        let all = |_: &KeyCredential| Some(cert.clone());
        let (one, two, three) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        assert!(valid_certificate_remains_with(&keys, &[one], now, 0, all));
        assert!(!valid_certificate_remains_with(
            &keys,
            &[one, two],
            now,
            0,
            all
        ));
        // A symmetric key never counts, whatever it holds.
        assert!(!valid_certificate_remains_with(
            &keys,
            &[one, two, three],
            now,
            0,
            all
        ));
        // An expired certificate does not count either.
        let later = cert.not_after() + Duration::days(1);
        assert!(!valid_certificate_remains_with(&keys, &[], later, 0, all));
    }
}
