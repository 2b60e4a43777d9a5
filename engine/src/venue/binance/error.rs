//! Binance error mapping (`{code,msg}` bodies and HTTP 403/418/429/5xx) and rate-limit header
//! reading (`X-MBX-USED-WEIGHT-*`, `X-MBX-ORDER-COUNT-*`, `Retry-After`).

use super::models::BnError;
use crate::venue::error::VenueError;
use crate::venue::http::HttpResponse;
use crate::venue::limiter::{parse_interval, Budget, Usage};

/// Default wait after a 429 without `Retry-After`: until the minute window has surely rolled.
const DEFAULT_RETRY_AFTER_MS: i64 = 60_000;
/// Minimum documented 418 ban.
const DEFAULT_BAN_MS: i64 = 120_000;

fn retry_after_ms(resp: &HttpResponse) -> Option<i64> {
    resp.header("Retry-After")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(|s| s.saturating_mul(1_000))
}

/// Maps a non-2xx response to a typed error.
pub fn map_error(resp: &HttpResponse) -> VenueError {
    let excerpt: String = resp.body.chars().take(200).collect();
    match resp.status {
        418 => {
            let wait = retry_after_ms(resp).unwrap_or(DEFAULT_BAN_MS);
            return VenueError::Banned {
                until_ms: resp.received_ms.saturating_add(wait),
            };
        }
        429 => {
            return VenueError::RateLimited {
                retry_after_ms: retry_after_ms(resp).unwrap_or(DEFAULT_RETRY_AFTER_MS),
            }
        }
        403 => {
            return VenueError::Blocked {
                status: 403,
                msg: excerpt,
            }
        }
        s if s >= 500 => {
            return VenueError::Unavailable {
                status: s,
                msg: excerpt,
            }
        }
        _ => {}
    }
    match serde_json::from_str::<BnError>(&resp.body) {
        Ok(e) => map_code(e.code, e.msg, resp.status),
        Err(_) if resp.status == 401 => VenueError::Auth {
            code: 401,
            msg: excerpt,
        },
        Err(_) => VenueError::Rejected {
            code: i64::from(resp.status),
            msg: excerpt,
        },
    }
}

/// Maps a Binance error code (Spot `errors.md`, futures codes where known).
pub fn map_code(code: i64, msg: String, status: u16) -> VenueError {
    let lower = msg.to_ascii_lowercase();
    match code {
        -1021 => VenueError::Timestamp { code },
        -1002 | -1022 | -2014 | -2015 => VenueError::Auth { code, msg },
        -1003 | -1015 => VenueError::RateLimited {
            retry_after_ms: DEFAULT_RETRY_AFTER_MS,
        },
        // Disconnected, timeout (status unknown), server busy: outcome unknown.
        -1001 | -1006 | -1007 | -1008 => VenueError::Unavailable { status, msg },
        -1013 => match msg.strip_prefix("Filter failure: ") {
            Some(which) => VenueError::Filter {
                which: which.trim().to_string(),
                msg,
            },
            None => VenueError::Rejected { code, msg },
        },
        -1111 => VenueError::Filter {
            which: "PRECISION".into(),
            msg,
        },
        -4003 | -4005 => VenueError::Filter {
            which: "LOT_SIZE".into(),
            msg,
        },
        -4164 => VenueError::Filter {
            which: "MIN_NOTIONAL".into(),
            msg,
        },
        -2019 => VenueError::InsufficientBalance { msg },
        -2013 => VenueError::UnknownOrder { msg },
        -2011 if lower.contains("unknown order") => VenueError::UnknownOrder { msg },
        -2010 if lower.contains("insufficient balance") => VenueError::InsufficientBalance { msg },
        -2010 if lower.contains("duplicate order") => VenueError::DuplicateClientOrderId { msg },
        _ => VenueError::Rejected { code, msg },
    }
}

/// Reads usage and bans from any response.
pub fn usage(resp: &HttpResponse) -> Usage {
    let mut out = Usage::default();
    for (name, value) in &resp.headers {
        let upper = name.to_ascii_uppercase();
        let (budget, suffix) = if let Some(s) = upper.strip_prefix("X-MBX-USED-WEIGHT-") {
            (Budget::Weight, s)
        } else if let Some(s) = upper.strip_prefix("X-MBX-ORDER-COUNT-") {
            (Budget::Orders, s)
        } else {
            continue;
        };
        if let (Some(interval), Ok(used)) = (parse_interval(suffix), value.trim().parse::<u32>()) {
            out.used.push((budget, interval, used));
        }
    }
    match resp.status {
        429 => {
            let wait = retry_after_ms(resp).unwrap_or(DEFAULT_RETRY_AFTER_MS);
            out.retry_at_ms = Some(resp.received_ms.saturating_add(wait));
        }
        418 => {
            let wait = retry_after_ms(resp).unwrap_or(DEFAULT_BAN_MS);
            out.banned_until_ms = Some(resp.received_ms.saturating_add(wait));
        }
        _ => {}
    }
    out
}
