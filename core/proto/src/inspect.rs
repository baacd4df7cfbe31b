//! The proof inspector: every reason the service would reject a proof, in words.
//!
//! The service answers every bad proof with the same bare `401 Authentication_MissingOrMalformed`. This module
//! checks each rule of docs/docs/protocol.md §1 separately and reports all that fail, with the values involved and the
//! fix. The emulator judges proofs with this very function, so the client's local check and the emulator can
//! never disagree about a rule.

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::cert::{Certificate, Validity};
use crate::credential::serde_date;
use crate::jwt::{self, NumericDate};
use crate::proof::{GRAPH_AUDIENCE, MAX_LIFETIME_SECS, MICROSOFT_GRAPH_APP_ID};

pub use crate::key_status::SERVICE_CLOCK_SKEW_SECS;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For information; changes nothing.
    Info,
    /// Accepted, but worth fixing.
    Warning,
    /// The service rejects the proof.
    Error,
}

/// What a finding is about: a stable code for scripts and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FindingCode {
    /// Not a compact JWS at all.
    Malformed,
    /// `=` padding in a segment.
    Padding,
    /// `alg` is not RS256.
    Algorithm,
    /// `typ` is not JWT.
    Type,
    /// Neither `kid` nor `x5t` in the header.
    MissingThumbprint,
    /// `x5t` does not name the certificate.
    X5tMismatch,
    /// `kid` does not name the certificate.
    KidMismatch,
    /// `aud` absent.
    AudienceMissing,
    /// `aud` is Microsoft Graph's app id (00000003-…), a documented confusion.
    AudienceGraphAppId,
    /// `aud` is something else.
    AudienceWrong,
    /// `iss` absent.
    IssuerMissing,
    /// `iss` is not a GUID.
    IssuerNotGuid,
    /// `iss` is the application's appId (client id) instead of its object id.
    IssuerIsAppId,
    /// `iss` is some other id.
    IssuerMismatch,
    /// `iss` could not be compared: no expected object id was given.
    IssuerUnchecked,
    /// A time claim absent or not a NumericDate.
    TimeClaim,
    /// `exp - nbf` over 600 s, or not positive.
    Lifetime,
    /// `now < nbf`.
    NotYetValid,
    /// `now > exp`.
    Expired,
    /// The signature does not verify with the certificate(s).
    Signature,
    /// No certificate was given, so the signature was not checked.
    SignatureUnchecked,
    /// The signing certificate is expired or not yet valid.
    SignerValidity,
    /// The signing certificate's key is too weak.
    SignerKey,
}

/// One observation about a proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// What it is about.
    pub code: FindingCode,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// The result of inspecting a proof.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The decoded header, when the token could be decoded.
    pub header: Option<Value>,
    /// The decoded claims, when the token could be decoded.
    pub claims: Option<Value>,
    /// Everything found, errors first.
    pub findings: Vec<Finding>,
    /// Index (into the certificates given) of the certificate whose key made the signature.
    pub signer: Option<usize>,
    /// SHA-1 thumbprint of that certificate.
    pub signer_thumbprint: Option<String>,
}

impl Report {
    /// Whether the service would accept the proof (no error-level finding).
    pub fn accepted(&self) -> bool {
        !self.findings.iter().any(|f| f.severity == Severity::Error)
    }
    /// The error-level findings.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }
    /// The first error, if any: what a one-line diagnostic should say.
    pub fn first_error(&self) -> Option<&Finding> {
        self.errors().next()
    }
}

/// What to check a proof against.
#[derive(Debug, Clone)]
pub struct InspectOptions<'a> {
    /// Certificates that may have signed it (the user's one certificate, or all of a target's keys).
    pub certificates: &'a [Certificate],
    /// The object id the proof is for; compared with `iss`.
    pub expected_object_id: Option<Uuid>,
    /// The object's appId (client id), when known: lets the inspector say exactly "you used the appId".
    pub app_id: Option<Uuid>,
    /// The expected audience; [`GRAPH_AUDIENCE`] when `None`.
    pub expected_audience: Option<&'a str>,
    /// The time to judge at.
    pub now: OffsetDateTime,
    /// Seconds of clock difference tolerated, both ways, on `nbf`, `exp` and the signer's validity.
    /// [`SERVICE_CLOCK_SKEW_SECS`] everywhere a verdict should match the service's (the emulator, the client's
    /// pre-check, `keyroll proof inspect`); 0 only for a deliberately strict check.
    pub clock_skew_secs: i64,
}

