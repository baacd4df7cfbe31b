//! The one "no secret in this text" check every suite uses on what users read (stdout, stderr, messages,
//! `Debug` output, logs): no password, token, proof or line of a private key may appear in it.

/// Something that must never appear in output, with what it is (for the failure message).
#[derive(Debug, Clone)]
pub struct Secret {
    what: String,
    text: String,
}

/// The start of every base64url-encoded JSON object: every JWT (access tokens, proofs, client assertions)
/// begins with it.
pub const JWT_MARKER: &str = "eyJ";

impl Secret {
    /// A secret value: a password, a token, a proof, a header value.
    pub fn text(what: impl Into<String>, text: impl Into<String>) -> Secret {
        Secret {
            what: what.into(),
            text: text.into(),
        }
    }

    /// Any JWT at all (see [`JWT_MARKER`]).
    pub fn any_jwt() -> Secret {
        Secret::text("a JWT", JWT_MARKER)
    }

    /// Every line of the base64 body of the private key(s) in `pem` (40 characters or more, so that no short
    /// line matches by chance); the certificates a PEM bundle also holds are public and are skipped.
    pub fn private_key(what: &str, pem: &str) -> Vec<Secret> {
        let mut in_key = false;
        let mut out = Vec::new();
        for line in pem.lines() {
            if line.starts_with("-----BEGIN") {
                in_key = line.contains("PRIVATE KEY");
            } else if line.starts_with("-----") {
                in_key = false;
            } else if in_key && line.len() >= 40 {
                out.push(Secret::text(
                    format!("private key material of {what}"),
                    line,
                ));
            }
        }
        out
    }

    /// What this secret is.
    pub fn what(&self) -> &str {
        &self.what
    }
}

/// Panics if `haystack` holds any of `secrets`, naming the secret, the `context` (which command, which
/// stream) and the text.
#[track_caller]
pub fn assert_no_secret(haystack: &str, secrets: &[Secret], context: &str) {
    for s in secrets {
        assert!(
            s.text.is_empty() || !haystack.contains(&s.text),
            "{context}: {} in the output: {haystack}",
            s.what
        );
    }
}
