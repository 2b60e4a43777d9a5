//! Bybit error mapping (`retCode` in the envelope, HTTP 401/403/429/5xx) and rate-limit header
//! reading (`X-Bapi-Limit-Status`, `X-Bapi-Limit`, `X-Bapi-Limit-Reset-Timestamp`).

use super::models::ByHead;
use crate::venue::error::VenueError;
use crate::venue::http::HttpResponse;
use crate::venue::limiter::{EndpointUsage, Usage};

/// Bybit asks for at least 10 minutes after an IP-level 403 ("access too frequent").
const IP_BAN_MS: i64 = 10 * 60 * 1000;
/// Fallback wait for a 429 / 10006 without a reset timestamp.
const DEFAULT_RETRY_MS: i64 = 1_000;

fn reset_wait_ms(resp: &HttpResponse) -> i64 {
    resp.header("X-Bapi-Limit-Reset-Timestamp")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(|reset| reset.saturating_sub(resp.received_ms))
        .filter(|w| *w > 0)
        .unwrap_or(DEFAULT_RETRY_MS)
}

/// Maps an HTTP-level failure (non-2xx) to a typed error.
pub fn map_http(resp: &HttpResponse) -> VenueError {
    let excerpt: String = resp.body.chars().take(200).collect();
    if let Ok(head) = serde_json::from_str::<ByHead>(&resp.body) {
        if head.ret_code != 0 {
            return map_code(head.ret_code, head.ret_msg, resp);
        }
    }
    match resp.status {
        401 => VenueError::Auth {
            code: 401,
            msg: excerpt,
        },
        403 => VenueError::Banned {
            until_ms: resp.received_ms.saturating_add(IP_BAN_MS),
        },
        429 => VenueError::RateLimited {
            retry_after_ms: reset_wait_ms(resp),
        },
        s if s >= 500 => VenueError::Unavailable {
            status: s,
            msg: excerpt,
        },
        s => VenueError::Rejected {
            code: i64::from(s),
            msg: excerpt,
        },
    }
}

/// Maps a non-zero `retCode` (`docs/v5/error.mdx`).
pub fn map_code(code: i64, msg: String, resp: &HttpResponse) -> VenueError {
    match code {
        10002 => VenueError::Timestamp { code },
        10003 | 10004 | 10005 | 10007 | 10009 | 10010 => VenueError::Auth { code, msg },
        10006 => VenueError::RateLimited {
            retry_after_ms: reset_wait_ms(resp),
        },
        // Server error / timeout: the outcome of a write is unknown.
        10000 | 10016 => VenueError::Unavailable {
            status: resp.status,
            msg,
        },
        110001 | 170213 => VenueError::UnknownOrder { msg },
        110004 | 110007 | 110012 | 110044 | 110045 | 170131 => {
            VenueError::InsufficientBalance { msg }
        }
        110072 | 170141 => VenueError::DuplicateClientOrderId { msg },
        110094 | 170140 => VenueError::Filter {
            which: "MIN_NOTIONAL".into(),
            msg,
        },
        110017 | 170136 | 170137 | 170148 => VenueError::Filter {
            which: "LOT_SIZE".into(),
            msg,
        },
        170193 | 170194 => VenueError::Filter {
            which: "PRICE_FILTER".into(),
            msg,
        },
        _ => VenueError::Rejected { code, msg },
    }
}

/// Reads usage and bans from any response.
pub fn usage(resp: &HttpResponse, endpoint: &str) -> Usage {
    let mut out = Usage::default();
    let num = |name: &str| resp.header(name).and_then(|v| v.trim().parse::<i64>().ok());
    if let (Some(remaining), Some(limit)) = (num("X-Bapi-Limit-Status"), num("X-Bapi-Limit")) {
        let reset_ms = num("X-Bapi-Limit-Reset-Timestamp").unwrap_or(resp.received_ms);
        out.endpoint = Some((
            endpoint.to_string(),
            EndpointUsage {
                remaining: u32::try_from(remaining.max(0)).unwrap_or(u32::MAX),
                limit: u32::try_from(limit.max(0)).unwrap_or(u32::MAX),
                reset_ms,
            },
        ));
    }
    let rate_limited_body =
        serde_json::from_str::<ByHead>(&resp.body).is_ok_and(|h| h.ret_code == 10006);
    match resp.status {
        403 => out.banned_until_ms = Some(resp.received_ms.saturating_add(IP_BAN_MS)),
        429 => out.retry_at_ms = Some(resp.received_ms.saturating_add(reset_wait_ms(resp))),
        _ if rate_limited_body => {
            out.retry_at_ms = Some(resp.received_ms.saturating_add(reset_wait_ms(resp)))
        }
        _ => {}
    }
    out
}
