//! The optional language-model summary (issue 24, FT-160): off by default, used only when the
//! operator supplies a provider URL and key, never on the trading path, and never trusted: its
//! text must pass [`grounding_check`] against the same facts document the rule-built summary
//! quotes, or it is discarded, the rule-built summary is used, and the reason is recorded.
//!
//! Pure: [`provider_request`] builds the request body (the OpenAI-compatible chat completions
//! shape most providers and local servers accept), [`provider_text`] reads the answer, and
//! [`choose`] decides which summary is sent. The Worker does the HTTP call.

use super::summary::{grounding_check, summarize, Facts};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The first line of every language-model summary sent, so a reader knows which kind it is.
pub const MODEL_MARK: &str =
    "[Language-model summary: checked against Keel's facts, not written by Keel's rules]";

/// Longest model text kept (characters); a longer answer is discarded.
pub const MAX_MODEL_CHARS: usize = 4_000;

/// Which summary was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SummarySource {
    /// The rule-built summary.
    Rules,
    /// The language model's, grounded.
    Model,
}

/// The summary to send and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChosenSummary {
    /// The text (a model text starts with [`MODEL_MARK`]).
    pub text: String,
    /// Which one.
    pub source: SummarySource,
    /// Why a model text was discarded (`None` when none was asked for or it was used).
    pub model_discarded: Option<String>,
}

/// The provider request body for `facts` (OpenAI-compatible chat completions).
pub fn provider_request(facts: &Facts, model: &str) -> Value {
    let facts_json = serde_json::to_string(facts).unwrap_or_default();
    json!({
        "model": model,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": "You write a short trading summary for an operator. Use only the facts given as JSON. Quote every number exactly as written in the facts; do not round, compute, add percentages or ratios, or state any number that is not in the facts."},
            {"role": "user", "content": facts_json},
        ],
    })
}

/// The text of a provider answer (`choices[0].message.content`).
///
/// # Errors
/// A reason when the answer has no text.
pub fn provider_text(answer: &Value) -> Result<String, String> {
    answer
        .get("choices")
        .and_then(|c| c.get(0))
        .and_then(|c| c.get("message"))
        .and_then(|m| m.get("content"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| "the provider's answer has no choices[0].message.content".to_string())
}

/// Chooses the summary to send: the model's text when one was asked for (`model` is `Some`),
/// arrived, is not empty or over [`MAX_MODEL_CHARS`], and states no number absent from `facts`;
/// otherwise the rule-built one, with the reason the model's was discarded.
pub fn choose(facts: &Facts, model: Option<Result<String, String>>) -> ChosenSummary {
    let rules = |why: Option<String>| ChosenSummary {
        text: summarize(facts),
        source: SummarySource::Rules,
        model_discarded: why,
    };
    let text = match model {
        None => return rules(None),
        Some(Err(e)) => return rules(Some(format!("provider: {e}"))),
        Some(Ok(t)) => t,
    };
    let text = text.trim();
    if text.is_empty() {
        return rules(Some("empty text".into()));
    }
    if text.chars().nth(MAX_MODEL_CHARS).is_some() {
        return rules(Some(format!("over {MAX_MODEL_CHARS} characters")));
    }
    let absent = grounding_check(text, facts);
    if !absent.is_empty() {
        return rules(Some(format!(
            "states numbers absent from the facts: {}",
            absent.join(", ")
        )));
    }
    ChosenSummary {
        text: format!("{MODEL_MARK}\n{text}"),
        source: SummarySource::Model,
        model_discarded: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insights::summary::BotPeriod;
    use rust_decimal_macros::dec;

    fn facts() -> Facts {
        let bots = vec![
            BotPeriod {
                bot: "btc-trend".into(),
                net_pnl: dec!(125.40),
                trades: 7,
                limits_used_pct: vec![],
            },
            BotPeriod {
                bot: "eth-mr".into(),
                net_pnl: dec!(-48.15),
                trades: 12,
                limits_used_pct: vec![],
            },
        ];
        Facts::compute("2026-12-07", "USDT", &bots, Some(dec!(50)), vec![]).unwrap()
    }

    /// A local fake provider: answers the request as a provider would, with `text`.
    fn fake_provider(request: &Value, text: &str) -> Value {
        assert_eq!(request["messages"][1]["role"], "user");
        json!({"id": "fake", "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]})
    }

    #[test]
    fn a_grounded_model_text_is_used_and_marked() {
        let f = facts();
        let req = provider_request(&f, "fake-model");
        // The facts travel as JSON the model can quote from.
        let sent: Facts =
            serde_json::from_str(req["messages"][1]["content"].as_str().unwrap()).unwrap();
        assert_eq!(sent, f);
        let answer = fake_provider(
            &req,
            "Net P&L was 77.25 USDT over 19 trades, up 27.25 USDT. btc-trend led with 125.40 USDT.",
        );
        let chosen = choose(&f, Some(provider_text(&answer)));
        assert_eq!(chosen.source, SummarySource::Model);
        assert!(chosen.text.starts_with(MODEL_MARK), "{}", chosen.text);
        assert_eq!(chosen.model_discarded, None);
    }

    #[test]
    fn an_ungrounded_empty_or_failed_model_text_falls_back_to_the_rules_with_the_reason() {
        let f = facts();
        let req = provider_request(&f, "fake-model");
        let rules = summarize(&f);
        for (text, why) in [
            (
                "Net P&L about 77.3 USDT, a 54% gain.",
                "absent from the facts: 54, 77.3",
            ),
            ("   ", "empty text"),
        ] {
            let chosen = choose(&f, Some(provider_text(&fake_provider(&req, text))));
            assert_eq!(chosen.source, SummarySource::Rules, "{text}");
            assert_eq!(chosen.text, rules);
            let reason = chosen.model_discarded.unwrap_or_default();
            assert!(reason.contains(why), "{reason}");
        }
        let broken = choose(&f, Some(provider_text(&json!({"error": "quota"}))));
        assert_eq!(broken.source, SummarySource::Rules);
        assert!(broken
            .model_discarded
            .unwrap_or_default()
            .starts_with("provider: "));
        let too_long = choose(&f, Some(Ok("a".repeat(MAX_MODEL_CHARS + 1))));
        assert_eq!(too_long.source, SummarySource::Rules);
        // Off by default: no model asked, no reason recorded.
        assert_eq!(
            choose(&f, None),
            ChosenSummary {
                text: rules,
                source: SummarySource::Rules,
                model_discarded: None
            }
        );
        assert!(!MODEL_MARK.chars().any(|c| c.is_ascii_digit()));
    }
}