impl<'a> InspectOptions<'a> {
    /// Options that check only what needs no context, at `now`, with the service's clock tolerance.
    pub fn new(now: OffsetDateTime) -> Self {
        InspectOptions {
            certificates: &[],
            expected_object_id: None,
            app_id: None,
            expected_audience: None,
            now,
            clock_skew_secs: SERVICE_CLOCK_SKEW_SECS,
        }
    }
}

fn fmt_time(t: i64) -> String {
    OffsetDateTime::from_unix_timestamp(t)
        .map(serde_date::format)
        .unwrap_or_else(|_| t.to_string())
}

struct Collector(Vec<Finding>);

impl Collector {
    fn add(&mut self, severity: Severity, code: FindingCode, message: impl Into<String>) {
        self.0.push(Finding {
            severity,
            code,
            message: message.into(),
        });
    }
    fn error(&mut self, code: FindingCode, message: impl Into<String>) {
        self.add(Severity::Error, code, message);
    }
    fn warn(&mut self, code: FindingCode, message: impl Into<String>) {
        self.add(Severity::Warning, code, message);
    }
    fn info(&mut self, code: FindingCode, message: impl Into<String>) {
        self.add(Severity::Info, code, message);
    }
}

/// Inspects `token` and reports every reason the service would reject it.
pub fn inspect(token: &str, options: &InspectOptions<'_>) -> Report {
    let mut out = Collector(Vec::new());
    let jws = match jwt::parse(token) {
        Ok(j) => j,
        Err(e) => {
            out.error(FindingCode::Malformed, format!("not a proof: {e}"));
            return Report {
                header: None,
                claims: None,
                findings: out.0,
                signer: None,
                signer_thumbprint: None,
            };
        }
    };
    if jws.padded {
        out.error(
            FindingCode::Padding,
            "a segment ends in '=' padding; JWT segments are base64url *without* padding and the service rejects padded proofs — strip the '=' (TrimEnd('=') in .NET) before joining",
        );
    }

    let str_field = |map: &serde_json::Map<String, Value>, k: &str| -> Option<String> {
        map.get(k).and_then(Value::as_str).map(str::to_owned)
    };

    // Header
    let alg = str_field(&jws.header, "alg");
    let alg_ok = alg.as_deref() == Some("RS256");
    match alg.as_deref() {
        Some("RS256") => {}
        Some("PS256") => out.error(
            FindingCode::Algorithm,
            "alg is PS256; proofs must be RS256 (RSASSA-PKCS1-v1_5 + SHA-256) — PS256 is not documented for proofs",
        ),
        Some(other) => out.error(
            FindingCode::Algorithm,
            format!("alg is {other:?}; proofs must be signed RS256 with the certificate's RSA key"),
        ),
        None => out.error(FindingCode::Algorithm, "the header has no alg; it must be RS256"),
    }
    if let Some(typ) = str_field(&jws.header, "typ")
        && !typ.eq_ignore_ascii_case("JWT")
    {
        out.warn(
            FindingCode::Type,
            format!("typ is {typ:?}; Microsoft's sample sends \"JWT\""),
        );
    }
    let x5t = str_field(&jws.header, "x5t");
    let kid = str_field(&jws.header, "kid");
    if x5t.is_none() && kid.is_none() {
        out.warn(
            FindingCode::MissingThumbprint,
            "the header names no certificate (no x5t or kid); Microsoft's sample sends both, x5t = base64url SHA-1 thumbprint and kid = hex thumbprint",
        );
    }

    // Claims
    check_audience(&jws.claims, options, &mut out);
    check_issuer(&jws.claims, options, &mut out);
    check_times(&jws.claims, options, &mut out);

    // Signature and signer
    let (signer, signer_thumbprint) = check_signature(&jws, alg_ok, x5t, kid, options, &mut out);

    let mut findings = out.0;
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    Report {
        header: Some(Value::Object(jws.header.clone())),
        claims: Some(Value::Object(jws.claims.clone())),
        findings,
        signer,
        signer_thumbprint,
    }
}

