//! Request paths to path parameters. Why one place: the URL keeps `%XX` escapes, and a route that
//! forgets to decode them answers 404 for ids that need escaping (a signal id
//! `strat:ma@1#abc:1700000000000` arrives as `strat%3Ama%401%23abc%3A1700000000000`). Every
//! route reads its parameters from [`segments`] (or [`segment`]), decoded exactly once.

use keel_durable_objects::http::ApiError;

/// Decodes the `%XX` escapes of one path segment. A `%` not followed by two hex digits, or
/// escapes that do not form UTF-8, are refused (400 `invalid_path`) rather than guessed.
///
/// # Errors
/// [`ApiError`] 400 `invalid_path` naming the segment.
pub fn segment(raw: &str) -> Result<String, ApiError> {
    let bad =
        |why: &str| ApiError::bad_request("invalid_path", format!("path segment {raw:?}: {why}"));
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = |at: usize| bytes.get(at).and_then(|h| (*h as char).to_digit(16));
            let (Some(h), Some(l)) = (hex(i + 1), hex(i + 2)) else {
                return Err(bad("a % must be followed by two hex digits"));
            };
            // Two hex digits fit a byte.
            out.push(u8::try_from(h * 16 + l).unwrap_or(0));
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad("the escapes do not form UTF-8"))
}

/// Splits a path (`/bots/a/signals/x%3Ay`) into decoded, non-empty segments. Splitting happens
/// before decoding, so an escaped `%2F` stays inside its segment.
///
/// # Errors
/// [`ApiError`] 400 `invalid_path` for a segment [`segment`] refuses.
pub fn segments(path: &str) -> Result<Vec<String>, ApiError> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(segment)
        .collect()
}

/// Percent-encodes a decoded parameter for a path this Worker forwards (to a Durable Object or
/// neo4j-proxy), so the receiver decodes it back to the same text: every byte but
/// `A-Z a-z 0-9 - _ . ~` is escaped.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_each_segment_once() {
        assert_eq!(
            segments("/signals/strat%3Ama%401%23abc%3A17").unwrap(),
            ["signals", "strat:ma@1#abc:17"]
        );
        // Once: `%253A` is the text `%3A`, not `:`.
        assert_eq!(segment("a%253Ab").unwrap(), "a%3Ab");
        // Split first: an escaped slash stays in its segment.
        assert_eq!(segments("/x/a%2Fb/").unwrap(), ["x", "a/b"]);
        assert_eq!(segment("tv-1").unwrap(), "tv-1");
        assert_eq!(segment("caf%C3%A9").unwrap(), "café");
        assert_eq!(segment("a:b").unwrap(), "a:b", "an unescaped colon is kept");
    }

    #[test]
    fn encode_then_decode_is_the_identity() {
        for id in ["strat:ma@1#abc:17", "a/b?c=d&e", "tv-1_x.y~z", "café %"] {
            assert_eq!(segment(&encode(id)).unwrap(), id);
        }
        assert_eq!(encode("a:b"), "a%3Ab");
    }

    #[test]
    fn refuses_broken_escapes() {
        for raw in ["%", "%3", "%zz", "a%C3", "%FF"] {
            let e = segment(raw).unwrap_err();
            assert_eq!((e.status, e.code.as_str()), (400, "invalid_path"), "{raw}");
        }
    }
}
