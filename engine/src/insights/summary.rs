//! The written daily/weekly summary, built **by rules** from a computed facts document, and the
//! grounding check every summary (and any future language-model text) must pass: it may state no
//! number that the facts document does not contain.
//!
//! [`Facts::compute`] turns per-bot inputs into the facts (totals, the change against the previous
//! period, best and worst bot, limits used at 80 % or more, anomalies); [`summarize`] writes
//! sentences that only quote those facts; [`grounding_check`] extracts every number from a text and
//! looks each one up among the numbers of the facts' JSON (identifiers and dates included), so a
//! sentence that invents, rounds differently or recomputes a figure is refused.

use super::anomaly::Anomaly;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::str::FromStr;

/// One bot's figures over the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotPeriod {
    /// Bot id.
    pub bot: String,
    /// Net P&L over the period, quote currency.
    pub net_pnl: Decimal,
    /// Closed trades.
    pub trades: u32,
    /// The highest share of a risk limit used over the period, percent (`max_daily_loss` 85 %).
    #[serde(default)]
    pub limits_used_pct: Vec<(String, Decimal)>,
}

/// The facts document a summary may quote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// `2026-12-07` or `2026-W49`.
    pub period: String,
    /// Quote currency of the totals.
    pub quote: String,
    /// Sum of the bots' net P&L.
    pub total_net_pnl: Decimal,
    /// The previous period's total, when known.
    pub previous_total_net_pnl: Option<Decimal>,
    /// `total − previous`, when known.
    pub change: Option<Decimal>,
    /// Closed trades, all bots.
    pub trades: u32,
    /// Best bot and its net P&L.
    pub best: Option<(String, Decimal)>,
    /// Worst bot and its net P&L (only when several bots).
    pub worst: Option<(String, Decimal)>,
    /// `(bot, limit, percent used)` at 80 % or more.
    pub limits_near: Vec<(String, String, Decimal)>,
    /// Execution anomalies raised in the period.
    pub anomalies: Vec<Anomaly>,
}

impl Facts {
    /// Computes the facts from the bots' figures. Sums are exact (`rust_decimal`); `None` on
    /// overflow.
    pub fn compute(
        period: &str,
        quote: &str,
        bots: &[BotPeriod],
        previous_total: Option<Decimal>,
        anomalies: Vec<Anomaly>,
    ) -> Option<Facts> {
        let mut total = Decimal::ZERO;
        let mut trades = 0u32;
        for b in bots {
            total = total.checked_add(b.net_pnl)?;
            trades = trades.saturating_add(b.trades);
        }
        let best = bots
            .iter()
            .max_by(|a, b| a.net_pnl.cmp(&b.net_pnl).then(b.bot.cmp(&a.bot)))
            .map(|b| (b.bot.clone(), b.net_pnl));
        let worst = (bots.len() > 1)
            .then(|| {
                bots.iter()
                    .min_by(|a, b| a.net_pnl.cmp(&b.net_pnl).then(a.bot.cmp(&b.bot)))
                    .map(|b| (b.bot.clone(), b.net_pnl))
            })
            .flatten();
        let mut limits_near = Vec::new();
        for b in bots {
            for (limit, pct) in &b.limits_used_pct {
                if *pct >= Decimal::from(80) {
                    limits_near.push((b.bot.clone(), limit.clone(), *pct));
                }
            }
        }
        let change = match previous_total {
            Some(p) => Some(total.checked_sub(p)?),
            None => None,
        };
        Some(Facts {
            period: period.to_string(),
            quote: quote.to_string(),
            total_net_pnl: total,
            previous_total_net_pnl: previous_total,
            change,
            trades,
            best,
            worst,
            limits_near,
            anomalies,
        })
    }
}

/// The summary text, one sentence per fact, quoting only the facts' own figures.
pub fn summarize(f: &Facts) -> String {
    let mut out = vec![format!(
        "Summary for {}: net P&L {} {} over {} closed trades.",
        f.period, f.total_net_pnl, f.quote, f.trades
    )];
    if let (Some(prev), Some(change)) = (f.previous_total_net_pnl, f.change) {
        let word = if change > Decimal::ZERO {
            "up"
        } else if change < Decimal::ZERO {
            "down"
        } else {
            "unchanged"
        };
        out.push(format!(
            "Against the previous period ({prev} {}), {word} by {} {}.",
            f.quote,
            change.abs(),
            f.quote
        ));
    }
    if let Some((bot, pnl)) = &f.best {
        out.push(format!("Best bot: {bot} ({pnl} {}).", f.quote));
    }
    if let Some((bot, pnl)) = &f.worst {
        out.push(format!("Worst bot: {bot} ({pnl} {}).", f.quote));
    }
    for (bot, limit, pct) in &f.limits_near {
        out.push(format!("{bot} used {pct}% of its {limit} limit."));
    }
    if f.anomalies.is_empty() {
        out.push("No execution anomaly.".to_string());
    }
    for a in &f.anomalies {
        out.push(format!(
            "Execution anomaly on {} {}: {:?} ({:?}).",
            a.venue, a.symbol, a.metric, a.kind
        ));
    }
    out.join("\n")
}

