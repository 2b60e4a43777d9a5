//! The decision core on realistic inputs: admission statuses, sizing + risk verdicts, booking.

use super::*;
use crate::ids::{BotId, Symbol};
use crate::ledger::{Ledger, LedgerConfig, LedgerEntry, PnlMethod, Transfer};
use crate::model::{Fill, InstrumentRules, Side};
use rust_decimal_macros::dec;
use serde_json::json;

const NOW: i64 = 1_795_560_000_000;

fn config(extra: serde_json::Value) -> BotConfig {
    let mut base = json!({
        "id": "bot", "name": "Bot", "exchange": "binance", "market": "spot", "mode": "paper",
        "instruments": ["BTCUSDT"], "sizing": {"mode": "fixed_quote", "value": "100"},
        "risk": {"max_signal_age_secs": 30}
    });
    merge(&mut base, &extra);
    BotConfig::from_value(base).unwrap()
}

/// JSON merge-patch (RFC 7386), enough for test fixtures.
fn merge(target: &mut serde_json::Value, patch: &serde_json::Value) {
    if let (Some(t), Some(p)) = (target.as_object_mut(), patch.as_object()) {
        for (k, v) in p {
            match t.get_mut(k) {
                Some(existing) if v.is_object() && existing.is_object() => merge(existing, v),
                _ => {
                    t.insert(k.clone(), v.clone());
                }
            }
        }
    }
}

fn rules() -> InstrumentRules {
    InstrumentRules {
        symbol: Symbol::new("BTCUSDT").unwrap(),
        base_asset: "BTC".into(),
        quote_asset: "USDT".into(),
        tick_size: dec!(0.01),
        step_size: dec!(0.00001),
        min_qty: dec!(0.00001),
        max_qty: dec!(9000),
        max_market_qty: dec!(0),
        min_notional: dec!(5),
        min_price: dec!(0.01),
        max_price: dec!(1000000),
    }
}

fn ledger(capital: rust_decimal::Decimal) -> Ledger {
    let mut l = Ledger::new(LedgerConfig {
        bot_id: BotId::new("bot").unwrap(),
        quote_asset: "USDT".into(),
        market: crate::model::Market::Spot,
        method: PnlMethod::AverageCost,
    });
    if !capital.is_zero() {
        l.book(&LedgerEntry::Transfer(Transfer {
            id: "c".into(),
            amount: capital,
            time_ms: NOW - 1_000,
        }))
        .unwrap();
    }
    l
}

fn body(secret: &str, action: &str) -> Vec<u8> {
    format!(r#"{{"secret":"{secret}","id":"s1","action":"{action}","symbol":"BINANCE:BTCUSDT","time":{}}}"#, NOW / 1000).into_bytes()
}

fn inbound<'a>(b: &'a [u8], ip: Option<&'a str>) -> Inbound<'a> {
    Inbound {
        body: b,
        signature: None,
        ip,
        received_ms: NOW,
    }
}

#[test]
fn admission_statuses() {
    let open = config(json!({}));
    let tv = config(json!({"allowed_ips": ["tradingview"]}));
    let good = body("s3cret", "buy");
    let wrong = body("nope", "buy");
    let junk = br#"{"secret":"s3cret","action":"buy","symbol":"BTCUSDT","qyt":"1"}"#.to_vec();
    let big = vec![b' '; crate::signal::MAX_BODY_BYTES + 1];
    struct Case<'a> {
        cfg: &'a BotConfig,
        body: &'a [u8],
        ip: Option<&'a str>,
        expected: Result<(), u16>,
    }
    let cases = [
        Case {
            cfg: &open,
            body: &good,
            ip: None,
            expected: Ok(()),
        },
        Case {
            cfg: &open,
            body: &wrong,
            ip: None,
            expected: Err(401),
        },
        Case {
            cfg: &open,
            body: &junk,
            ip: None,
            expected: Err(400),
        },
        Case {
            cfg: &open,
            body: &big,
            ip: None,
            expected: Err(413),
        },
        Case {
            cfg: &tv,
            body: &good,
            ip: Some("10.0.0.1"),
            expected: Err(403),
        },
        Case {
            cfg: &tv,
            body: &good,
            ip: Some("52.89.214.238"),
            expected: Ok(()),
        },
    ];
    for (i, c) in cases.iter().enumerate() {
        let got = admit(&inbound(c.body, c.ip), c.cfg, "s3cret")
            .map(|_| ())
            .map_err(|r| r.status);
        assert_eq!(got, c.expected, "case {i}");
    }
}

