//! Compact JWS handling shared by proofs and client assertions.
//!
//! Parsing is deliberately tolerant *in what it reports* and strict in what it accepts: it never fails on the
//! first oddity but records each one, so that the inspector can list every reason a token would be rejected.

use serde_json::{Map, Value};

use crate::b64;
use crate::cert::Certificate;

/// The largest token the parser looks at. Real proofs are about 700 bytes; anything far larger is not a proof,
/// and refusing it early keeps a hostile input from costing memory or time.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// A compact JWS split into its parts, with its header and claims decoded as JSON objects.
#[derive(Clone)]
pub struct CompactJws<'a> {
    /// `header.payload`: the bytes the signature covers.
    pub signing_input: &'a str,
    /// The decoded header object.
    pub header: Map<String, Value>,
    /// The decoded claims object.
    pub claims: Map<String, Value>,
    /// The raw signature bytes.
    pub signature: Vec<u8>,
    /// The third segment as it was written.
    pub signature_b64: &'a str,
    /// Whether any segment carried `=` padding (accepted by the decoder here, rejected by the service).
    pub padded: bool,
}

impl std::fmt::Debug for CompactJws<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The claims are not secret, but a whole token is a bearer credential: show the decoded parts only.
        f.debug_struct("CompactJws")
            .field("header", &self.header)
            .field("claims", &self.claims)
            .field("padded", &self.padded)
            .finish_non_exhaustive()
    }
}

/// Why a text is not a compact JWS at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwsError {
    /// Nothing was given.
    #[error("the token is empty")]
    Empty,
    /// Larger than any proof or assertion could be.
    #[error(
        "the token is {len} bytes long; a proof is well under {max} bytes — is this the right input?"
    )]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not three dot-separated segments.
    #[error(
        "the token has {segments} dot-separated segment(s); a compact JWS has exactly 3 (header.payload.signature)"
    )]
    Segments {
        /// How many there were.
        segments: usize,
    },
    /// A segment is not base64url.
    #[error("the {part} segment is not base64url ({reason})")]
    Base64 {
        /// header, payload or signature.
        part: &'static str,
        /// The decoder's reason.
        reason: String,
    },
    /// A segment is not a JSON object.
    #[error("the {part} segment is not a JSON object ({reason})")]
    Json {
        /// header or payload.
        part: &'static str,
        /// The parser's reason.
        reason: String,
    },
}

fn decode_segment(part: &'static str, segment: &str) -> Result<(Vec<u8>, bool), JwsError> {
    let padded = segment.ends_with('=');
    let trimmed = segment.trim_end_matches('=');
    b64::decode_jose_segment(trimmed)
        .map(|b| (b, padded))
        .map_err(|e| JwsError::Base64 {
            part,
            reason: e.to_string(),
        })
}

fn decode_object(part: &'static str, bytes: &[u8]) -> Result<Map<String, Value>, JwsError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(JwsError::Json {
            part,
            reason: format!("found a JSON {}", json_kind(&other)),
        }),
        Err(e) => Err(JwsError::Json {
            part,
            reason: e.to_string(),
        }),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Splits and decodes a compact JWS. Surrounding whitespace is ignored (tokens pasted from a terminal).
pub fn parse(token: &str) -> Result<CompactJws<'_>, JwsError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(JwsError::Empty);
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwsError::TooLarge {
            len: token.len(),
            max: MAX_TOKEN_LEN,
        });
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(JwsError::Segments {
            segments: parts.len(),
        });
    }
    let (header_bytes, p1) = decode_segment("header", parts[0])?;
    let (claims_bytes, p2) = decode_segment("payload", parts[1])?;
    let (signature, p3) = decode_segment("signature", parts[2])?;
    let header = decode_object("header", &header_bytes)?;
    let claims = decode_object("payload", &claims_bytes)?;
    let signing_input_len = parts[0].len() + 1 + parts[1].len();
    Ok(CompactJws {
        signing_input: &token[..signing_input_len],
        header,
        claims,
        signature,
        signature_b64: parts[2],
        padded: p1 || p2 || p3,
    })
}

/// A NumericDate claim as the service reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumericDate {
    /// A JSON integer, as the protocol requires.
    Integer(i64),
    /// A JSON string holding an integer (MSAL .NET writes assertions this way); tolerated for assertions only.
    NumericString(i64),
    /// A JSON number with a fraction; the value is truncated.
    Fractional(i64),
    /// Present but not a date at all.
    Invalid,
    /// Absent.
    Missing,
}

