use super::*;
use crate::signal::WebhookSecret;

const BODY: &[u8] = br#"{"action":"buy"}"#;
/// Computed independently: Python `hmac.new(b"topsecret", b"1700000000." + BODY, sha256)`.
const SIG: &str = "5d5ce6f071504bc2ab36e71f02807ec2bc45e241eda54112059b280a926d1b29";
const NOW: i64 = 1_700_000_000_000;

#[test]
fn secret_compare() {
    assert!(secret_matches(b"abc", b"abc"));
    assert!(!secret_matches(b"abc", b"abd"));
    assert!(!secret_matches(b"abc", b"abcd"));
    assert!(!secret_matches(b"", b""), "an unset secret never matches");
}

/// (header, body, now_ms, expected error code).
type SigCase = (String, &'static [u8], i64, Result<(), &'static str>);

#[test]
fn signatures() {
    let good = format!("t=1700000000,v1={SIG}");
    let cases: Vec<SigCase> = vec![
        (good.clone(), BODY, NOW, Ok(())),
        (good.clone(), BODY, NOW + 300_000, Ok(())),
        (good.clone(), BODY, NOW - 300_000, Ok(())),
        (good.clone(), BODY, NOW + 301_000, Err("signature_expired")),
        (good.clone(), BODY, NOW - 301_000, Err("signature_expired")),
        (
            good.clone(),
            br#"{"action":"sell"}"#,
            NOW,
            Err("bad_signature"),
        ),
        (
            format!("t=1700000000, v1={}, v1={SIG}", "00".repeat(32)),
            BODY,
            NOW,
            Ok(()),
        ),
        (format!("v1={SIG}"), BODY, NOW, Err("malformed_signature")),
        ("t=1700000000".into(), BODY, NOW, Err("malformed_signature")),
        ("t=abc,v1=00".into(), BODY, NOW, Err("malformed_signature")),
        (
            "t=1700000000,v1=zz".into(),
            BODY,
            NOW,
            Err("malformed_signature"),
        ),
        ("garbage".into(), BODY, NOW, Err("malformed_signature")),
        (
            format!("t=1700000000,t=1,v1={SIG}"),
            BODY,
            NOW,
            Err("malformed_signature"),
        ),
    ];
    for (header, body, now, expected) in cases {
        let got = verify_signature(&header, body, b"topsecret", now).map_err(|e| e.code());
        assert_eq!(got, expected, "{header}");
    }
}

#[test]
fn authenticate_prefers_signature() {
    let header = format!("t=1700000000,v1={SIG}");
    let right = WebhookSecret::new("topsecret");
    let wrong = WebhookSecret::new("nope");
    let ok = authenticate(Some(&wrong), Some(&header), BODY, b"topsecret", NOW);
    assert_eq!(ok, Ok(AuthMethod::Signature));
    let ok = authenticate(Some(&right), None, BODY, b"topsecret", NOW);
    assert_eq!(ok, Ok(AuthMethod::Secret));
    let bad = authenticate(Some(&wrong), None, BODY, b"topsecret", NOW);
    assert_eq!(bad, Err(AuthError::BadSecret));
    let none = authenticate(None, None, BODY, b"topsecret", NOW);
    assert_eq!(none, Err(AuthError::MissingCredentials));
    let bad_sig = authenticate(
        Some(&right),
        Some("t=1700000000,v1=00"),
        BODY,
        b"topsecret",
        NOW,
    );
    assert_eq!(
        bad_sig,
        Err(AuthError::BadSignature),
        "a bad header is not rescued by the secret"
    );
}

#[test]
fn allowlist() {
    let list = |entries: &[&str]| {
        IpAllowlist::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    };
    let tv = list(&["tradingview"]).unwrap();
    let cases: &[(&IpAllowlist, Option<&str>, bool)] = &[
        (&tv, Some("52.89.214.238"), true),
        (&tv, Some("52.32.178.7"), true),
        (&tv, Some("52.32.178.8"), false),
        (&tv, Some("::ffff:34.212.75.30"), true),
        (&tv, None, false),
        (&tv, Some("not-an-ip"), false),
    ];
    for (l, ip, allowed) in cases {
        assert_eq!(l.check(*ip).is_ok(), *allowed, "{ip:?}");
    }
    let cidr = list(&["10.0.0.0/8", "2001:db8::/32", "127.0.0.1"]).unwrap();
    assert!(cidr.check(Some("10.200.1.1")).is_ok());
    assert!(cidr.check(Some("11.0.0.1")).is_err());
    assert!(cidr.check(Some("2001:db8:1::5")).is_ok());
    assert!(cidr.check(Some("2001:db9::5")).is_err());
    assert!(cidr.check(Some("127.0.0.1")).is_ok());
    assert!(list(&[]).unwrap().check(None).is_ok(), "empty list = open");
    assert!(list(&["0.0.0.0/0"]).unwrap().check(Some("8.8.8.8")).is_ok());
    let err = list(&["tradingview", "10.0.0.0/33"]).unwrap_err();
    assert_eq!(err.index, 1);
    assert!(list(&["example.com"]).is_err());
    let forbidden = tv.check(Some("1.2.3.4")).unwrap_err();
    assert!(forbidden.is_forbidden_source());
    assert_eq!(forbidden.code(), "ip_not_allowed");
}

#[test]
fn freshness() {
    let cases: &[(Option<i64>, Option<u64>, Option<&str>)] = &[
        (Some(NOW - 30_000), Some(30), None),
        (Some(NOW - 30_001), Some(30), Some("stale_signal")),
        (Some(NOW + 30_000), Some(30), None),
        (Some(NOW + 31_000), Some(30), Some("stale_signal")),
        (None, Some(30), Some("missing_field")),
        (None, None, None),
        (Some(0), None, None),
    ];
    for (time, max, expected) in cases {
        let got = check_freshness(*time, NOW, *max).err().map(|e| e.code());
        assert_eq!(got, *expected, "{time:?} {max:?}");
    }
}
