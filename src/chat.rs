//! Two-way chat control (issue 24, docs/chat.md): `POST /telegram/webhook` receives the updates
//! Telegram pushes for the operator's bot, and answers each command with the Bot API's
//! `sendMessage` at the configured base URL.
//!
//! Order of checks, each refusal precise and nothing executed before the last one passes:
//! the per-IP budget (429), chat control configured (404), the body under [`MAX_UPDATE_BYTES`]
//! (413), the `X-Telegram-Bot-Api-Secret-Token` header equal to the stored secret (401, audited),
//! the update readable (400/422, `keel_engine::chat::parse_update`), the chat on the allowlist
//! (403, audited). Then the command is parsed (`keel_engine::chat::parse_command`), executed
//! through the admin API's own code paths (the bots' `/control/pause|resume|flatten`, the
//! platform halt of `api::platform`), audited in the platform chain with the chat and user, and
//! answered. `/flatten` only asks: `/confirm <code>` from the same chat within two minutes
//! flattens.

use crate::api::{call_bot, call_bots, call_control, gateway, platform};
use keel_durable_objects::control::audit::PlatformEvent;
use keel_durable_objects::http::{json, ApiError};
use keel_engine::chat::{
    confirmation_code, parse_command, parse_update, ChatError, ChatSettings, Command, Incoming,
    PendingFlatten, CONFIRM_WITHIN_MS, HELP,
};
use serde_json::{json as j, Value};
use worker::{Env, Fetch, Headers, Method, Request, RequestInit, Response};

/// Largest update accepted (bytes). A Telegram text message is at most 4096 characters; its
/// update with entities and names fits well under this.
pub const MAX_UPDATE_BYTES: usize = 64 * 1024;

/// Longest reply sent (characters; Telegram's limit is 4096).
const MAX_REPLY_CHARS: usize = 3_900;

/// The header Telegram repeats the webhook secret in.
const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";

/// Maps a reading error to its HTTP answer.
fn refusal(e: &ChatError) -> ApiError {
    match e {
        ChatError::NotAnUpdate(_) => ApiError::bad_request("not_an_update", e.to_string()),
        ChatError::NoMessage(_) => ApiError::unprocessable("no_message", e.to_string()),
        ChatError::BadField(f) => {
            ApiError::bad_request("invalid_update", e.to_string()).with_field(*f)
        }
        ChatError::TextTooLong => {
            ApiError::new(413, "text_too_long", e.to_string()).with_field("message.text")
        }
        _ => ApiError::bad_request("invalid_command", e.to_string()),
    }
}

/// The audit actor of a chat: a command from Telegram acts as `token:telegram-<chat id>` in the
/// platform and bot chains (the audit actor grammar is `token:<id>`).
fn actor(chat_id: i64) -> String {
    format!("token:telegram-{chat_id}")
}