/// Every number written in `text` (digits with at most one inner `.`), normalised; signs and
/// thousands separators are not part of a number here, so `-1,250.5` yields `1` and `250.5`.
pub fn numbers_in(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let dot_inside = c == '.'
            && !cur.is_empty()
            && !cur.contains('.')
            && chars.peek().is_some_and(char::is_ascii_digit);
        if c.is_ascii_digit() || dot_inside {
            cur.push(c);
            continue;
        }
        flush(&mut cur, &mut out);
    }
    flush(&mut cur, &mut out);
    out
}

fn flush(cur: &mut String, out: &mut BTreeSet<String>) {
    if !cur.is_empty() {
        let n = Decimal::from_str(cur)
            .map(|d| d.normalize().to_string())
            .unwrap_or_else(|_| cur.clone());
        out.insert(n);
        cur.clear();
    }
}

/// The numbers of `text` absent from the facts (empty: grounded).
pub fn grounding_check(text: &str, facts: &Facts) -> Vec<String> {
    let known = numbers_in(&serde_json::to_string(facts).unwrap_or_default());
    numbers_in(text)
        .into_iter()
        .filter(|n| !known.contains(n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insights::anomaly::{AnomalyKind, ExecMetric};
    use rust_decimal_macros::dec;

    fn bots() -> Vec<BotPeriod> {
        vec![
            BotPeriod {
                bot: "btc-trend".into(),
                net_pnl: dec!(125.40),
                trades: 7,
                limits_used_pct: vec![("max_daily_loss".into(), dec!(20))],
            },
            BotPeriod {
                bot: "eth-mr-2".into(),
                net_pnl: dec!(-48.15),
                trades: 12,
                limits_used_pct: vec![("max_open_positions".into(), dec!(85))],
            },
        ]
    }

    #[test]
    fn the_summary_states_the_facts_and_only_them() {
        let anomaly = Anomaly {
            venue: "bybit".into(),
            symbol: "SOLUSDT".into(),
            metric: ExecMetric::SlippageBps,
            kind: AnomalyKind::Cusum,
            observation: 412,
            baseline: 2.0,
            statistic: 10.5,
        };
        let f =
            Facts::compute("2026-12-07", "USDT", &bots(), Some(dec!(50)), vec![anomaly]).unwrap();
        assert_eq!(f.total_net_pnl, dec!(77.25));
        assert_eq!(f.change, Some(dec!(27.25)));
        let text = summarize(&f);
        assert!(
            text.contains("net P&L 77.25 USDT over 19 closed trades"),
            "{text}"
        );
        assert!(text.contains("up by 27.25 USDT"), "{text}");
        assert!(text.contains("Best bot: btc-trend (125.40 USDT)"), "{text}");
        assert!(text.contains("Worst bot: eth-mr-2 (-48.15 USDT)"), "{text}");
        assert!(
            text.contains("eth-mr-2 used 85% of its max_open_positions limit"),
            "{text}"
        );
        assert!(
            text.contains("Execution anomaly on bybit SOLUSDT"),
            "{text}"
        );
        assert!(
            grounding_check(&text, &f).is_empty(),
            "{:?}",
            grounding_check(&text, &f)
        );
    }

    #[test]
    fn an_invented_or_recomputed_number_fails_the_grounding_check() {
        let f = Facts::compute("2026-W49", "USDT", &bots(), None, Vec::new()).unwrap();
        let text = summarize(&f);
        assert!(grounding_check(&text, &f).is_empty());
        // A rounded figure, a made-up percentage and a ratio the facts do not hold.
        for bad in [
            "Net P&L about 77.3 USDT.",
            "Win rate 64%.",
            "btc-trend made 2.6 times eth-mr-2's loss.",
        ] {
            assert!(!grounding_check(bad, &f).is_empty(), "{bad} passed");
        }
        assert_eq!(
            numbers_in("v1.2 -1,250.5 and 3. end 0.50"),
            ["1", "1.2", "250.5", "3", "0.5"]
                .iter()
                .map(|s| s.to_string())
                .collect()
        );
    }

    mod proptests {
        use super::*;
        use crate::prop_seed;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(prop_seed::config(128))]

            /// Whatever the figures, the rule-built summary is grounded in its facts.
            #[test]
            fn every_summary_is_grounded(
                pnls in proptest::collection::vec((-1_000_000i64..1_000_000, 0u32..500, 0i64..120), 1..8),
                prev in proptest::option::of(-1_000_000i64..1_000_000),
            ) {
                let bots: Vec<BotPeriod> = pnls.iter().enumerate().map(|(k, (p, t, l))| BotPeriod {
                    bot: format!("bot-{k}"),
                    net_pnl: Decimal::new(*p, 2),
                    trades: *t,
                    limits_used_pct: vec![("max_daily_loss".into(), Decimal::from(*l))],
                }).collect();
                let f = Facts::compute("2026-12-07", "USDT", &bots, prev.map(|p| Decimal::new(p, 2)), Vec::new()).unwrap();
                let text = summarize(&f);
                prop_assert!(grounding_check(&text, &f).is_empty(), "{}", text);
            }
        }
    }
}
