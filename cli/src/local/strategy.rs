//! `keel strategy validate FILE [--params JSON]` and `keel strategy schema`: check a declarative
//! strategy spec locally (the engine's own validation, every problem with its path) before a
//! bot or a backtest uses it, and print the JSON Schema editors can use.

use super::flags::Flags;
use super::Failure;
use keel_engine::strategy::spec::{self, StrategySpec};
use std::collections::BTreeMap;

/// Runs `keel strategy …`.
pub fn run(args: &[String]) -> Result<String, Failure> {
    match args.first().map(String::as_str) {
        Some("validate") => validate(&args[1..]),
        Some("schema") => Ok(format!("{}\n", spec::SCHEMA.trim_end())),
        _ => Err(Failure::Usage(
            "strategy: `validate FILE [--params JSON]` or `schema`".into(),
        )),
    }
}

/// Parameters from `--params` (a JSON object of numbers).
pub fn params(f: &Flags) -> Result<BTreeMap<String, f64>, Failure> {
    match f.get("params") {
        None => Ok(BTreeMap::new()),
        Some(p) => serde_json::from_str(p)
            .map_err(|e| Failure::Usage(format!("--params is not a JSON object of numbers: {e}"))),
    }
}

fn validate(args: &[String]) -> Result<String, Failure> {
    let f = Flags::parse(args, &["params"])?;
    let [path] = f.positional.as_slice() else {
        return Err(Failure::Usage("strategy validate: one spec FILE".into()));
    };
    let text = std::fs::read_to_string(path).map_err(|e| Failure::Usage(format!("{path}: {e}")))?;
    let given = params(&f)?;
    let parsed = StrategySpec::from_json(&text);
    let issues = match &parsed {
        Err(issues) => issues.clone(),
        Ok(_) if !given.is_empty() => Vec::new(),
        Ok(_) => {
            let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            spec::validate(&doc)
        }
    };
    if !issues.is_empty() {
        let lines: Vec<String> = issues.iter().map(|i| format!("  {i}")).collect();
        return Err(Failure::Run(format!(
            "{path}: {} problem(s)\n{}",
            issues.len(),
            lines.join("\n")
        )));
    }
    let Ok(sp) = parsed else {
        return Err(Failure::Run(format!("{path}: invalid")));
    };
    let built = sp
        .strategy(&given)
        .map_err(|e| Failure::Run(format!("{path}: {e}")))?;
    let v = built.version();
    let params: Vec<String> = v
        .params
        .values()
        .iter()
        .map(|(k, x)| format!("{k}={x}"))
        .collect();
    Ok(format!(
        "{path}: valid\nversion {}\nwarm-up {} bars\nparams {}\n",
        v.id,
        built.warm_up(),
        params.join(" ")
    ))
}