/// Handles one webhook call.
///
/// # Errors
/// The refusals listed in the module documentation.
pub async fn handle(mut req: Request, env: &Env) -> Result<Response, ApiError> {
    gateway::rate_limit(env, &format!("ip:{}", gateway::client_ip(&req))).await?;
    let settings: ChatSettings =
        serde_json::from_value(call_control(env, Method::Get, "/chat/internal", None).await?)
            .map_err(|e| ApiError::internal(format!("chat settings: {e}")))?;
    let (Some(token), Some(secret)) = (settings.bot_token.clone(), settings.webhook_secret.clone())
    else {
        return Err(ApiError::not_found(
            "chat_not_configured",
            "chat control is off: set a bot token and a webhook secret (PUT /api/v1/chat)",
        ));
    };
    let given = req.headers().get(SECRET_HEADER).ok().flatten();
    let bytes = crate::api::read_capped(&mut req, MAX_UPDATE_BYTES, "Telegram update").await?;
    let update: Result<Value, _> = serde_json::from_slice(&bytes);
    let secret_ok = given.is_some_and(|g| crate::auth::ct_eq(g.as_bytes(), secret.as_bytes()));
    if !secret_ok {
        let claimed = update.as_ref().ok().and_then(|u| parse_update(u).ok());
        audit_refusal(env, claimed.as_ref(), "bad_secret").await;
        return Err(ApiError::unauthorized(
            "bad_secret",
            format!("missing or wrong {SECRET_HEADER}"),
        ));
    }
    let update = update
        .map_err(|e| ApiError::bad_request("invalid_json", format!("Telegram update: {e}")))?;
    let msg = parse_update(&update).map_err(|e| refusal(&e))?;
    if !settings.allowed_chat_ids.allows(msg.chat_id) {
        audit_refusal(env, Some(&msg), "chat_not_allowed").await;
        return Err(ApiError::forbidden(
            "chat_not_allowed",
            "this chat is not on the allowlist: nothing was executed",
        ));
    }
    let (command, reply, outcome) = match msg.text.as_deref().map(parse_command) {
        None => (None, HELP.to_string(), None),
        Some(Err(e)) => (None, format!("{e}\n\n{HELP}"), None),
        Some(Ok(cmd)) => {
            let (reply, outcome) = execute(env, &msg, &cmd).await;
            (Some(cmd), reply, Some(outcome))
        }
    };
    if let (Some(cmd), Some(outcome)) = (&command, &outcome) {
        let event = PlatformEvent::ChatCommand {
            chat_id: msg.chat_id,
            user_id: msg.user_id,
            username: msg.username.clone(),
            command: cmd.name().to_string(),
            bot: cmd.bot().map(|b| b.to_string()),
            outcome: outcome.clone(),
        };
        let body = j!({"actor": actor(msg.chat_id), "event": event});
        if let Err(e) = call_control(env, Method::Post, "/chat/audit", Some(body)).await {
            worker::console_error!("chat: auditing /{} failed: {}", cmd.name(), e.message);
        }
    }
    let sent = send_message(&settings, &token, msg.chat_id, &reply).await;
    if let Err(e) = &sent {
        worker::console_error!("chat: sendMessage failed: {e}");
    }
    Ok(json(
        200,
        &j!({"command": command.as_ref().map(Command::name), "outcome": outcome,
             "sent": sent.is_ok()}),
    )?)
}

/// Records a refused update in the platform chain (best effort: the refusal stands either way).
async fn audit_refusal(env: &Env, msg: Option<&Incoming>, reason: &str) {
    let command = msg
        .and_then(|m| m.text.as_deref())
        .and_then(|t| t.split_whitespace().next())
        .filter(|w| w.starts_with('/'))
        .map(|w| w.chars().take(32).collect::<String>());
    let event = PlatformEvent::ChatRefused {
        chat_id: msg.map(|m| m.chat_id),
        user_id: msg.and_then(|m| m.user_id),
        reason: reason.to_string(),
        command,
    };
    let body = j!({"actor": "webhook", "event": event});
    if let Err(e) = call_control(env, Method::Post, "/chat/audit", Some(body)).await {
        worker::console_error!("chat: auditing a refusal failed: {}", e.message);
    }
}

/// Runs a command; the reply text and the audited outcome (`ok`, `asked_confirmation`, or the
/// error code).
async fn execute(env: &Env, msg: &Incoming, cmd: &Command) -> (String, String) {
    let result = match cmd {
        Command::Help => Ok((HELP.to_string(), "ok")),
        Command::Status => status(env).await.map(|t| (t, "ok")),
        Command::Pnl => per_bot(env, "/view/pnl", pnl_line).await.map(|t| (t, "ok")),
        Command::Positions => per_bot(env, "/view/positions", positions_line)
            .await
            .map(|t| (t, "ok")),
        Command::Pause(bot) | Command::Resume(bot) => {
            let action = cmd.name();
            let body = j!({"actor": actor(msg.chat_id), "reason": format!("telegram /{action}")});
            call_bot(
                env,
                bot.as_str(),
                Method::Post,
                &format!("/control/{action}"),
                Some(body),
            )
            .await
            .map(|_| (format!("{bot}: {action}d."), "ok"))
        }
        Command::Flatten(bot) => ask_flatten(env, msg.chat_id, bot.as_str())
            .await
            .map(|t| (t, "asked_confirmation")),
        Command::Confirm(code) => confirm_flatten(env, msg.chat_id, *code)
            .await
            .map(|t| (t, "ok")),
        Command::Halt => {
            let reason = Value::String(format!("telegram /halt from chat {}", msg.chat_id));
            platform::set_halt(env, &actor(msg.chat_id), true, false, reason, |_| true)
                .await
                .map(|v| (halt_reply(&v), "ok"))
        }
    };
    match result {
        Ok((text, outcome)) => (text, outcome.to_string()),
        Err(e) => (format!("/{} failed: {}", cmd.name(), e.message), e.code),
    }
}