#[test]
fn decide_sizes_rounds_and_derives_the_client_order_id() {
    let cfg = config(json!({}));
    let parsed = admit(&inbound(&body("s", "buy"), None), &cfg, "s").unwrap();
    let market = MarketFacts {
        price: dec!(65000),
        rules: rules(),
        free_base: None,
    };
    let d = decide(
        &cfg.id,
        &cfg,
        &parsed,
        &market,
        &ledger(dec!(10000)),
        &BotState::default(),
        NOW,
    )
    .unwrap();
    assert_eq!(d.orders.len(), 1);
    let req = &d.orders[0].get().request;
    // 100 USDT / 65000 = 0.0015384… rounded DOWN to the 0.00001 step.
    assert_eq!(req.qty, crate::model::OrderQty::Base(dec!(0.00153)));
    assert_eq!(req.side, Side::Buy);
    let again = decide(
        &cfg.id,
        &cfg,
        &parsed,
        &market,
        &ledger(dec!(10000)),
        &BotState::default(),
        NOW,
    )
    .unwrap();
    assert_eq!(
        again.orders[0].get().request.client_order_id,
        req.client_order_id,
        "retries reuse the id"
    );
    assert!(d.checks[0]
        .iter()
        .any(|c| c.rule == crate::risk::RiskRule::MaxOrderNotional));
}

#[test]
fn decide_refusals_name_their_rule_and_status() {
    let market = MarketFacts {
        price: dec!(65000),
        rules: rules(),
        free_base: None,
    };
    let cases: [(
        serde_json::Value,
        BotState,
        rust_decimal::Decimal,
        u16,
        &str,
    ); 4] = [
        (
            json!({"sizing": {"mode": "fixed_qty", "value": "0.001"}, "risk": {"max_order_notional": "50"}}),
            BotState::default(),
            dec!(10000),
            422,
            "risk_max_order_notional",
        ),
        (
            json!({}),
            BotState {
                paused: true,
                ..BotState::default()
            },
            dec!(10000),
            423,
            "risk_bot_paused",
        ),
        (
            json!({}),
            BotState {
                halted: true,
                ..BotState::default()
            },
            dec!(10000),
            423,
            "risk_platform_halted",
        ),
        (
            json!({"sizing": {"mode": "pct_equity", "value": "5"}}),
            BotState::default(),
            dec!(0),
            422,
            "no_capital",
        ),
    ];
    for (i, (extra, state, capital, status, code)) in cases.into_iter().enumerate() {
        let cfg = config(extra);
        let parsed = admit(&inbound(&body("s", "buy"), None), &cfg, "s").unwrap();
        let err = decide(
            &cfg.id,
            &cfg,
            &parsed,
            &market,
            &ledger(capital),
            &state,
            NOW,
        )
        .unwrap_err();
        assert_eq!(
            (err.status, err.code.as_str()),
            (status, code),
            "case {i}: {}",
            err.message
        );
    }
}

