//! # Keel edge Worker
//!
//! The public face of the platform: it caps and forwards TradingView webhooks to the bot's
//! Durable Object, serves the admin API (`/api/v1`) and the dashboard, and runs the cron trigger.
//! It holds no state: bots live in `BotDO`s, the registry, tokens and halt flag in `ControlDO`,
//! historical candles in the R2 bucket `HISTORY` (read and written by `api::history_store`).
//! Every decision it makes is either a size/rate/auth check or a call into `keel-engine`.

mod access;
mod api;
mod auth;
mod chat;
mod cron;
mod env;
mod health;
mod metrics;
mod path;
mod router;
mod webhook;
mod webhook_guard;

pub use keel_durable_objects::bot::BotDO;
pub use keel_durable_objects::control::ControlDO;

use worker::{event, Context, Env, Request, Response, Result, ScheduleContext, ScheduledEvent};

/// HTTP entry: every request goes through [`router::handle`], which adds security headers.
#[event(fetch)]
pub async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    router::handle(req, env, ctx).await
}

/// Cron entry: keep-alive, exchange health probes, reconciliation, outbox flush.
#[event(scheduled)]
pub async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    cron::run(event.cron(), event.schedule() as i64, &env).await;
}
