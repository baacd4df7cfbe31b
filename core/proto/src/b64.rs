//! Base64 as Graph and JOSE use it.
//!
//! Graph's serializers emit standard base64 (`+ / =`) for `Edm.Binary`; users paste base64url too, so input is
//! accepted in either alphabet, padded or not, with whitespace (line breaks of PEM bodies) ignored. JWT segments
//! are base64url *without* padding, and the service rejects padding, so the JOSE helpers never emit it.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

const LENIENT_CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STANDARD_LENIENT: GeneralPurpose =
    GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT_CONFIG);
const URL_LENIENT: GeneralPurpose =
    GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT_CONFIG);

/// Why a base64 text could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not valid base64 ({0})")]
pub struct DecodeError(String);

/// Standard base64 with padding, as Graph sends binaries.
pub fn encode_std(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// base64url without padding, as JWT segments and `x5t` are written.
pub fn encode_url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes standard or url-safe base64, padded or not, ignoring ASCII whitespace.
pub fn decode_lenient(text: &str) -> Result<Vec<u8>, DecodeError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err(DecodeError("empty".into()));
    }
    let url = compact.contains(['-', '_']);
    let result = if url {
        URL_LENIENT.decode(compact.as_bytes())
    } else {
        STANDARD_LENIENT.decode(compact.as_bytes())
    };
    result.map_err(|e| DecodeError(e.to_string()))
}

/// Decodes an `Edm.Binary` value as the service reads it in a request body: the standard alphabet (`+ /`),
/// padded or not, ASCII whitespace ignored. Graph answers 400 for base64url there (`-` or `_`), although it
/// is lenient elsewhere; clients always send [`encode_std`].
pub fn decode_graph_input(text: &str) -> Result<Vec<u8>, DecodeError> {
    if text.contains(['-', '_']) {
        return Err(DecodeError(
            "base64url ('-' or '_'): Graph takes binary values in standard base64 ('+' and '/')"
                .into(),
        ));
    }
    decode_lenient(text)
}

/// Decodes one JWT segment: base64url, and strictly without padding.
pub fn decode_jose_segment(segment: &str) -> Result<Vec<u8>, DecodeError> {
    URL_SAFE_NO_PAD
        .decode(segment.as_bytes())
        .map_err(|e| DecodeError(e.to_string()))
}

/// Serde adapters for `Edm.Binary` values (`Option<Vec<u8>>`): standard base64 out, lenient in.
pub mod serde_binary {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes `Some(bytes)` as standard base64 and `None` as `null`.
    pub fn serialize<S: Serializer>(value: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(bytes) => s.serialize_str(&super::encode_std(bytes)),
            None => s.serialize_none(),
        }
    }

    /// Deserializes `null`, a missing value, or base64 in either alphabet.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        match text {
            None => Ok(None),
            Some(t) if t.is_empty() => Ok(Some(Vec::new())),
            Some(t) => super::decode_lenient(&t)
                .map(Some)
                .map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_accepts_both_alphabets_and_padding_modes() {
        let bytes = [0xfbu8, 0xff, 0xfe, 0x01];
        assert_eq!(decode_lenient(&encode_std(&bytes)).unwrap(), bytes);
        assert_eq!(decode_lenient(&encode_url(&bytes)).unwrap(), bytes);
        assert_eq!(decode_lenient("+//+AQ").unwrap(), bytes);
        assert_eq!(decode_lenient("+//+\nAQ==").unwrap(), bytes);
        assert!(decode_lenient("not base64!").is_err());
        assert!(decode_lenient("").is_err());
    }

    #[test]
    fn graph_input_is_standard_base64_only() {
        let bytes = [0xfbu8, 0xff, 0xfe, 0x01];
        assert_eq!(decode_graph_input(&encode_std(&bytes)).unwrap(), bytes);
        assert!(decode_graph_input(&encode_url(&bytes)).is_err());
    }

    #[test]
    fn jose_segments_refuse_padding() {
        assert!(decode_jose_segment("YQ==").is_err());
        assert_eq!(decode_jose_segment("YQ").unwrap(), b"a");
    }
}