fn check_audience(
    claims: &serde_json::Map<String, Value>,
    options: &InspectOptions<'_>,
    out: &mut Collector,
) {
    let expected = options.expected_audience.unwrap_or(GRAPH_AUDIENCE);
    match claims.get("aud") {
        None | Some(Value::Null) => out.error(
            FindingCode::AudienceMissing,
            format!("the claims have no aud; it must be {expected}"),
        ),
        Some(Value::String(a)) if a == expected => {}
        Some(Value::String(a)) if a.eq_ignore_ascii_case(MICROSOFT_GRAPH_APP_ID) => out.error(
            FindingCode::AudienceGraphAppId,
            format!(
                "aud is {a} (Microsoft Graph's app id, which the docs briefly showed in 2023); the service expects {expected}"
            ),
        ),
        Some(Value::String(a)) if a.starts_with("https://graph.") => out.error(
            FindingCode::AudienceWrong,
            format!("aud is the Graph URL {a:?}; a proof's audience is {expected}, not a URL"),
        ),
        Some(Value::String(a)) => out.error(
            FindingCode::AudienceWrong,
            format!("aud is {a:?}; it must be {expected}"),
        ),
        Some(Value::Array(items)) if items.iter().any(|v| v.as_str() == Some(expected)) => out.warn(
            FindingCode::AudienceWrong,
            format!("aud is an array; send the single string {expected}"),
        ),
        Some(other) => out.error(
            FindingCode::AudienceWrong,
            format!("aud is {other}; it must be the string {expected}"),
        ),
    }
}

fn check_issuer(
    claims: &serde_json::Map<String, Value>,
    options: &InspectOptions<'_>,
    out: &mut Collector,
) {
    let iss = match claims.get("iss") {
        None | Some(Value::Null) => {
            out.error(
                FindingCode::IssuerMissing,
                "the claims have no iss; it must be the object id of the application (or service principal) whose key is being changed",
            );
            return;
        }
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            out.error(
                FindingCode::IssuerNotGuid,
                format!("iss is {other}; it must be the object id as a string"),
            );
            return;
        }
    };
    let Ok(iss_id) = Uuid::parse_str(&iss) else {
        out.error(
            FindingCode::IssuerNotGuid,
            format!("iss is {iss:?}, not a GUID; it must be the object id of the application (the 'Object ID', not a name or URL)"),
        );
        return;
    };
    match (options.expected_object_id, options.app_id) {
        (Some(expected), _) if expected == iss_id => {}
        (Some(expected), Some(app_id)) if app_id == iss_id => out.error(
            FindingCode::IssuerIsAppId,
            format!("iss is {iss}, the application's appId (client id); it must be its object id {expected}"),
        ),
        (Some(expected), _) => out.error(
            FindingCode::IssuerMismatch,
            format!("iss is {iss} but the target's object id is {expected}; if {iss} is the appId (client id), use the object id instead — the two are easy to confuse"),
        ),
        (None, _) => out.info(
            FindingCode::IssuerUnchecked,
            format!("iss {iss} was not compared with the target; give the object id to check it (a common mistake is to use the appId)"),
        ),
    }
}

fn check_times(
    claims: &serde_json::Map<String, Value>,
    options: &InspectOptions<'_>,
    out: &mut Collector,
) {
    let now = options.now.unix_timestamp();
    let skew = options.clock_skew_secs.max(0);
    let mut read = |name: &str, required: bool| -> Option<i64> {
        match NumericDate::read(claims, name) {
            NumericDate::Integer(v) => Some(v),
            NumericDate::Fractional(v) => {
                out.warn(
                    FindingCode::TimeClaim,
                    format!("{name} has a fraction; NumericDate values should be whole seconds"),
                );
                Some(v)
            }
            NumericDate::NumericString(v) => {
                out.error(
                    FindingCode::TimeClaim,
                    format!(
                        "{name} is a string ({v:?}); it must be a JSON number of seconds since 1970"
                    ),
                );
                None
            }
            NumericDate::Invalid => {
                out.error(
                    FindingCode::TimeClaim,
                    format!("{name} is not a NumericDate; it must be a JSON number of seconds since 1970"),
                );
                None
            }
            NumericDate::Missing if required => {
                out.error(
                    FindingCode::TimeClaim,
                    format!("the claims have no {name}; proofs carry nbf and exp (and iat)"),
                );
                None
            }
            NumericDate::Missing => {
                out.warn(
                    FindingCode::TimeClaim,
                    format!("the claims have no {name}; Microsoft's sample sends it"),
                );
                None
            }
        }
    };
    let nbf = read("nbf", true);
    let exp = read("exp", true);
    let _iat = read("iat", false);
    if let (Some(nbf), Some(exp)) = (nbf, exp) {
        let life = exp.saturating_sub(nbf);
        if life > MAX_LIFETIME_SECS {
            out.error(
                FindingCode::Lifetime,
                format!("the proof lives {life} s (exp - nbf); the service allows at most {MAX_LIFETIME_SECS} s"),
            );
        } else if life <= 0 {
            out.error(
                FindingCode::Lifetime,
                format!(
                    "exp ({}) is not after nbf ({})",
                    fmt_time(exp),
                    fmt_time(nbf)
                ),
            );
        }
    }
    if let Some(nbf) = nbf
        && now.saturating_add(skew) < nbf
    {
        out.error(
                FindingCode::NotYetValid,
                format!(
                    "the proof is not valid yet: nbf is {} and it is now {} ({} s early); check this machine's clock",
                    fmt_time(nbf),
                    fmt_time(now),
                    nbf.saturating_sub(now)
                ),
            );
    }
    if let Some(exp) = exp
        && now.saturating_sub(skew) > exp
    {
        out.error(
                FindingCode::Expired,
                format!(
                    "the proof expired at {}, {} s ago (checked at {}); mint a fresh one right before the call",
                    fmt_time(exp),
                    now.saturating_sub(exp),
                    fmt_time(now)
                ),
            );
    }
}