#[test]
fn booking_is_idempotent_and_refuses_unpriced_third_asset_fees() {
    let fill = |id: &str, fee_asset: &str| Fill {
        trade_id: id.into(),
        order_id: "1".into(),
        client_order_id: None,
        symbol: Symbol::new("BTCUSDT").unwrap(),
        side: Side::Buy,
        price: dec!(65000),
        qty: dec!(0.001),
        fee: dec!(0.01),
        fee_asset: fee_asset.into(),
        time_ms: NOW,
        is_maker: false,
    };
    let mut l = ledger(dec!(10000));
    let prices = crate::ledger::FeePrices::none();
    let ex = crate::model::Exchange::Binance;
    let mk = crate::model::Market::Spot;
    let first = book_fills(
        &mut l,
        &[fill("1", "USDT")],
        &rules(),
        &prices,
        ex,
        mk,
        &Actor::Webhook,
        None,
        None,
    )
    .unwrap();
    assert_eq!(
        (first.entries.len(), first.drafts.len(), first.booked.len()),
        (1, 3, 1)
    );
    let second = book_fills(
        &mut l,
        &[fill("1", "USDT")],
        &rules(),
        &prices,
        ex,
        mk,
        &Actor::Webhook,
        None,
        None,
    )
    .unwrap();
    assert!(
        second.entries.is_empty() && second.drafts.is_empty(),
        "a fill is booked once"
    );
    assert!(book_fills(
        &mut l,
        &[fill("2", "BNB")],
        &rules(),
        &prices,
        ex,
        mk,
        &Actor::Webhook,
        None,
        None
    )
    .is_err());
    let mut priced = crate::ledger::FeePrices::none();
    let valuation = crate::ledger::FeeValuation {
        price: dec!(600),
        source: crate::ledger::FeeSource::Kline {
            symbol: "BNBUSDT".into(),
            open_time_ms: NOW - NOW.rem_euclid(60_000),
            interval_ms: 60_000,
        },
    };
    priced.insert(&fill("2", "BNB"), valuation.clone());
    let third = book_fills(
        &mut l,
        &[fill("2", "BNB")],
        &rules(),
        &priced,
        ex,
        mk,
        &Actor::Webhook,
        None,
        None,
    )
    .unwrap();
    assert_eq!(third.booked[0].fee_quote, dec!(6.00));
    // The valuation's source is kept with the fill (its P&L detail) and in the ledger entry.
    assert_eq!(third.booked[0].fee_source, Some(valuation.source.clone()));
    assert_eq!(third.booked[0].fee_asset_price, Some(dec!(600)));
    assert!(
        matches!(&third.entries[0], LedgerEntry::Fill(b) if b.fee_source.as_deref() == Some(&valuation.source))
    );
}

fn signal_on(symbol: &str, action: &str) -> crate::signal::Signal {
    let b = format!(
        r#"{{"secret":"s","id":"s1","action":"{action}","symbol":"BINANCE:{symbol}","time":{}}}"#,
        NOW / 1000
    );
    crate::signal::parse_signal(b.as_bytes()).unwrap().signal
}

#[test]
fn whitelisted_symbol_goes_on_without_reading_holdings() {
    let c = config(json!({}));
    let s = signal_on("BTCUSDT", "buy");
    assert!(
        whitelist_refusal(&c, &s, |_| panic!("holdings read for a whitelisted symbol")).is_none()
    );
}

#[test]
fn unlisted_symbol_not_held_is_refused_with_the_rule_and_limit() {
    let c = config(json!({}));
    let s = signal_on("ETHUSDT", "buy");
    let mut asked = None;
    let r = whitelist_refusal(&c, &s, |sym| {
        asked = Some(sym.clone());
        false
    })
    .expect("refused");
    assert_eq!(asked.as_ref().map(|s| s.as_str()), Some("ETHUSDT"));
    assert_eq!((r.status, r.code.as_str()), (422, "risk_whitelist"));
    assert_eq!(r.message, "ETHUSDT is not in the bot's instruments");
    assert_eq!(r.field.as_deref(), Some("symbol"));
    assert_eq!(
        r.detail.as_deref(),
        Some(&json!({"rule": "whitelist", "limit": ["BTCUSDT"], "observed": "ETHUSDT"}))
    );
}

#[test]
fn unlisted_symbol_still_held_goes_on() {
    let c = config(json!({}));
    let s = signal_on("ETHUSDT", "sell");
    assert!(whitelist_refusal(&c, &s, |_| true).is_none());
}

#[test]
fn closing_or_cancelling_an_unlisted_symbol_goes_on() {
    let c = config(json!({}));
    for action in ["close", "cancel_all"] {
        let s = signal_on("ETHUSDT", action);
        assert!(
            whitelist_refusal(&c, &s, |_| panic!("holdings read for {action}")).is_none(),
            "{action}"
        );
    }
}
