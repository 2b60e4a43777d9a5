//! `keel data import` against a tiny local kline server (std only): paging, a 429 with
//! Retry-After, a failure mid-range and the resume that follows, gap reporting, Binance and Bybit
//! layouts. The exchange simulator's kline endpoints are exercised by the e2e suite.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};

const T0: i64 = 1_704_067_200_000; // 2024-01-01
const M: i64 = 60_000;
/// Bars missing from the served series (an exchange outage).
const HOLE: std::ops::Range<i64> = 2500..2530;

#[derive(Default)]
struct Server {
    /// `startTime`/`start` of every request, in order.
    starts: Vec<i64>,
    /// Answer 400 once this many pages were served (simulates a crash mid-import).
    fail_after: Option<usize>,
    served: usize,
    throttled: bool,
}

fn param(query: &str, name: &str) -> Option<i64> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
}

fn answer(state: &Arc<Mutex<Server>>, target: &str) -> (u16, Vec<(String, String)>, String) {
    let mut s = state.lock().unwrap();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let bybit = path == "/v5/market/kline";
    let (start, end) = if bybit {
        (param(query, "start").unwrap(), param(query, "end").unwrap())
    } else {
        (
            param(query, "startTime").unwrap(),
            param(query, "endTime").unwrap(),
        )
    };
    s.starts.push(start);
    if !s.throttled {
        s.throttled = true;
        return (
            429,
            vec![("Retry-After".into(), "1".into())],
            "{\"code\":-1003}".into(),
        );
    }
    if s.fail_after.is_some_and(|n| s.served >= n) {
        return (400, vec![], "{\"code\":-1100,\"msg\":\"boom\"}".into());
    }
    s.served += 1;
    let limit = param(query, "limit").unwrap_or(500);
    let mut rows = Vec::new();
    let mut t = start.div_euclid(M) * M;
    while t <= end && (rows.len() as i64) < limit {
        let i = (t - T0) / M;
        if !HOLE.contains(&i) {
            let p = 100 + i % 17;
            rows.push(if bybit {
                format!("[\"{t}\",\"{p}.5\",\"{}.25\",\"{p}\",\"{p}.75\",\"1.5\",\"1\"]", p + 1)
            } else {
                format!("[{t},\"{p}.50000000\",\"{}.25000000\",\"{p}.00000000\",\"{p}.75000000\",\"1.50000000\",0,\"0\",1,\"0\",\"0\",\"0\"]", p + 1)
            });
        }
        t += M;
    }
    let body = if bybit {
        rows.reverse();
        format!(
            "{{\"retCode\":0,\"retMsg\":\"OK\",\"result\":{{\"list\":[{}]}}}}",
            rows.join(",")
        )
    } else {
        format!("[{}]", rows.join(","))
    };
    (
        200,
        vec![("X-MBX-USED-WEIGHT-1M".into(), "12".into())],
        body,
    )
}

fn serve(state: Arc<Mutex<Server>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
            }
            let (status, headers, body) = answer(&state, &target);
            let mut out = stream;
            let mut head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            let _ = out.write_all(format!("{head}\r\n{body}").as_bytes());
        }
    });
    port
}

