//! The documentation's examples are real: every ```json block of README.md and docs/*.md that is a
//! whole bot config (it has `"exchange"` and `"instruments"`) must pass `BotConfig::from_json`, and
//! every block that is a whole webhook alert (it has `"secret"` and `"action"`) must pass
//! `parse_signal` once TradingView's placeholders are filled in as TradingView would fill them;
//! every block that is a whole strategy spec (it has `"factors"` and a `"name"`) must pass
//! `strategy::spec::validate`.
//! Fragments (a merge patch, an answer) are not examples of either; an example meant to be refused
//! is fenced as ```text instead of ```json.
//!
//! Why: the README promises a first bot and a TradingView alert that work as pasted; a renamed
//! config field or a stricter parser must fail here, not in a new user's terminal.

use keel_engine::config::BotConfig;
use keel_engine::signal::parse_signal;
use keel_engine::strategy::spec;
use std::path::{Path, PathBuf};

/// What TradingView substitutes for the placeholders the docs use.
const PLACEHOLDERS: [(&str, &str); 7] = [
    ("{{strategy.order.id}}", "Long entry"),
    ("{{strategy.order.action}}", "buy"),
    ("{{strategy.position_size}}", "0.5"),
    ("{{ticker}}", "BINANCE:BTCUSDT"),
    ("{{timenow}}", "2026-12-07T05:00:00Z"),
    ("{{time}}", "2026-12-07T05:00:00Z"),
    ("{{close}}", "65000.5"),
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// README.md and every docs/*.md, sorted.
fn pages() -> Vec<PathBuf> {
    let root = repo_root();
    let mut pages = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .map(|dir| {
            dir.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "md"))
                .collect()
        })
        .unwrap_or_default();
    docs.sort();
    pages.extend(docs);
    pages
}

/// The ```json blocks of a page, with the line each starts on.
fn json_blocks(text: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match current.as_mut() {
            None if line.trim_start() == "```json" => current = Some((i + 1, String::new())),
            None => {}
            Some(_) if line.trim_start().starts_with("```") => {
                blocks.extend(current.take());
            }
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    blocks
}

#[test]
fn every_documented_bot_config_and_alert_parses() {
    let mut configs = 0;
    let mut alerts = 0;
    let mut specs = 0;
    let mut failures = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap_or_default();
        let name = page.strip_prefix(repo_root()).unwrap_or(&page).display();
        for (line, block) in json_blocks(&text) {
            if block.contains("\"instruments\"") && block.contains("\"exchange\"") {
                configs += 1;
                if let Err(e) = BotConfig::from_json(block.as_bytes()) {
                    failures.push(format!("{name}:{line}: bot config refused: {e}"));
                }
            } else if block.contains("\"factors\"") && block.contains("\"name\"") {
                specs += 1;
                match serde_json::from_str::<serde_json::Value>(&block) {
                    Err(e) => failures.push(format!("{name}:{line}: spec is not JSON: {e}")),
                    Ok(doc) => {
                        for issue in spec::validate(&doc) {
                            failures.push(format!(
                                "{name}:{line}: spec refused at {}: {}",
                                issue.path, issue.reason
                            ));
                        }
                    }
                }
            } else if block.contains("\"action\"") && block.contains("\"secret\"") {
                alerts += 1;
                let filled = PLACEHOLDERS
                    .iter()
                    .fold(block.clone(), |b, (from, to)| b.replace(from, to));
                if let Err(e) = parse_signal(filled.as_bytes()) {
                    failures.push(format!("{name}:{line}: alert refused: {e}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The README's first bot and its TradingView alert are among them.
    assert!(configs >= 1, "no bot config found in the docs");
    assert!(alerts >= 1, "no webhook alert found in the docs");
    // The README's spec and the strategy page's worked examples.
    assert!(specs >= 2, "no strategy spec found in the docs");
}

#[test]
fn a_broken_example_would_be_caught() {
    let blocks = json_blocks(
        "text\n```json\n{\"instruments\": [\"BTCUSDT\"], \"max_leverag\": 3}\n```\n\n```sh\nx\n```\n",
    );
    assert_eq!(blocks.len(), 1, "only the json block is read");
    assert!(BotConfig::from_json(blocks[0].1.as_bytes()).is_err());
    assert!(parse_signal(br#"{"action": "buy", "symbol": "{{ticker}}"}"#).is_err());
}