/// The certificates the header names, as a short text for messages: its x5t as a thumbprint when it decodes.
fn named_in_header(x5t: Option<&str>, kid: Option<&str>) -> String {
    match (x5t, kid) {
        (Some(x), _) => match crate::b64::decode_jose_segment(x) {
            Ok(bytes) if bytes.len() == 20 => {
                format!("x5t {x:?} (certificate {})", hex::encode_upper(bytes))
            }
            _ => format!("x5t {x:?}"),
        },
        (None, Some(k)) => format!("kid {k:?}"),
        (None, None) => String::new(),
    }
}

/// Reports a header that names none of the certificates: x5t first (what the service looks keys up by), then
/// a kid that disagrees with the certificate x5t names.
fn header_mismatch(
    certs: &[Certificate],
    x5t: Option<&str>,
    kid: Option<&str>,
    x5t_names: &dyn Fn(&Certificate) -> bool,
    out: &mut Collector,
) {
    let by_x5t = x5t.and_then(|_| certs.iter().find(|c| x5t_names(c)));
    match (certs, x5t, by_x5t, kid) {
        // x5t names one of them, kid another (or none).
        (_, Some(_), Some(cert), Some(k)) => out.error(
            FindingCode::KidMismatch,
            format!(
                "kid is {k:?} but x5t names the certificate {} (thumbprint {}); the header must name the signing certificate in both",
                cert.subject(),
                cert.sha1_hex()
            ),
        ),
        ([cert], Some(x), _, _) => out.error(
            FindingCode::X5tMismatch,
            format!(
                "x5t is {x:?} but the certificate's SHA-1 thumbprint is {} (x5t {}); the header must name the signing certificate",
                cert.sha1_hex(),
                cert.x5t()
            ),
        ),
        ([cert], None, _, Some(k)) => out.error(
            FindingCode::KidMismatch,
            format!(
                "kid is {k:?} but the certificate's thumbprint is {}; the header must name the signing certificate",
                cert.sha1_hex()
            ),
        ),
        (many, x, _, k) => {
            const SHOWN: usize = 4;
            let mut list: Vec<String> = many.iter().take(SHOWN).map(Certificate::sha1_hex).collect();
            if many.len() > SHOWN {
                list.push(format!("and {} more", many.len() - SHOWN));
            }
            out.error(
                if x.is_some() {
                    FindingCode::X5tMismatch
                } else {
                    FindingCode::KidMismatch
                },
                format!(
                    "the header's {} names none of the object's {} certificate(s) checked ({}): the object does not hold that certificate, or holds it expired or not yet valid (such keys cannot sign); sign with a current certificate of the object and name that one in x5t and kid",
                    named_in_header(x, k),
                    many.len(),
                    list.join(", ")
                ),
            )
        }
    }
}