/// `/flatten <bot>`: a registered bot gets a confirmation question; nothing closes yet.
async fn ask_flatten(env: &Env, chat_id: i64, bot: &str) -> Result<String, ApiError> {
    let rows = call_control(env, Method::Get, "/bots", None).await?;
    let known = rows
        .as_array()
        .is_some_and(|a| a.iter().any(|r| r["id"].as_str() == Some(bot)));
    if !known {
        return Err(ApiError::not_found("unknown_bot", format!("no bot {bot}")));
    }
    let mut raw = [0u8; 4];
    getrandom::getrandom(&mut raw).map_err(|e| ApiError::internal(format!("random: {e}")))?;
    let code = confirmation_code(raw);
    let now = worker::Date::now().as_millis() as i64;
    let pending = PendingFlatten {
        chat_id,
        bot: keel_engine::ids::BotId::new(bot)
            .map_err(|e| ApiError::bad_request("invalid_bot", e.to_string()))?,
        code,
        expires_ms: now + CONFIRM_WITHIN_MS,
    };
    let body = serde_json::to_value(&pending).map_err(|e| ApiError::internal(e.to_string()))?;
    call_control(env, Method::Post, "/chat/pending", Some(body)).await?;
    Ok(format!(
        "Flatten {bot}: cancel its orders and close every position at market? Send /confirm {code} within {} minutes.",
        CONFIRM_WITHIN_MS / 60_000
    ))
}

/// `/confirm <code>`: flattens the bot the chat's pending question named.
async fn confirm_flatten(env: &Env, chat_id: i64, code: u32) -> Result<String, ApiError> {
    let v = call_control(
        env,
        Method::Post,
        "/chat/confirm",
        Some(j!({"chat_id": chat_id, "code": code})),
    )
    .await?;
    let bot = v["bot"].as_str().unwrap_or_default().to_string();
    let body = j!({"actor": actor(chat_id), "reason": "telegram /flatten confirmed"});
    call_bot(env, &bot, Method::Post, "/control/flatten", Some(body)).await?;
    Ok(format!("{bot}: flattened."))
}

/// `/status`: the platform halt and each bot's state, P&L today, equity and open positions.
async fn status(env: &Env) -> Result<String, ApiError> {
    let halt = call_control(env, Method::Get, "/halt", None).await?;
    let mut out = vec![if halt["halted"].as_bool() == Some(true) {
        format!(
            "Platform HALTED ({})",
            halt["reason"].as_str().unwrap_or("no reason given")
        )
    } else {
        "Platform running".to_string()
    }];
    out.push(per_bot(env, "/view/summary", summary_line).await?);
    Ok(out.join("\n"))
}

/// One line per registered bot from the view at `path` (`bot: error` for a bot that failed).
async fn per_bot(
    env: &Env,
    path: &str,
    line: fn(&str, &Value) -> String,
) -> Result<String, ApiError> {
    let rows = call_control(env, Method::Get, "/bots", None).await?;
    let ids: Vec<String> = rows
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if ids.is_empty() {
        return Ok("No bots.".to_string());
    }
    let lines: Vec<String> = call_bots(env, ids, Method::Get, path, None)
        .await
        .into_iter()
        .map(|(id, res)| match res {
            Ok(v) => line(&id, &v),
            Err(e) => format!("{id}: {}", e.code),
        })
        .collect();
    Ok(lines.join("\n"))
}

/// A JSON number or decimal string as written (money is never re-rounded for chat).
fn figure(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => "?".to_string(),
    }
}

/// A `/view/summary` line.
pub fn summary_line(id: &str, v: &Value) -> String {
    format!(
        "{id}: {}, P&L today {} {}, equity {}, open positions {}",
        v["state"].as_str().unwrap_or("?"),
        figure(&v["pnl_today"]),
        v["quote_asset"].as_str().unwrap_or(""),
        figure(&v["equity"]),
        figure(&v["open_positions"]),
    )
}

/// A `/view/pnl` line.
pub fn pnl_line(id: &str, v: &Value) -> String {
    format!(
        "{id}: net {} {} (realized {}, unrealized {}, fees {}, funding {})",
        figure(&v["net"]),
        v["quote_asset"].as_str().unwrap_or(""),
        figure(&v["realized"]),
        figure(&v["unrealized"]),
        figure(&v["fees"]["total_quote"]),
        figure(&v["funding"]),
    )
}

