use super::*;
use rust_decimal_macros::dec;
use serde_json::{json, Value};

/// A complete, valid bot config as the admin API receives it (shared with `hostile_tests`).
pub(crate) fn base() -> Value {
    json!({
        "id": "btc-trend", "name": "BTC trend", "strategy": "tv-trend-v2",
        "exchange": "binance", "market": "linear", "mode": "paper", "base_url": null,
        "instruments": ["BTCUSDT", "ETHUSDT", "*USDC"],
        "sizing": {"mode": "fixed_quote", "value": "100"},
        "risk": {
            "max_order_notional": "500", "max_position_notional": "2000", "max_open_positions": 3,
            "max_leverage": "3", "max_daily_loss": "100", "max_drawdown_pct": "10",
            "max_trades_per_day": 50, "cooldown_secs": 60, "max_slippage_bps": 50,
            "max_signal_age_secs": 30, "require_stop_loss": false
        },
        "allowed_ips": ["tradingview"],
        "alerts": {"email": "ops@example.com", "webhook": "https://hooks.example.com/x"}
    })
}

fn with(patch: Value) -> Value {
    let mut v = base();
    patch::merge_patch(&mut v, &patch);
    v
}

#[test]
fn design_example_parses() {
    let c = BotConfig::from_json(base().to_string().as_bytes()).unwrap();
    assert_eq!(c.id.as_str(), "btc-trend");
    assert_eq!(c.risk.max_leverage, Some(dec!(3)));
    assert_eq!(c.risk.max_open_positions, Some(3));
    assert_eq!(c.location, LocationHint::Apac, "default location hint");
    assert_eq!(c.source, SignalSource::Tradingview);
    assert!(c.allows_symbol(&Symbol::new("SOLUSDC").unwrap()));
    assert!(!c.allows_symbol(&Symbol::new("SOLUSDT").unwrap()));
    // Decimals as JSON numbers are exact too.
    let exact: Value =
        serde_json::from_str(r#"{"max_order_notional": 500.123456789012345678901}"#).unwrap();
    let n = with(json!({ "risk": exact }));
    let c = BotConfig::from_value(n).unwrap();
    assert_eq!(
        c.risk.max_order_notional,
        Some(dec!(500.123456789012345678901))
    );
    // Round trip through the stored form.
    let again = BotConfig::from_value(c.to_value().unwrap()).unwrap();
    assert_eq!(again, c);
}

#[test]
fn parse_errors_name_the_path() {
    let cases = [
        (
            with(json!({"risk": {"max_leverag": "3"}})),
            "risk.max_leverag",
        ),
        (with(json!({"surprise": 1})), "surprise"),
        (with(json!({"exchange": "kraken"})), "exchange"),
        (with(json!({"market": "inverse"})), "market"),
        (with(json!({"mode": "yolo"})), "mode"),
        (with(json!({"id": "Bad Id"})), "id"),
        (
            with(json!({"instruments": ["BTCUSDT", "btc"]})),
            "instruments[1]",
        ),
        (
            with(json!({"sizing": {"mode": "martingale"}})),
            "sizing.mode",
        ),
        (
            with(json!({"risk": {"max_leverage": "three"}})),
            "risk.max_leverage",
        ),
        (
            with(json!({"risk": {"max_open_positions": -1}})),
            "risk.max_open_positions",
        ),
        (with(json!({"alerts": {"sms": "1"}})), "alerts.sms"),
        (with(json!({"location": "mars"})), "location"),
        (with(json!({"source": "email"})), "source"),
    ];
    for (value, field) in cases {
        let err = BotConfig::from_value(value).unwrap_err();
        let ConfigError::Parse { field: got, reason } = &err else {
            panic!("expected a parse error, got {err}");
        };
        assert_eq!(got, field, "{reason}");
    }
    let unknown = BotConfig::from_value(with(json!({"risk": {"max_leverag": "3"}}))).unwrap_err();
    assert!(unknown.to_string().contains("max_leverag"), "{unknown}");
    assert!(BotConfig::from_json(b"{not json").is_err());
}

#[test]
fn validation_names_every_field() {
    let cases: Vec<(Value, &str)> = vec![
        (json!({"name": ""}), "name"),
        (json!({"instruments": []}), "instruments"),
        (
            json!({"instruments": ["BTCUSDT", "BTCUSDT"]}),
            "instruments[1]",
        ),
        (json!({"base_url": "ftp://x"}), "base_url"),
        (json!({"base_url": "http://"}), "base_url"),
        (json!({"egress_proxy_url": "proxy"}), "egress_proxy_url"),
        (json!({"sizing": {"value": "0"}}), "sizing.value"),
        (json!({"sizing": {"value": "600"}}), "sizing.value"),
        (
            json!({"sizing": {"mode": "pct_equity", "value": "301"}}),
            "sizing.value",
        ),
        (
            json!({"sizing": {"mode": "risk_per_trade", "value": "101"}}),
            "sizing.value",
        ),
        (
            json!({"risk": {"max_leverage": "0.5"}}),
            "risk.max_leverage",
        ),
        (
            json!({"risk": {"max_leverage": "126"}}),
            "risk.max_leverage",
        ),
        (
            json!({"market": "spot", "risk": {"max_leverage": "2"}, "sizing": {"mode": "fixed_qty"}}),
            "risk.max_leverage",
        ),
        (
            json!({"risk": {"max_order_notional": "-1"}}),
            "risk.max_order_notional",
        ),
        (
            json!({"risk": {"max_position_notional": "400"}}),
            "risk.max_position_notional",
        ),
        (
            json!({"risk": {"max_open_positions": 0}}),
            "risk.max_open_positions",
        ),
        (
            json!({"risk": {"max_daily_loss": "0"}}),
            "risk.max_daily_loss",
        ),
        (
            json!({"risk": {"max_drawdown_pct": "150"}}),
            "risk.max_drawdown_pct",
        ),
        (
            json!({"risk": {"max_trades_per_day": 0}}),
            "risk.max_trades_per_day",
        ),
        (
            json!({"risk": {"cooldown_secs": 10_000_000}}),
            "risk.cooldown_secs",
        ),
        (
            json!({"risk": {"max_slippage_bps": 0}}),
            "risk.max_slippage_bps",
        ),
        (
            json!({"risk": {"max_signal_age_secs": 0}}),
            "risk.max_signal_age_secs",
        ),
        (
            json!({"allowed_ips": ["tradingview", "1.2.3.4/40"]}),
            "allowed_ips[1]",
        ),
        (json!({"alerts": {"email": "nobody"}}), "alerts.email"),
        (
            json!({"alerts": {"webhook": "http://hooks.example.com"}}),
            "alerts.webhook",
        ),
        (json!({"source": "strategy", "strategy": null}), "strategy"),
        (
            json!({"trading_hours": [{"days": ["mon"], "from": "09:00", "to": "9:30"}]}),
            "trading_hours[0].to",
        ),
        (json!({"trading_hours": []}), "trading_hours"),
    ];
    for (patch, field) in cases {
        let err = BotConfig::from_value(with(patch.clone())).unwrap_err();
        let fields: Vec<String> = err.fields().into_iter().map(|f| f.field).collect();
        assert!(fields.contains(&field.to_string()), "{patch}: {err}");
    }
    let many = BotConfig::from_value(with(json!({"name": "", "risk": {"max_leverage": "0"}})));
    assert_eq!(
        many.unwrap_err().fields().len(),
        2,
        "all problems are reported at once"
    );
    let mut ok = with(json!({"alerts": {"webhook": "http://127.0.0.1:9000/a"}}));
    ok["risk"] = json!({});
    let c = BotConfig::from_value(ok).unwrap();
    assert_eq!(c.risk, RiskLimits::default(), "risk limits are optional");
    assert!(c.trading_hours.is_none());
    assert!(c.to_value().unwrap().get("trading_hours").is_none());
    let hours = json!([{"days": ["mon", "fri"], "from": "22:00", "to": "06:00"}]);
    let c = BotConfig::from_value(with(json!({"trading_hours": hours.clone()}))).unwrap();
    assert_eq!(c.to_value().unwrap()["trading_hours"], hours);
    let err = BotConfig::from_value(with(
        json!({"trading_hours": [{"days": ["mon"], "from": "09:00", "to": "10:00", "tz": "x"}]}),
    ))
    .unwrap_err();
    assert!(err.to_string().contains("trading_hours"), "{err}");
}

#[test]
fn patch_versions_and_diffs() {
    let c = BotConfig::from_value(base()).unwrap();
    let (next, diff) = c
        .apply_patch(&json!({"risk": {"max_leverage": 5, "cooldown_secs": null}, "mode": "live"}))
        .unwrap();
    assert_eq!(next.risk.max_leverage, Some(dec!(5)));
    assert_eq!(next.risk.cooldown_secs, None);
    assert_eq!(next.mode, crate::model::BotMode::Live);
    let fields: Vec<&str> = diff.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(fields, ["mode", "risk.cooldown_secs", "risk.max_leverage"]);
    assert_eq!(diff[2].old, json!("3"));
    assert_eq!(diff[2].new, json!("5"));
    assert_eq!(diff[1].new, Value::Null);

    let (_, none) = c
        .apply_patch(&json!({"risk": {"max_leverage": "3.0"}}))
        .unwrap();
    assert_eq!(
        none.len(),
        1,
        "3 -> 3.0 keeps its text, so it shows as a change: {none:?}"
    );
    let (_, none) = c.apply_patch(&json!({})).unwrap();
    assert!(none.is_empty());

    let bad = c
        .apply_patch(&json!({"risk": {"max_leverage": "0"}}))
        .unwrap_err();
    assert_eq!(bad.fields()[0].field, "risk.max_leverage");
    let id = c.apply_patch(&json!({"id": "other"})).unwrap_err();
    assert_eq!(id.fields()[0].field, "id");
    assert!(c.apply_patch(&json!({"id": "btc-trend"})).is_ok());
    assert!(c.apply_patch(&json!([1])).is_err());
    let unknown = c
        .apply_patch(&json!({"risk": {"max_leverag": 1}}))
        .unwrap_err();
    assert!(unknown.to_string().contains("max_leverag"));
}

#[test]
fn risk_is_optional_as_a_whole() {
    // The `npm start` banner's example, as printed: no `risk`, no `base_url`.
    let banner = json!({"id": "demo", "name": "Demo", "strategy": "manual", "exchange": "binance",
        "market": "spot", "mode": "paper", "instruments": ["BTCUSDT"],
        "sizing": {"mode": "fixed_qty", "value": "0.001"}});
    let c = BotConfig::from_value(banner).unwrap();
    assert_eq!(
        c.risk,
        RiskLimits::default(),
        "absent risk = no limit enforced"
    );
    assert_eq!(c.base_url, None);
    // Stored form round-trips, and a patch can add limits later.
    let again = BotConfig::from_value(c.to_value().unwrap()).unwrap();
    assert_eq!(again, c);
    let (patched, diff) = c
        .apply_patch(&json!({"risk": {"max_order_notional": "500"}}))
        .unwrap();
    assert_eq!(patched.risk.max_order_notional, Some(dec!(500)));
    assert_eq!(diff.len(), 1);
}

#[test]
fn exit_distances_are_for_strategy_bots_and_bounded() {
    let strategy = |exits: Value| {
        with(json!({
            "source": "strategy", "strategy": "ma_crossover", "instruments": ["BTCUSDT"],
            "timeframe": "1m", "allowed_ips": [], "exits": exits
        }))
    };
    let ok = BotConfig::from_value(strategy(
        json!({"stop_loss_pct": "2.5", "take_profit_pct": "4"}),
    ))
    .unwrap();
    let x = ok.exits.unwrap();
    assert_eq!(
        (x.stop_loss_pct, x.take_profit_pct),
        (Some(dec!(2.5)), Some(dec!(4)))
    );
    let cases = [
        (strategy(json!({})), "exits"),
        (
            strategy(json!({"stop_loss_pct": "100"})),
            "exits.stop_loss_pct",
        ),
        (
            strategy(json!({"stop_loss_pct": "0"})),
            "exits.stop_loss_pct",
        ),
        (
            strategy(json!({"take_profit_pct": "1000.5"})),
            "exits.take_profit_pct",
        ),
        (with(json!({"exits": {"stop_loss_pct": "2"}})), "exits"),
    ];
    for (doc, field) in cases {
        let err = BotConfig::from_value(doc).unwrap_err();
        assert!(
            err.fields().iter().any(|f| f.field == field),
            "{field}: {err}"
        );
    }
    let unknown = BotConfig::from_value(strategy(json!({"stop_loss": "2"}))).unwrap_err();
    assert!(unknown.to_string().contains("exits"), "{unknown}");
}
