//! Admin API authentication: `Authorization: Bearer <token>`. The bootstrap `ADMIN_TOKEN` secret
//! is compared in constant time here; any other token is looked up by its SHA-256 hash in the
//! ControlDO. Handlers receive a [`Principal`] and never see the token again.

use crate::env;
use keel_durable_objects::control::{Role, TokenRow};
use keel_durable_objects::http::ApiError;
use subtle_eq::ct_eq;
use worker::{Env, Request};

/// Who is calling: the token's public id (used in audit records) and role.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Token id (`bootstrap` for the `ADMIN_TOKEN` secret).
    pub id: String,
    /// Role.
    pub role: Role,
}

impl Principal {
    /// Refuses a viewer where a write is asked.
    ///
    /// # Errors
    /// 403 `forbidden_role`.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Viewer => Err(ApiError::forbidden(
                "forbidden_role",
                "this token has the viewer role: reads only",
            )),
        }
    }

    /// The actor string recorded in audit events.
    pub fn actor(&self) -> String {
        format!("token:{}", self.id)
    }
}

mod subtle_eq {
    /// Constant-time byte comparison (length leak only).
    pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// Authenticates the request.
///
/// # Errors
/// 401 `missing_token` / `invalid_token`, or `access_required` / `access_denied` in Access mode.
pub async fn authenticate(req: &Request, env: &Env) -> Result<Principal, ApiError> {
    // Access mode (CF_ACCESS_TEAM_DOMAIN + CF_ACCESS_AUD): the person must have passed Access too.
    crate::access::check(req, env).await?;
    let header = req
        .headers()
        .get("Authorization")
        .ok()
        .flatten()
        .unwrap_or_default();
    let token = header
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized("missing_token", "send Authorization: Bearer <token>")
        })?;
    if let Some(admin) = env::get(env, env::ADMIN_TOKEN) {
        if ct_eq(admin.as_bytes(), token.as_bytes()) {
            return Ok(Principal {
                id: "bootstrap".into(),
                role: Role::Admin,
            });
        }
    }
    let body = serde_json::json!({ "token": token });
    let resp = crate::api::call_control(env, worker::Method::Post, "/auth", Some(body)).await?;
    let row: TokenRow =
        serde_json::from_value(resp).map_err(|e| ApiError::internal(format!("auth reply: {e}")))?;
    Ok(Principal {
        id: row.id,
        role: row.role,
    })
}