fn keel(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn import(exchange: &str, port: u16, dir: &str) -> (i32, String, String) {
    let base = format!("http://127.0.0.1:{port}");
    keel(&[
        "data",
        "import",
        "--exchange",
        exchange,
        "--market",
        "linear",
        "--symbol",
        "BTCUSDT",
        "--timeframe",
        "1m",
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-04",
        "--base-url",
        &base,
        "--data",
        dir,
    ])
}

#[test]
fn pages_resumes_and_reports_gaps() {
    let dir = std::env::temp_dir().join(format!("keel-import-{}", std::process::id()));
    let dir_s = dir.to_str().unwrap().to_string();
    let _ = std::fs::remove_dir_all(&dir);
    let state = Arc::new(Mutex::new(Server {
        fail_after: Some(2),
        ..Server::default()
    }));
    let port = serve(state.clone());

    // First run: throttled once, two pages stored, then the venue refuses: exit 1.
    let (code, _, err) = import("binance", port, &dir_s);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("HTTP 400"), "{err}");
    {
        let s = state.lock().unwrap();
        assert_eq!(s.starts[..2], [T0, T0], "429 then the same window again");
        assert_eq!(s.starts[2], T0 + 1000 * M);
    }

    // Second run resumes after the last stored bar (2 pages = bars 0..1999).
    {
        let mut s = state.lock().unwrap();
        s.fail_after = None;
        s.starts.clear();
    }
    let (code, out, err) = import("binance", port, &dir_s);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["resumed_after_ms"], T0 + 1999 * M);
    assert_eq!(state.lock().unwrap().starts[0], T0 + 2000 * M);
    assert_eq!(v["gaps"]["expected"], 4320);
    assert_eq!(v["gaps"]["missing"], 30);
    assert_eq!(v["gaps"]["gaps"][0]["from_ms"], T0 + 2500 * M);

    // A third run has nothing left to fetch.
    state.lock().unwrap().starts.clear();
    let (code, out, _) = import("binance", port, &dir_s);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["imported"].as_i64(), v["requests"].as_i64()),
        (Some(0), Some(0))
    );

    // `data gaps` agrees; Bybit's newest-first layout lands in its own folder.
    let (code, out, _) = keel(&[
        "data",
        "gaps",
        "--exchange",
        "binance",
        "--market",
        "linear",
        "--symbol",
        "BTCUSDT",
        "--timeframe",
        "1m",
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-04",
        "--data",
        &dir_s,
    ]);
    assert_eq!(code, 0);
    let g: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (g["present"].as_i64(), g["missing"].as_i64()),
        (Some(4290), Some(30))
    );
    let (code, out, err) = import("bybit", port, &dir_s);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["imported"], 4290);
    assert!(dir
        .join("bybit/linear/BTCUSDT/1m/2024-01.keelbars")
        .exists());

    // And a backtest over it writes both report files.
    let out_dir = dir.join("report");
    let (code, out, err) = keel(&[
        "backtest",
        "--strategy",
        "sma_cross",
        "--params",
        "{\"fast\":10,\"slow\":30}",
        "--exchange",
        "binance",
        "--market",
        "linear",
        "--symbol",
        "BTCUSDT",
        "--timeframe",
        "1h",
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-04",
        "--data",
        &dir_s,
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("72 bars from 4290 candles of 1m"), "{out}");
    let rep: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(rep["bars"], 72);
    assert!(rep["metrics"]["calmar"].is_number());
    let html = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    assert!(html.contains("<svg") && !html.contains("https://"));

    // The same backtest from the template's spec file: same fills and metrics, its own version.
    let spec_dir = dir.join("report-spec");
    let spec = format!(
        "{}/../engine/specs/ma_crossover.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let (code, out, err) = keel(&[
        "backtest",
        "--spec",
        &spec,
        "--params",
        "{\"fast\":10,\"slow\":30}",
        "--exchange",
        "binance",
        "--market",
        "linear",
        "--symbol",
        "BTCUSDT",
        "--timeframe",
        "1h",
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-04",
        "--data",
        &dir_s,
        "--out",
        spec_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("ma_crossover_spec "), "{out}");
    let by_spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(spec_dir.join("report.json")).unwrap())
            .unwrap();
    assert!(!rep["fills"].as_array().unwrap().is_empty());
    assert_eq!(by_spec["metrics"], rep["metrics"]);
    assert_eq!(by_spec["equity_curve"], rep["equity_curve"]);
    let prices = |r: &serde_json::Value| -> Vec<(serde_json::Value, serde_json::Value)> {
        r["fills"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["price"].clone(), f["qty"].clone()))
            .collect()
    };
    assert_eq!(prices(&by_spec), prices(&rep));
    assert_ne!(by_spec["strategy_version"], rep["strategy_version"]);

    // A multi-series spec reads the stored history of each of its instruments: ETHUSDT is
    // imported too (the test server answers the same candles), then one run trades both.
    let base = format!("http://127.0.0.1:{port}");
    let (code, _, err) = keel(&[
        "data",
        "import",
        "--exchange",
        "binance",
        "--market",
        "linear",
        "--symbol",
        "ETHUSDT",
        "--timeframe",
        "1m",
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-04",
        "--base-url",
        &base,
        "--data",
        &dir_s,
    ]);
    assert_eq!(code, 0, "{err}");
    let pair = dir.join("pair.json");
    std::fs::write(
        &pair,
        r#"{"name": "pair_cli", "timeframe": "1h",
            "series": {"b": {"symbol": "BTCUSDT", "timeframe": "4h"}, "e": {"symbol": "ETHUSDT"}},
            "factors": {"bf": {"kind": "sma", "series": "b", "args": {"n": 2}},
                        "bs": {"kind": "sma", "series": "b", "args": {"n": 3}},
                        "ef": {"kind": "sma", "series": "e", "args": {"n": 3}},
                        "es": {"kind": "sma", "series": "e", "args": {"n": 8}}},
            "targets": {"b": {"expr": {"if": [{"gt": ["bf", "bs"]}, 0.4, -0.4]}},
                        "e": {"expr": {"if": [{"gt": ["ef", "es"]}, 0.4, 0]}, "min": 0}}}"#,
    )
    .unwrap();
    let pair_dir = dir.join("report-pair");
    let (code, out, err) = keel(&[
        "backtest",
        "--spec",
        pair.to_str().unwrap(),
        "--exchange",
        "binance",
        "--market",
        "linear",
        "--symbol",
        "BTCUSDT",
        "--timeframe",
        "1h",
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-04",
        "--data",
        &dir_s,
        "--out",
        pair_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("pair_cli BTCUSDT,ETHUSDT 1h "), "{out}");
    let multi: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(pair_dir.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(multi["bars"], 72);
    for symbol in ["BTCUSDT", "ETHUSDT"] {
        let fills = multi["fills"].as_array().unwrap();
        assert!(fills.iter().any(|f| f["symbol"] == symbol), "{symbol}");
    }
    // Without ETHUSDT's history the run is refused, naming what is missing.
    std::fs::remove_dir_all(dir.join("binance/linear/ETHUSDT")).unwrap();
    let (code, _, err) = keel(&[
        "backtest",
        "--spec",
        pair.to_str().unwrap(),
        "--exchange",
        "binance",
        "--market",
        "linear",
        "--symbol",
        "BTCUSDT",
        "--timeframe",
        "1h",
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-04",
        "--data",
        &dir_s,
        "--out",
        pair_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no stored binance linear ETHUSDT data"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn strategy_validate_reports_every_problem_with_its_path() {
    let spec = format!(
        "{}/../engine/specs/rsi_reversion.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let (code, out, err) = keel(&["strategy", "validate", &spec]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("valid\nversion rsi_reversion_spec@1#"),
        "{out}"
    );
    let (code, _, err) = keel(&["strategy", "validate", &spec, "--params", "{\"lower\":60}"]);
    assert_eq!(code, 1);
    assert!(err.contains("params.lower: 60 must be below exit"), "{err}");
    let bad = std::env::temp_dir().join(format!("keel-bad-spec-{}.json", std::process::id()));
    std::fs::write(
        &bad,
        r#"{"name": "bad", "factors": {"m": {"kind": "smaa", "args": {"n": 3}}},
            "rules": {"long_entry": {"gt": ["close", "close[-1]"]}}}"#,
    )
    .unwrap();
    let (code, _, err) = keel(&["strategy", "validate", bad.to_str().unwrap()]);
    let _ = std::fs::remove_file(&bad);
    assert_eq!(code, 1);
    assert!(err.contains("2 problem(s)"), "{err}");
    assert!(
        err.contains("factors.m.kind: unknown factor \"smaa\""),
        "{err}"
    );
    assert!(
        err.contains("rules.long_entry.gt[1]: \"close[-1]\" reads 1 bar(s) into the future"),
        "{err}"
    );
    let (code, out, _) = keel(&["strategy", "schema"]);
    assert_eq!(code, 0);
    let schema: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(schema["title"], "Keel declarative strategy spec");
    let (code, _, _) = keel(&["strategy", "frob"]);
    assert_eq!(code, 2);
}

#[test]
fn bad_command_lines_exit_2() {
    for args in [
        vec!["data", "import", "--symbol", "BTCUSDT"],
        vec!["data", "frob"],
        vec!["backtest", "--strategy", "x", "--bogus", "1"],
        vec![
            "backtest",
            "--strategy",
            "x",
            "--spec",
            "y.json",
            "--timeframe",
            "1h",
        ],
        vec![
            "data",
            "gaps",
            "--symbol",
            "BTCUSDT",
            "--timeframe",
            "1m",
            "--from",
            "2024-02-01",
            "--to",
            "2024-01-01",
        ],
    ] {
        let (code, _, err) = keel(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
    }
}
