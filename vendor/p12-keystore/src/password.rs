//! keyroll's change to this crate (see vendor/README.md): the bytes a PKCS#12 password stands for in the
//! PKCS#12 key derivation (RFC 7292, appendix B.1), written as .NET and OpenSSL 3 write them. Upstream 0.4.1
//! encodes a password as a BMPString, which has no characters outside the Basic Multilingual Plane (an emoji
//! made such a password unusable), and knows only the NUL-terminated empty password (a PFX exported with no
//! password by .NET or Windows uses the empty byte string, and could not be opened).

/// The password as UTF-16BE, characters outside the BMP as surrogate pairs, NUL-terminated.
pub(crate) fn bmp(password: &str) -> Vec<u8> {
    let mut out: Vec<u8> = password.encode_utf16().flat_map(u16::to_be_bytes).collect();
    out.extend([0u8, 0u8]);
    out
}

/// The encodings to try when reading: [`bmp`], and for the empty password also no bytes at all (the "null"
/// password of .NET's and Windows' export without a password).
pub(crate) fn candidates(password: &str) -> Vec<Vec<u8>> {
    let mut out = vec![bmp(password)];
    if password.is_empty() {
        out.push(Vec::new());
    }
    out
}
