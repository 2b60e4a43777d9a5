//! RS256 verification of a Cloudflare Access assertion: pure (key set, token and clock in; the
//! caller's identity or a typed error out), so every check is unit-tested without a network.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::{BigUint, Pkcs1v15Sign, RsaPublicKey};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Clock skew tolerated on `exp`/`nbf`/`iat`, seconds.
const LEEWAY_S: i64 = 60;

/// Why an Access assertion was refused (each names what was wrong, never echoes the token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// Not three base64url parts, or a part is not JSON.
    #[error("malformed Access JWT: {0}")]
    Malformed(&'static str),
    /// `alg` is not RS256 (`none`, HS256 and others are refused).
    #[error("Access JWT alg must be RS256, got {0:?}")]
    Algorithm(String),
    /// No key of the team has the token's `kid`.
    #[error("Access JWT kid {0:?} is not one of the team's keys")]
    UnknownKey(String),
    /// The signature does not verify.
    #[error("Access JWT signature does not verify")]
    BadSignature,
    /// `aud` does not contain the configured audience.
    #[error("Access JWT is for another application (aud)")]
    Audience,
    /// `iss` is not the team domain.
    #[error("Access JWT issuer {0:?} is not the team domain")]
    Issuer(String),
    /// `exp` is in the past.
    #[error("Access JWT expired")]
    Expired,
    /// `nbf`/`iat` is in the future.
    #[error("Access JWT not valid yet")]
    NotYetValid,
}

/// One key of the team's JWKS.
#[derive(Debug, Clone, Deserialize)]
pub struct Jwk {
    /// Key id, matched against the JWT header's `kid`.
    pub kid: String,
    /// Key type (`RSA`).
    pub kty: String,
    /// Modulus, base64url.
    #[serde(default)]
    pub n: String,
    /// Exponent, base64url.
    #[serde(default)]
    pub e: String,
}

/// The team's key set as served at `/cdn-cgi/access/certs`.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Jwks {
    /// Keys (Access rotates them; two are usually published).
    pub keys: Vec<Jwk>,
}

/// What a verified assertion says about the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessIdentity {
    /// The person's email (service tokens have none).
    pub email: Option<String>,
    /// Subject id.
    pub sub: String,
}

#[derive(Debug, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: String,
}

fn part(s: &str, what: &'static str) -> Result<Vec<u8>, AccessError> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| AccessError::Malformed(what))
}

