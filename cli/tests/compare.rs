//! `keel compare`: the engine's A/B statistics over a CSV of paired returns, as a user runs them.

use std::process::Command;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../engine/test_data/sharpe_diff/returns.csv"
);

fn keel(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(args)
        .output()
        .expect("run keel");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn compares_two_return_series_with_both_tests() {
    let (code, out, err) = keel(&["compare", FIXTURE]);
    assert_eq!(code, 0, "{err}");
    // The reference implementation's figures (engine/test_data/sharpe_diff/expected.json).
    assert!(out.contains("600 paired bars, A = a, B = b"), "{out}");
    assert!(
        out.contains("Ledoit-Wolf HAC test         t   +3.715   p 0.0002   a better"),
        "{out}"
    );
    assert!(
        out.contains("t   +4.021   p 0.0001   a better (ignores autocorrelation)"),
        "{out}"
    );
    assert!(out.contains("a better, decided at bar 95"), "{out}");

    let (code, out, err) = keel(&["compare", FIXTURE, "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["pairs"], 600);
    let p = v["sharpe_difference"]["hac"]["p_value"]
        .as_f64()
        .expect("p");
    assert!((p - 0.000_203_303_803_008_987_05).abs() < 1e-12, "{p}");
    assert_eq!(v["sequential"]["reading"]["decision"], "a_better");
}

#[test]
fn bad_files_and_flags_get_precise_errors() {
    let dir = std::env::temp_dir().join(format!("keel-compare-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "a,b\n0.01,0.02\n0.03,naïve 🚀\n").expect("write");
    let (code, _, err) = keel(&["compare", bad.to_str().expect("path")]);
    assert_eq!(code, 1);
    assert!(
        err.contains("line 3, column 2: `naïve 🚀` is not a finite number"),
        "{err}"
    );

    let short = dir.join("short.csv");
    std::fs::write(&short, "a,b\n0.01,0.02\n0.03,0.01\n").expect("write");
    let (code, _, err) = keel(&["compare", short.to_str().expect("path")]);
    assert_eq!(code, 1);
    assert!(
        err.contains("2 pairs; the Sharpe-difference test needs at least 10"),
        "{err}"
    );

    let (code, _, err) = keel(&["compare", FIXTURE, "--alpha", "0.7"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--alpha 0.7: a level between 0 and 0.5"),
        "{err}"
    );
    let (code, _, err) = keel(&["compare"]);
    assert_eq!(code, 2);
    assert!(err.contains("compare: one CSV FILE"), "{err}");
    let (code, _, err) = keel(&["compare", "/nonexistent/x.csv"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/x.csv"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