/// A `/view/positions` line.
pub fn positions_line(id: &str, v: &Value) -> String {
    let positions = v.as_array().map(Vec::as_slice).unwrap_or_default();
    if positions.is_empty() {
        return format!("{id}: flat");
    }
    let each: Vec<String> = positions
        .iter()
        .map(|p| {
            format!(
                "{} {} @ {} (unrealized {})",
                p["symbol"].as_str().unwrap_or("?"),
                figure(&p["qty"]),
                figure(&p["avg_entry_price"]),
                figure(&p["unrealized"]),
            )
        })
        .collect();
    format!("{id}: {}", each.join("; "))
}

/// The `/halt` answer from the platform halt's report.
pub fn halt_reply(v: &Value) -> String {
    let bots = v["bots"].as_object().map_or(0, serde_json::Map::len);
    let unreached: Vec<&str> = v["unreached"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if unreached.is_empty() {
        format!("Platform halted: {bots} bots refuse entries.")
    } else {
        format!(
            "Platform halted: {bots} bots; not yet confirmed by {} (they stop at their next decision).",
            unreached.join(", ")
        )
    }
}

/// Cuts a reply to [`MAX_REPLY_CHARS`] characters (on a character boundary).
pub fn clip(text: &str) -> String {
    if text.chars().nth(MAX_REPLY_CHARS).is_none() {
        return text.to_string();
    }
    let mut out: String = text.chars().take(MAX_REPLY_CHARS).collect();
    out.push_str("\n…");
    out
}

/// Calls `sendMessage` at the configured Bot API base URL.
async fn send_message(
    settings: &ChatSettings,
    token: &str,
    chat_id: i64,
    text: &str,
) -> Result<(), String> {
    let url = format!("{}/bot{token}/sendMessage", settings.api_base());
    let body = j!({"chat_id": chat_id, "text": clip(text)}).to_string();
    let headers = Headers::new();
    headers
        .set("Content-Type", "application/json")
        .map_err(|e| e.to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(body.into()));
    let req = Request::new_with_init(&url, &init).map_err(|e| e.to_string())?;
    let resp = Fetch::Request(req)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    match resp.status_code() {
        200..=299 => Ok(()),
        s => Err(format!("HTTP {s}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_quote_the_views_figures_as_written() {
        let s = j!({"state": "running", "pnl_today": "12.50", "quote_asset": "USDT",
                    "equity": "10012.50", "open_positions": 1});
        assert_eq!(
            summary_line("btc", &s),
            "btc: running, P&L today 12.50 USDT, equity 10012.50, open positions 1"
        );
        let p = j!({"net": "-3.2", "quote_asset": "USDT", "realized": "0", "unrealized": "-3.2",
                    "fees": {"total_quote": "0.1"}, "funding": "0"});
        assert_eq!(
            pnl_line("btc", &p),
            "btc: net -3.2 USDT (realized 0, unrealized -3.2, fees 0.1, funding 0)"
        );
        assert_eq!(positions_line("btc", &j!([])), "btc: flat");
        let pos = j!([{"symbol": "BTCUSDT", "qty": "0.01", "avg_entry_price": "65000", "unrealized": "1"}]);
        assert_eq!(
            positions_line("btc", &pos),
            "btc: BTCUSDT 0.01 @ 65000 (unrealized 1)"
        );
        // Garbage views never panic.
        assert!(summary_line("x", &j!(null)).starts_with("x: ?"));
        assert_eq!(positions_line("x", &j!("nope")), "x: flat");
        let h = j!({"bots": {"a": {}, "b": {}}, "unreached": ["b"]});
        assert!(halt_reply(&h).contains("not yet confirmed by b"));
        assert_eq!(
            halt_reply(&j!({"bots": {"a": {}}, "unreached": []})),
            "Platform halted: 1 bots refuse entries."
        );
    }

    #[test]
    fn replies_are_clipped_on_character_boundaries() {
        let long = "é".repeat(MAX_REPLY_CHARS + 10);
        let c = clip(&long);
        assert_eq!(c.chars().count(), MAX_REPLY_CHARS + 2);
        assert_eq!(clip("short"), "short");
    }

    #[test]
    fn refusals_are_precise() {
        assert_eq!(refusal(&ChatError::NoMessage(1)).status, 422);
        assert_eq!(refusal(&ChatError::TextTooLong).status, 413);
        let e = refusal(&ChatError::BadField("message.chat.id"));
        assert_eq!(
            (e.status, e.field.as_deref()),
            (400, Some("message.chat.id"))
        );
        assert_eq!(refusal(&ChatError::NotAnUpdate("x")).code, "not_an_update");
    }
}