/// Verifies `token` for audience `aud`, issuer `https://<team_domain>`, at `now_s` (Unix seconds).
///
/// # Errors
/// The first failed check, as [`AccessError`].
pub fn verify(
    token: &str,
    keys: &Jwks,
    aud: &str,
    team_domain: &str,
    now_s: i64,
) -> Result<AccessIdentity, AccessError> {
    let mut parts = token.split('.');
    let (Some(h64), Some(c64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AccessError::Malformed("expected header.claims.signature"));
    };
    let header: Header = serde_json::from_slice(&part(h64, "header")?)
        .map_err(|_| AccessError::Malformed("header is not JSON"))?;
    if header.alg != "RS256" {
        return Err(AccessError::Algorithm(header.alg));
    }
    let jwk = keys
        .keys
        .iter()
        .find(|k| k.kid == header.kid && k.kty == "RSA")
        .ok_or_else(|| AccessError::UnknownKey(header.kid.clone()))?;
    let n = BigUint::from_bytes_be(&part(&jwk.n, "jwk n")?);
    let e = BigUint::from_bytes_be(&part(&jwk.e, "jwk e")?);
    let key = RsaPublicKey::new(n, e)
        .map_err(|_| AccessError::Malformed("jwk is not an RSA public key"))?;
    let signature = part(s64, "signature")?;
    let digest = Sha256::digest(format!("{h64}.{c64}").as_bytes());
    key.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &signature)
        .map_err(|_| AccessError::BadSignature)?;

    let claims: Value = serde_json::from_slice(&part(c64, "claims")?)
        .map_err(|_| AccessError::Malformed("claims are not JSON"))?;
    let aud_ok = match &claims["aud"] {
        Value::String(a) => a == aud,
        Value::Array(list) => list.iter().any(|a| a.as_str() == Some(aud)),
        _ => false,
    };
    if !aud_ok {
        return Err(AccessError::Audience);
    }
    let iss = claims["iss"].as_str().unwrap_or_default();
    if iss.trim_end_matches('/') != format!("https://{}", team_domain.trim_end_matches('/')) {
        return Err(AccessError::Issuer(iss.to_string()));
    }
    match claims["exp"].as_i64() {
        Some(exp) if exp + LEEWAY_S > now_s => {}
        _ => return Err(AccessError::Expired),
    }
    for name in ["nbf", "iat"] {
        if claims[name].as_i64().is_some_and(|t| t - LEEWAY_S > now_s) {
            return Err(AccessError::NotYetValid);
        }
    }
    Ok(AccessIdentity {
        email: claims["email"].as_str().map(String::from),
        sub: claims["sub"].as_str().unwrap_or_default().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JWKS and an RS256 token signed with its private key (made once with openssl; the token's
    /// claims: aud ["aud-123"], iss https://keel.cloudflareaccess.com, nbf/iat 1700000000,
    /// exp 2000000000, email ops@example.com).
    const VECTORS: &str = include_str!("test_vectors.json");

    fn vectors() -> (Jwks, String) {
        let v: Value = serde_json::from_str(VECTORS).expect("vectors");
        (
            serde_json::from_value(v["jwks"].clone()).expect("jwks"),
            v["token"].as_str().expect("token").to_string(),
        )
    }

    const TEAM: &str = "keel.cloudflareaccess.com";
    const NOW: i64 = 1_764_000_000;

    #[test]
    fn accepts_a_valid_assertion() {
        let (keys, token) = vectors();
        let id = verify(&token, &keys, "aud-123", TEAM, NOW).expect("valid");
        assert_eq!(id.email.as_deref(), Some("ops@example.com"));
        assert_eq!(id.sub, "user-1");
    }

    #[test]
    fn refuses_every_broken_check() {
        let (keys, token) = vectors();
        let mut parts: Vec<String> = token.split('.').map(String::from).collect();
        let tampered_claims = {
            let mut c: Value =
                serde_json::from_slice(&part(&parts[1], "c").expect("b64")).expect("json");
            c["email"] = Value::String("attacker@example.com".into());
            URL_SAFE_NO_PAD.encode(c.to_string())
        };
        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"test-kid-1"}"#);
        let other_kid = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"other"}"#);
        parts[1] = tampered_claims;
        let tampered = parts.join(".");
        let sig = token.rsplit('.').next().unwrap_or_default().to_string();
        let body = token.split('.').nth(1).unwrap_or_default().to_string();
        struct Case {
            token: String,
            aud: &'static str,
            team: &'static str,
            now: i64,
            expected: AccessError,
        }
        let cases = [
            Case {
                token: tampered,
                aud: "aud-123",
                team: TEAM,
                now: NOW,
                expected: AccessError::BadSignature,
            },
            Case {
                token: format!("{none_header}.{body}."),
                aud: "aud-123",
                team: TEAM,
                now: NOW,
                expected: AccessError::Algorithm("none".into()),
            },
            Case {
                token: format!("{other_kid}.{body}.{sig}"),
                aud: "aud-123",
                team: TEAM,
                now: NOW,
                expected: AccessError::UnknownKey("other".into()),
            },
            Case {
                token: token.clone(),
                aud: "other-app",
                team: TEAM,
                now: NOW,
                expected: AccessError::Audience,
            },
            Case {
                token: token.clone(),
                aud: "aud-123",
                team: "evil.cloudflareaccess.com",
                now: NOW,
                expected: AccessError::Issuer("https://keel.cloudflareaccess.com".into()),
            },
            Case {
                token: token.clone(),
                aud: "aud-123",
                team: TEAM,
                now: 2_000_000_100,
                expected: AccessError::Expired,
            },
            Case {
                token: token.clone(),
                aud: "aud-123",
                team: TEAM,
                now: 1_699_999_000,
                expected: AccessError::NotYetValid,
            },
            Case {
                token: "abc.def".into(),
                aud: "aud-123",
                team: TEAM,
                now: NOW,
                expected: AccessError::Malformed("expected header.claims.signature"),
            },
        ];
        for c in cases {
            assert_eq!(
                verify(&c.token, &keys, c.aud, c.team, c.now),
                Err(c.expected)
            );
        }
    }
}
