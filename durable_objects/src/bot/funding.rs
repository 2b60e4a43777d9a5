//! Funding on an account shared by several bots: each bot books its own share of the account's
//! charge, pro rata to its position at the funding time, as decided by the account's Durable
//! Object (`crate::account`, which asks every bot on the key for its position through
//! [`position_route`]). The shares sum exactly to the exchange's charge; a bot alone on its
//! account books the charge whole, as before sharing existed. The rule is documented in
//! `docs/pnl.md`.

use super::exchange::Link;
use super::BotDO;
use crate::account::{FundingShareRequest, FundingSplit, PositionAnswer};
use crate::db::{int, text};
use crate::http::{json, ApiError};
use keel_engine::audit::Actor;
use keel_engine::ids::Symbol;
use keel_engine::ledger::{position_at, BookedFill, FundingPayment};
use keel_engine::model::Fill;
use serde::Deserialize;
use worker::{Method, Request, RequestInit, Response};

fn param(query: Option<&str>, name: &str) -> Option<String> {
    // Decoded as a form query (the account name carries `:` and `/`, sent percent-encoded).
    let url = worker::Url::parse(&format!("https://bot/?{}", query?)).ok()?;
    let found = url
        .query_pairs()
        .find_map(|(k, v)| (k == name).then(|| v.into_owned()));
    found
}

/// `GET /{bot}/funding/position?symbol=&time_ms=&account=`: the bot's signed position in
/// `symbol` at `time_ms` from its booked fills, and whether it trades on `account`. Read-only
/// and without the execution lock: the account asks while another bot (or this one) is in the
/// middle of its reconciliation.
///
/// # Errors
/// 400 on a missing or malformed parameter; 404 for a bot without a config.
pub fn position_route(bot: &BotDO, query: Option<&str>) -> Result<Response, ApiError> {
    let bad = |field: &str| {
        ApiError::bad_request(
            "invalid_query",
            format!("query parameter {field} is required and must be valid"),
        )
    };
    let symbol = param(query, "symbol")
        .and_then(|s| Symbol::new(s).ok())
        .ok_or_else(|| bad("symbol"))?;
    let time_ms = param(query, "time_ms")
        .and_then(|t| t.parse::<i64>().ok())
        .ok_or_else(|| bad("time_ms"))?;
    let account = param(query, "account").ok_or_else(|| bad("account"))?;
    let stored = super::config::load_config(bot)?;
    let link = Link::open(bot, &stored.config, Actor::System)?;
    let fills = booked_fills(bot, &symbol, Some(time_ms))?;
    Ok(json(
        200,
        &PositionAnswer {
            position: position_at(&fills, &symbol, time_ms),
            on_account: link.account() == account,
        },
    )?)
}

/// The bot's booked fills in `symbol` (up to `until_ms` when given).
pub fn booked_fills(
    bot: &BotDO,
    symbol: &Symbol,
    until_ms: Option<i64>,
) -> Result<Vec<Fill>, ApiError> {
    #[derive(Deserialize)]
    struct Row {
        body: String,
    }
    let rows: Vec<Row> = bot.db.rows(
        "SELECT body FROM fills WHERE symbol = ? AND time_ms <= ?",
        vec![text(symbol.as_str()), int(until_ms.unwrap_or(i64::MAX))],
    )?;
    Ok(rows
        .into_iter()
        .filter_map(|r| serde_json::from_str::<BookedFill>(&r.body).ok())
        .map(|b| b.fill)
        .collect())
}

/// This bot's shares of account funding charges it held a position for (`held`, from
/// `keel_engine::ledger::held_funding`), `fills` being every fill of the bot in the symbol
/// (booked, and the exchange's trades of its orders this run books). Each share is asked of the
/// account's Durable Object; a charge the bot has no share of is left out.
///
/// A charge that cannot be split (the bots' positions net to zero under a non-zero charge: a
/// position on the account that is no Keel bot's) is not booked and is returned apart, for the
/// caller to report.
///
/// # Errors
/// 503 when the account cannot decide a split now (another bot cannot be asked): the caller
/// commits nothing and its next reconciliation asks again.
pub async fn shares(
    link: &Link<'_>,
    bot: &BotDO,
    config: &keel_engine::config::BotConfig,
    held: Vec<FundingPayment>,
    fills: &[Fill],
) -> Result<(Vec<FundingPayment>, Vec<FundingPayment>), ApiError> {
    let mut out = Vec::with_capacity(held.len());
    let mut unsplittable = Vec::new();
    for payment in held {
        let position = position_at(fills, &payment.symbol, payment.time_ms);
        let request = FundingShareRequest {
            account: link.account().to_string(),
            bot: config.id.clone(),
            position,
            payment,
        };
        let split = match ask(bot, link.account(), &request).await {
            Ok(split) => split,
            Err(e) if e.status == 422 => {
                unsplittable.push(request.payment);
                continue;
            }
            Err(e) => return Err(e),
        };
        if let Some((_, share)) = split.shares.into_iter().find(|(b, _)| b == &config.id) {
            out.push(share);
        }
    }
    Ok((out, unsplittable))
}

async fn ask(
    bot: &BotDO,
    account: &str,
    request: &FundingShareRequest,
) -> Result<FundingSplit, ApiError> {
    let unavailable = |e: String| ApiError::unavailable("funding_split_unavailable", e);
    let text = serde_json::to_string(request).map_err(|e| ApiError::internal(e.to_string()))?;
    let stub = bot
        .env
        .durable_object("ACCOUNT")
        .and_then(|ns| ns.get_by_name(account))
        .map_err(|e| unavailable(e.to_string()))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(text.into()));
    let req = Request::new_with_init("https://account/funding/share", &init)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut resp = stub
        .fetch_with_request(req)
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    if resp.status_code() != 200 {
        let body = resp.text().await.unwrap_or_default();
        return Err(ApiError::new(
            resp.status_code(),
            "funding_split_failed",
            format!("account: {body}"),
        ));
    }
    resp.json::<FundingSplit>()
        .await
        .map_err(|e| unavailable(e.to_string()))
}
