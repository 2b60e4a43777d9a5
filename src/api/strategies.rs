//! Strategy catalogue and spec validation: `GET /api/v1/strategies` (the built-in templates with
//! their parameters, and each template written as a declarative spec), `GET
//! /api/v1/strategies/schema` (the spec's JSON Schema) and `POST /api/v1/strategies/validate`
//! (the engine's own validation of a spec, every problem with its path, and the version id it
//! would run as), so an editor can check a spec as it is typed before a bot or backtest uses it.

use super::{ok, Call};
use keel_durable_objects::http::ApiError;
use keel_engine::strategy::spec::{self, StrategySpec};
use keel_engine::strategy::{Registry, StrategyError};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use worker::{Method, Response};

/// Routes `strategies/…` (segments after `strategies`).
///
/// # Errors
/// 404 for other paths; 422 for a validate body without `spec` or with non-numeric `params`.
pub fn route(ctx: &Call<'_>, method: &Method, segs: &[&str]) -> Result<Response, ApiError> {
    match (method, segs) {
        (Method::Get, []) => catalogue(),
        (Method::Get, ["schema"]) => {
            let doc: Value = serde_json::from_str(spec::SCHEMA)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            ok(200, &doc)
        }
        (Method::Post, ["validate"]) => validate(&ctx.body),
        _ => Err(ApiError::not_found("no_route", "no such API route")),
    }
}

fn catalogue() -> Result<Response, ApiError> {
    let reg = Registry::builtin();
    let templates: Vec<Value> = reg
        .names()
        .into_iter()
        .filter_map(|n| {
            reg.describe(n)
                .map(|(version, params)| json!({"name": n, "version": version, "params": params}))
        })
        .collect();
    let specs: Vec<Value> = spec::TEMPLATES
        .iter()
        .filter_map(|(template, text)| {
            serde_json::from_str::<Value>(text)
                .ok()
                .map(|doc| json!({"template": template, "spec": doc}))
        })
        .collect();
    ok(200, &json!({"templates": templates, "specs": specs}))
}

fn validate(body: &Value) -> Result<Response, ApiError> {
    let bad = |field: &str, reason: &str| {
        ApiError::unprocessable("invalid_request", reason.to_string()).with_field(field)
    };
    let doc = body
        .get("spec")
        .ok_or_else(|| bad("spec", "is required (the spec document)"))?;
    let mut params = BTreeMap::new();
    if let Some(p) = body.get("params") {
        let obj = p
            .as_object()
            .ok_or_else(|| bad("params", "must be an object of numbers"))?;
        for (k, v) in obj {
            let x = v
                .as_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| bad(&format!("params.{k}"), "must be a finite number"))?;
            params.insert(k.clone(), x);
        }
    }
    let issues = match StrategySpec::parse(doc) {
        Err(issues) => issues,
        Ok(sp) => match sp.strategy(&params) {
            Ok(built) => {
                return ok(
                    200,
                    &json!({"valid": true, "issues": [], "version": built.version(),
                        "warm_up": built.warm_up()}),
                )
            }
            Err(StrategyError::Spec(issues)) => issues,
            Err(StrategyError::BadParam {
                name,
                value,
                reason,
            }) => vec![spec::SpecIssue {
                path: format!("params.{name}"),
                reason: format!("{value} {reason}"),
            }],
            Err(StrategyError::UnknownParam { name, .. }) => vec![spec::SpecIssue {
                path: format!("params.{name}"),
                reason: "is not a parameter of this spec".into(),
            }],
            Err(e) => vec![spec::SpecIssue {
                path: ".".into(),
                reason: e.to_string(),
            }],
        },
    };
    ok(200, &json!({"valid": false, "issues": issues}))
}