impl NumericDate {
    /// Reads claim `name` from `claims`.
    pub fn read(claims: &Map<String, Value>, name: &str) -> Self {
        match claims.get(name) {
            None | Some(Value::Null) => NumericDate::Missing,
            Some(Value::Number(n)) => {
                if let Some(i) = n.as_i64() {
                    NumericDate::Integer(i)
                } else if let Some(f) = n.as_f64().filter(|f| f.is_finite() && f.abs() < 1e15) {
                    NumericDate::Fractional(f.trunc() as i64)
                } else {
                    NumericDate::Invalid
                }
            }
            Some(Value::String(s)) => s
                .trim()
                .parse::<i64>()
                .map(NumericDate::NumericString)
                .unwrap_or(NumericDate::Invalid),
            Some(_) => NumericDate::Invalid,
        }
    }

    /// The value, whatever its form, when there is one.
    pub fn value(self) -> Option<i64> {
        match self {
            NumericDate::Integer(v)
            | NumericDate::NumericString(v)
            | NumericDate::Fractional(v) => Some(v),
            NumericDate::Invalid | NumericDate::Missing => None,
        }
    }
}

/// Shortens a token for display: enough to recognise it, never enough to replay it.
pub fn redact(token: &str) -> String {
    let t = token.trim();
    let head: String = t.chars().take(12).collect();
    format!("{head}…({} chars)", t.len())
}

/// The signature algorithms this crate verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PSS with SHA-256.
    Ps256,
}

/// Verifies an RSA signature over `message` with the certificate's public key.
pub fn verify(alg: SigAlg, cert: &Certificate, message: &[u8], signature: &[u8]) -> bool {
    let Some(pkcs1) = cert.rsa_public_key_pkcs1() else {
        return false;
    };
    let key = jsonwebtoken::DecodingKey::from_rsa_der(pkcs1);
    let algorithm = match alg {
        SigAlg::Rs256 => jsonwebtoken::Algorithm::RS256,
        SigAlg::Ps256 => jsonwebtoken::Algorithm::PS256,
    };
    jsonwebtoken::crypto::verify(&b64::encode_url(signature), message, &key, algorithm)
        .unwrap_or(false)
}

/// Verifies an RS256 signature over `message` with the certificate's public key.
pub fn verify_rs256(cert: &Certificate, message: &[u8], signature: &[u8]) -> bool {
    verify(SigAlg::Rs256, cert, message, signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(v: &str) -> String {
        b64::encode_url(v.as_bytes())
    }

    #[test]
    fn parses_and_flags_padding() {
        let t = format!(
            "{}.{}.{}",
            seg(r#"{"alg":"RS256"}"#),
            seg(r#"{"a":1}"#),
            "AQID"
        );
        let j = parse(&t).unwrap();
        assert!(!j.padded);
        assert_eq!(j.signature, vec![1, 2, 3]);
        assert_eq!(j.signing_input, &t[..t.rfind('.').unwrap()]);
        let padded = format!(
            "{}.{}.{}",
            seg(r#"{"alg":"RS256"}"#),
            seg(r#"{"a":1}"#),
            "AQI="
        );
        assert!(parse(&padded).unwrap().padded);
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(parse("  "), Err(JwsError::Empty)));
        assert!(matches!(
            parse("a.b"),
            Err(JwsError::Segments { segments: 2 })
        ));
        assert!(matches!(parse("!!.e30.AA"), Err(JwsError::Base64 { .. })));
        assert!(matches!(
            parse(&format!("{}.e30.AA", seg("[1]"))),
            Err(JwsError::Json { .. })
        ));
        let huge = "a".repeat(MAX_TOKEN_LEN + 1);
        assert!(matches!(parse(&huge), Err(JwsError::TooLarge { .. })));
    }

    #[test]
    fn numeric_dates() {
        let c: Map<String, Value> =
            serde_json::from_str(r#"{"a":1,"b":"2","c":1.5,"d":true}"#).unwrap();
        assert_eq!(NumericDate::read(&c, "a"), NumericDate::Integer(1));
        assert_eq!(NumericDate::read(&c, "b"), NumericDate::NumericString(2));
        assert_eq!(NumericDate::read(&c, "c"), NumericDate::Fractional(1));
        assert_eq!(NumericDate::read(&c, "d"), NumericDate::Invalid);
        assert_eq!(NumericDate::read(&c, "e"), NumericDate::Missing);
    }
}
