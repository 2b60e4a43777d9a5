//! Maps paths to handlers and nothing else; adds the security headers to every answer the Worker
//! builds. Dashboard files served straight from the assets get the same headers from
//! `ui/public/_headers` (copied into `ui/dist` by the Vite build); keep the two lists equal.

use crate::{api, health, webhook};
use keel_durable_objects::http::{respond, ApiError};
use worker::{Context, Env, Method, Request, Response, Result};

/// Routes one request.
pub async fn handle(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let path = req.path();
    let method = req.method();
    let response = if path == "/health" {
        respond(health::public(&req, &env).await)
    } else if let Some(bot) = path.strip_prefix("/webhook/") {
        if method == Method::Post {
            match crate::path::segment(bot) {
                Ok(bot) => respond(webhook::handle(req, &env, &bot).await),
                Err(e) => e.to_response(),
            }
        } else {
            ApiError::new(405, "method_not_allowed", "webhooks are POST").to_response()
        }
    } else if path == "/telegram/webhook" {
        // Two-way chat control (docs/chat.md): authenticated by Telegram's secret header.
        if method == Method::Post {
            respond(crate::chat::handle(req, &env).await)
        } else {
            ApiError::new(405, "method_not_allowed", "the Telegram webhook is POST").to_response()
        }
    } else if let Some(rest) = path.strip_prefix("/api/v1") {
        let rest = rest.to_string();
        respond(api::handle(req, &env, &rest).await)
    } else {
        static_asset(req, &env).await
    };
    response.map(|r| with_security_headers(r, &env))
}

async fn static_asset(req: Request, env: &Env) -> Result<Response> {
    match env.assets(crate::env::ASSETS) {
        Ok(assets) => assets.fetch_request(req).await,
        Err(_) => ApiError::not_found("not_found", "no such route").to_response(),
    }
}

fn with_security_headers(mut resp: Response, env: &Env) -> Response {
    let headers = resp.headers_mut();
    let pairs = [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
        (
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    ];
    for (k, v) in pairs {
        let _ = headers.set(k, v);
    }
    if let Some(origin) = crate::env::get(env, crate::env::DASHBOARD_ORIGIN) {
        let _ = headers.set("Access-Control-Allow-Origin", &origin);
        let _ = headers.set("Vary", "Origin");
    }
    resp
}