/// Checks the signature and finds the signer.
///
/// The header chooses the signer: `x5t` / `kid` name the certificate, and only then is the signature checked
/// with that certificate's key. Taking "the first certificate whose key verifies" instead goes wrong when an
/// object holds a certificate and its renewal with the same key pair (ADCS "renew with same key", many ACME
/// set-ups): both keys verify, the first one wins, and the header naming the renewal then looks wrong.
fn check_signature(
    jws: &jwt::CompactJws<'_>,
    alg_ok: bool,
    x5t: Option<String>,
    kid: Option<String>,
    options: &InspectOptions<'_>,
    out: &mut Collector,
) -> (Option<usize>, Option<String>) {
    let certs = options.certificates;
    if certs.is_empty() {
        out.info(
            FindingCode::SignatureUnchecked,
            "the signature was not checked: give the certificate that should have signed it",
        );
        return (None, None);
    }
    let x5t = x5t.as_deref().map(|x| x.trim_end_matches('='));
    let kid = kid.as_deref();
    let x5t_names = |c: &Certificate| x5t.is_none_or(|x| x == c.x5t());
    let kid_names = |c: &Certificate| kid.is_none_or(|k| k.eq_ignore_ascii_case(&c.sha1_hex()));
    let header_names_one = x5t.is_some() || kid.is_some();
    // The certificate the header names (both x5t and kid, when both are given).
    let named = if header_names_one {
        certs.iter().position(|c| x5t_names(c) && kid_names(c))
    } else {
        None
    };
    let verifies =
        |c: &Certificate| jwt::verify_rs256(c, jws.signing_input.as_bytes(), &jws.signature);

    if header_names_one && named.is_none() {
        header_mismatch(certs, x5t, kid, &x5t_names, out);
    }
    if !alg_ok {
        // The service refuses anything but RS256; a signature in another algorithm is not worth checking.
        return (None, None);
    }
    let signer = match named {
        Some(i) if verifies(&certs[i]) => Some(i),
        // The named certificate's key did not sign: find out whose did, to say so.
        Some(i) => {
            let other = certs.iter().position(|c| c != &certs[i] && verifies(c));
            match other {
                Some(j) => {
                    let (code, field) = if x5t.is_some() {
                        (FindingCode::X5tMismatch, "x5t")
                    } else {
                        (FindingCode::KidMismatch, "kid")
                    };
                    out.error(
                        code,
                        format!(
                            "the header's {field} names certificate {} but the proof was signed with the key of certificate {} (x5t {}); the header must name the signing certificate",
                            certs[i].sha1_hex(),
                            certs[j].sha1_hex(),
                            certs[j].x5t()
                        ),
                    );
                }
                None => out.error(
                    FindingCode::Signature,
                    format!(
                        "the signature does not verify with the certificate {} ({}) that the header names; the proof was signed with another key, or altered",
                        certs[i].sha1_hex(),
                        certs[i].subject()
                    ),
                ),
            }
            other
        }
        // The header names none of the certificates (already reported, and first) or none at all: any key that
        // verifies; when none does, that is said too.
        None => {
            let found = certs.iter().position(verifies);
            if found.is_none() {
                let msg = match certs {
                    [cert] => format!(
                        "the signature does not verify with the certificate {} ({}); the proof was signed with another key, or altered",
                        cert.sha1_hex(),
                        cert.subject()
                    ),
                    many => format!(
                        "the signature does not verify with any of the object's {} certificate(s); sign with the private key of one of its current certificates",
                        many.len()
                    ),
                };
                out.error(FindingCode::Signature, msg);
            }
            found
        }
    };
    let Some(index) = signer else {
        return (None, None);
    };
    let cert = &certs[index];
    // The certificate's validity gets the same clock tolerance as nbf / exp, both ways, and as the key
    // credential's own dates (`key_status::may_sign`): one tolerance for every time the service compares.
    let skew = time::Duration::seconds(options.clock_skew_secs.max(0));
    let earliest = options.now.checked_sub(skew).unwrap_or(options.now);
    let latest = options.now.checked_add(skew).unwrap_or(options.now);
    let validity = if cert.validity_at(earliest) == Validity::Expired {
        Validity::Expired
    } else if cert.validity_at(latest) == Validity::NotYetValid {
        Validity::NotYetValid
    } else {
        Validity::Valid
    };
    match validity {
        Validity::Valid => {}
        Validity::Expired => out.error(
            FindingCode::SignerValidity,
            format!(
                "the signing certificate {} expired at {}; the service only accepts proofs signed by a currently valid certificate of the object",
                cert.sha1_hex(),
                serde_date::format(cert.not_after())
            ),
        ),
        Validity::NotYetValid => out.error(
            FindingCode::SignerValidity,
            format!(
                "the signing certificate {} is not valid until {}",
                cert.sha1_hex(),
                serde_date::format(cert.not_before())
            ),
        ),
    }
    if let Err(e) = cert.check_signing_key() {
        out.error(FindingCode::SignerKey, e.to_string());
    }
    (Some(index), Some(cert.sha1_hex()))
}
