//! Per-call cost of the webhook decision path that runs inside the Durable Object, natively:
//! `parse_signal` (schema), `accept_webhook` (size, IP, secret, schema, freshness) and
//! `bot::decide` (sizing + every risk rule). Why: the design budget (webhook receipt to the
//! exchange call, p99 < 25 ms of our own time) is mostly I/O and runtime overhead; these numbers
//! show how little of it the pure domain logic takes, and catch regressions in it.
//!
//! Run: `cargo bench -p keel-engine --bench signal` (also part of `npm run bench`).

#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use keel_engine::bot::{decide, BotState, MarketFacts};
use keel_engine::config::BotConfig;
use keel_engine::ids::{BotId, Symbol};
use keel_engine::ledger::{Ledger, LedgerConfig, LedgerEntry, PnlMethod, Transfer};
use keel_engine::model::InstrumentRules;
use keel_engine::signal::intake::{accept_webhook, WebhookRequest};
use keel_engine::signal::parse_signal;
use rust_decimal_macros::dec;
use serde_json::json;
use std::hint::black_box;

/// A fixed clock: 2023-11-14T22:13:20Z.
const NOW_MS: i64 = 1_700_000_000_000;
const SECRET: &str = "bench-webhook-secret-0123456789";

/// A TradingView-style alert as the bot receives it.
fn body() -> Vec<u8> {
    json!({
        "secret": SECRET, "id": "sig-bench-000001", "action": "buy", "symbol": "BTCUSDT",
        "qty": "0.001", "price": "65000.10", "time": "2023-11-14T22:13:20Z"
    })
    .to_string()
    .into_bytes()
}

fn config() -> Result<BotConfig, Box<dyn std::error::Error>> {
    Ok(BotConfig::from_value(json!({
        "id": "bench-bot", "name": "Bench", "exchange": "binance", "market": "spot", "mode": "paper",
        "instruments": ["BTCUSDT", "ETHUSDT"], "sizing": {"mode": "fixed_qty", "value": "0.001"},
        "risk": {"max_order_notional": "1000", "max_signal_age_secs": 30},
        "allowed_ips": []
    }))?)
}

fn rules() -> Result<InstrumentRules, Box<dyn std::error::Error>> {
    Ok(InstrumentRules {
        symbol: Symbol::new("BTCUSDT")?,
        base_asset: "BTC".into(),
        quote_asset: "USDT".into(),
        tick_size: dec!(0.01),
        step_size: dec!(0.00001),
        min_qty: dec!(0.00001),
        max_qty: dec!(9000),
        max_market_qty: dec!(100),
        min_notional: dec!(5),
        min_price: dec!(0.01),
        max_price: dec!(1000000),
    })
}

fn benches(c: &mut Criterion) {
    let setup = || -> Result<_, Box<dyn std::error::Error>> {
        let config = config()?;
        let bot_id = BotId::new("bench-bot")?;
        let mut ledger = Ledger::new(LedgerConfig {
            bot_id: bot_id.clone(),
            quote_asset: "USDT".into(),
            market: config.market,
            method: PnlMethod::AverageCost,
        });
        ledger.book(&LedgerEntry::Transfer(Transfer {
            id: "capital".into(),
            amount: dec!(10000),
            time_ms: NOW_MS - 1,
        }))?;
        let facts = MarketFacts {
            price: dec!(65000),
            rules: rules()?,
            free_base: Some(dec!(0)),
        };
        Ok((config, bot_id, ledger, facts))
    };
    let (config, bot_id, ledger, facts) = match setup() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bench setup failed: {e}");
            std::process::exit(1);
        }
    };
    let body = body();
    let state = BotState::default();
    let request = WebhookRequest {
        body: &body,
        signature: None,
        client_ip: Some("52.89.214.238"),
    };

    // Sanity: the measured path must succeed, or the numbers measure an early error return.
    let parsed = match accept_webhook(&request, &config, SECRET.as_bytes(), NOW_MS) {
        Ok((p, _)) => p,
        Err(e) => {
            eprintln!("bench input rejected by accept_webhook: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = decide(&bot_id, &config, &parsed, &facts, &ledger, &state, NOW_MS) {
        eprintln!("bench input rejected by decide: {} {}", e.code, e.message);
        std::process::exit(1);
    }

    let mut g = c.benchmark_group("signal");
    g.bench_function("parse_signal", |b| {
        b.iter(|| parse_signal(black_box(&body)))
    });
    g.bench_function("accept_webhook", |b| {
        b.iter(|| accept_webhook(black_box(&request), &config, SECRET.as_bytes(), NOW_MS))
    });
    g.bench_function("decide", |b| {
        // `.ok()`: criterion keeps the output alive; the large `Rejection` need not cross the closure.
        b.iter(|| {
            decide(
                &bot_id,
                &config,
                black_box(&parsed),
                &facts,
                &ledger,
                &state,
                NOW_MS,
            )
            .ok()
        })
    });
    g.bench_function("accept_webhook+decide", |b| {
        b.iter(|| {
            accept_webhook(black_box(&request), &config, SECRET.as_bytes(), NOW_MS)
                .ok()
                .and_then(|(p, _)| {
                    decide(&bot_id, &config, &p, &facts, &ledger, &state, NOW_MS).ok()
                })
        })
    });
    g.finish();
}

criterion_group! {
    name = signal;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = benches
}
criterion_main!(signal);
