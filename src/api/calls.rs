//! The call logger's admin routes (`/api/v1/calls…`, docs/calls.md): influencer and channel calls,
//! their versions, stored scores and the leaderboard per source. Calls span bots, so they live in
//! the `ControlDO` (`keel_durable_objects::control::calls`), which parses, hashes and scores with
//! the engine and answers engine errors as HTTP; this file only forwards.

use super::{call_control, ok, Call};
use keel_durable_objects::http::ApiError;
use worker::{Method, Response};

/// Forwards `/calls…` (segments after `calls`) to the ControlDO with the same method and body.
///
/// # Errors
/// The ControlDO's [`ApiError`] (400 on bad input, 404 unknown call, 409 duplicate id), or 405.
pub async fn route(ctx: &Call<'_>, method: &Method, rest: &[&str]) -> Result<Response, ApiError> {
    let allowed = matches!(
        (method, rest),
        (Method::Get, [] | [_]) | (Method::Post, []) | (Method::Post, [_, "versions" | "score"])
    );
    if !allowed {
        return Err(ApiError::new(
            405,
            "method_not_allowed",
            "calls: GET /calls, POST /calls, GET /calls/leaderboard, GET /calls/{id}, POST /calls/{id}/versions, POST /calls/{id}/score",
        ));
    }
    let mut path = String::from("/calls");
    for seg in rest {
        path.push('/');
        path.push_str(&crate::path::encode(seg));
    }
    let body = (*method == Method::Post).then(|| ctx.body.clone());
    // A new call or a new version is created (201); reads and scoring answer 200.
    let created = *method == Method::Post && rest.last() != Some(&"score");
    ok(
        if created { 201 } else { 200 },
        &call_control(ctx.env, method.clone(), &path, body).await?,
    )
}
