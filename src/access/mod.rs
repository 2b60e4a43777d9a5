//! Optional Cloudflare Access gate for the admin API. When `CF_ACCESS_TEAM_DOMAIN` (e.g.
//! `keel.cloudflareaccess.com`) and `CF_ACCESS_AUD` (the Access application's audience tag) are
//! set, every admin request must also carry a valid `Cf-Access-Jwt-Assertion`: an RS256 JWT signed
//! by one of the team's keys (`https://<team>/cdn-cgi/access/certs`), for this audience, issued by
//! the team, and not expired. The bearer token still decides the role; Access proves the person
//! passed the organisation's login, so a leaked token alone is not enough.
//!
//! [`jwt::verify`] is pure and unit-tested; this module only fetches and caches the key set.

mod jwt;

pub use jwt::{verify, AccessError, AccessIdentity, Jwks};
use keel_durable_objects::http::ApiError;

/// The Access settings of this deployment, when both variables are set.
#[derive(Debug, Clone)]
pub struct AccessConfig {
    /// `<team>.cloudflareaccess.com`.
    pub team_domain: String,
    /// The application's audience tag.
    pub aud: String,
}

impl AccessConfig {
    /// Reads `CF_ACCESS_TEAM_DOMAIN` and `CF_ACCESS_AUD`; `None` (Access mode off) unless both are set.
    pub fn from_env(env: &worker::Env) -> Option<Self> {
        let team = crate::env::get(env, crate::env::CF_ACCESS_TEAM_DOMAIN)?;
        let aud = crate::env::get(env, crate::env::CF_ACCESS_AUD)?;
        let team_domain = team
            .trim_start_matches("https://")
            .trim_end_matches('/')
            .to_string();
        Some(Self { team_domain, aud })
    }
}

/// How long a fetched key set is trusted before it is fetched again.
const JWKS_TTL_MS: f64 = 10.0 * 60.0 * 1000.0;

thread_local! {
    /// The team's keys and when they were fetched (per isolate; a Worker isolate is single-threaded).
    static JWKS_CACHE: std::cell::RefCell<Option<(f64, Jwks)>> = const { std::cell::RefCell::new(None) };
}

async fn fetch_jwks(team_domain: &str) -> Result<Jwks, ApiError> {
    let url = format!("https://{team_domain}/cdn-cgi/access/certs");
    let mut resp = worker::Fetch::Url(
        url.parse()
            .map_err(|_| unavailable("bad CF_ACCESS_TEAM_DOMAIN"))?,
    )
    .send()
    .await
    .map_err(|e| unavailable(&format!("Access keys unreachable: {e}")))?;
    if resp.status_code() != 200 {
        return Err(unavailable(&format!(
            "Access keys answered {}",
            resp.status_code()
        )));
    }
    resp.json::<Jwks>()
        .await
        .map_err(|e| unavailable(&format!("Access keys: {e}")))
}

fn unavailable(msg: &str) -> ApiError {
    ApiError::unavailable("access_keys_unavailable", msg.to_string())
}

/// Checks the request's `Cf-Access-Jwt-Assertion` when Access mode is on (no-op otherwise). The key
/// set is cached for ten minutes and fetched again at once when a token names an unknown key
/// (Access rotated its keys).
///
/// # Errors
/// 401 `access_required` / `access_denied` naming the failed check; 503 when the keys cannot be fetched.
pub async fn check(
    req: &worker::Request,
    env: &worker::Env,
) -> Result<Option<AccessIdentity>, ApiError> {
    let Some(cfg) = AccessConfig::from_env(env) else {
        return Ok(None);
    };
    let token = req
        .headers()
        .get("Cf-Access-Jwt-Assertion")
        .ok()
        .flatten()
        .ok_or_else(|| {
            ApiError::unauthorized(
                "access_required",
                "this API is behind Cloudflare Access: no Cf-Access-Jwt-Assertion",
            )
        })?;
    let now_ms = worker::Date::now().as_millis() as f64;
    let now_s = (now_ms / 1000.0) as i64;
    let cached = JWKS_CACHE.with(|c| {
        c.borrow()
            .as_ref()
            .filter(|(at, _)| now_ms - at < JWKS_TTL_MS)
            .map(|(_, k)| k.clone())
    });
    let keys = match cached {
        Some(k) => k,
        None => fetch_jwks(&cfg.team_domain).await?,
    };
    let result = match verify(&token, &keys, &cfg.aud, &cfg.team_domain, now_s) {
        Err(AccessError::UnknownKey(_)) => {
            let fresh = fetch_jwks(&cfg.team_domain).await?;
            let r = verify(&token, &fresh, &cfg.aud, &cfg.team_domain, now_s);
            JWKS_CACHE.with(|c| *c.borrow_mut() = Some((now_ms, fresh)));
            r
        }
        other => {
            JWKS_CACHE.with(|c| *c.borrow_mut() = Some((now_ms, keys)));
            other
        }
    };
    result
        .map(Some)
        .map_err(|e| ApiError::unauthorized("access_denied", e.to_string()))
}
