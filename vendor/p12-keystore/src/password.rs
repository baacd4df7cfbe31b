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

/// The encodings to try when reading: [`bmp`], for the empty password also no bytes at all (the "null"
/// password of .NET's and Windows' export without a password), and for a password with a surrogate pair the
/// string .NET derives from ([`dotnet_expanded`]).
pub(crate) fn candidates(password: &str) -> Vec<Vec<u8>> {
    let mut out = vec![bmp(password)];
    if password.is_empty() {
        out.push(Vec::new());
    }
    for block in [64, 128] {
        if let Some(expanded) = dotnet_expanded(password, block) {
            out.push(expanded);
        }
    }
    out
}

/// The string P of RFC 7292 B.2 step 3 as .NET builds it, when it differs from the standard one.
///
/// P is copies of the NUL-terminated UTF-16BE password filling `block` bytes (64 for SHA-1 and SHA-256, 128 for
/// SHA-384 and SHA-512) times ceiling(length / block); the last copy is cut short. .NET encodes that last, cut
/// copy as a string of its own, so when the cut falls between the two halves of a surrogate pair the lone high
/// surrogate becomes U+FFFD. A PFX exported by .NET with such a password (`p😀w`: ten bytes a copy, the cut after
/// `p` and the high surrogate) is keyed with that P, which OpenSSL cannot open either. Given already expanded
/// (its length a multiple of the block), the key derivation uses P as it is.
fn dotnet_expanded(password: &str, block: usize) -> Option<Vec<u8>> {
    let units: Vec<u16> = password.encode_utf16().chain([0]).collect();
    let whole = units.len() * 2;
    let length = whole.div_ceil(block) * block;
    let cut = (length % whole) / 2;
    let dangling = cut > 0 && (0xD800..0xDC00).contains(&units[cut - 1]);
    if !dangling {
        return None;
    }
    let mut out = Vec::with_capacity(length);
    for _ in 0..length / whole {
        out.extend(units.iter().flat_map(|u| u.to_be_bytes()));
    }
    out.extend(units[..cut - 1].iter().flat_map(|u| u.to_be_bytes()));
    out.extend(0xFFFDu16.to_be_bytes());
    Some(out)
}

