//! `keel compare FILE [--alpha A] [--json]`: is strategy A really better than B? Reads paired
//! per-bar returns (a CSV whose first two columns are A's and B's return on the same bars, e.g.
//! two versions, or a live bot and its paper shadow) and runs both of the engine's tests:
//! the Sharpe-difference test of Ledoit & Wolf (HAC, with the i.i.d. form beside it to show what
//! ignoring autocorrelation would claim) and the sequential mSPRT on mean returns, read at every
//! bar as a dashboard would. The statistics are the engine's; this reads a file and prints.

use super::flags::Flags;
use super::Failure;
use keel_engine::abtest::{
    sharpe_difference, Covariance, Decision, Msprt, MsprtParams, SharpeDiff,
};
use serde_json::json;

/// Runs `keel compare …`.
pub fn run(args: &[String]) -> Result<String, Failure> {
    // `--json` alone, as in the remote commands (every other flag here takes a value).
    let as_json = args.iter().any(|a| a == "--json");
    let rest: Vec<String> = args.iter().filter(|a| *a != "--json").cloned().collect();
    let f = Flags::parse(&rest, &["alpha"])?;
    let [path] = f.positional.as_slice() else {
        return Err(Failure::Usage(
            "compare: one CSV FILE of paired returns (A, B)".into(),
        ));
    };
    let alpha = match f.get("alpha") {
        None => 0.05,
        Some(s) => s
            .parse::<f64>()
            .ok()
            .filter(|a| *a > 0.0 && *a < 0.5)
            .ok_or_else(|| Failure::Usage(format!("--alpha {s}: a level between 0 and 0.5")))?,
    };
    let text = std::fs::read_to_string(path).map_err(|e| Failure::Usage(format!("{path}: {e}")))?;
    let (names, a, b) = read_pairs(&text).map_err(|e| Failure::Run(format!("{path}: {e}")))?;
    let hac = sharpe_difference(&a, &b, Covariance::Hac)
        .map_err(|e| Failure::Run(format!("{path}: {e}")))?;
    let iid = sharpe_difference(&a, &b, Covariance::Iid)
        .map_err(|e| Failure::Run(format!("{path}: {e}")))?;
    let mut seq = Msprt::new(MsprtParams {
        alpha,
        ..MsprtParams::default()
    });
    let mut decided_at = None;
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        let r = seq.push(*x, *y);
        if decided_at.is_none() && r.decision != Decision::Continue {
            decided_at = Some(i + 1);
        }
    }
    let seq = seq.reading();
    if as_json {
        let out = json!({
            "file": path, "columns": names, "pairs": a.len(), "alpha": alpha,
            "sharpe_difference": {"hac": hac, "iid": iid},
            "sequential": {"reading": seq, "decided_at_bar": decided_at},
        });
        return Ok(format!("{out:#}\n"));
    }
    let verdict = |t: &SharpeDiff| {
        if t.p_value > alpha {
            "no significant difference".to_string()
        } else if t.diff > 0.0 {
            format!("{} better", names[0])
        } else {
            format!("{} better", names[1])
        }
    };
    let decision = match (seq.decision, decided_at) {
        (Decision::ABetter, Some(bar)) => format!("{} better, decided at bar {bar}", names[0]),
        (Decision::BBetter, Some(bar)) => format!("{} better, decided at bar {bar}", names[1]),
        _ => "undecided: keep both running".to_string(),
    };
    Ok(format!(
        "{path}: {n} paired bars, A = {a_name}, B = {b_name}, level {alpha}\n\
         Sharpe ratio per bar         A {sa:>10.4}   B {sb:>10.4}   difference {d:+.4}\n\
         Ledoit-Wolf HAC test         t {th:>+8.3}   p {ph:.4}   {vh} (bandwidth {bw:.1} bars)\n\
         same test assuming i.i.d.    t {ti:>+8.3}   p {pi:.4}   {vi} (ignores autocorrelation)\n\
         sequential mSPRT (mean)      p {ps:.4} (always valid)   {decision}\n",
        n = a.len(),
        a_name = names[0],
        b_name = names[1],
        sa = hac.sharpe_a,
        sb = hac.sharpe_b,
        d = hac.diff,
        th = hac.t_stat,
        ph = hac.p_value,
        vh = verdict(&hac),
        bw = hac.bandwidth.unwrap_or(0.0),
        ti = iid.t_stat,
        pi = iid.p_value,
        vi = verdict(&iid),
        ps = seq.p_value,
    ))
}

/// Paired returns read from a file: the two column names, A's values, B's values.
type Pairs = ([String; 2], Vec<f64>, Vec<f64>);

/// The first two columns of a CSV with a header: their names and values, row by row.
fn read_pairs(text: &str) -> Result<Pairs, String> {
    let mut rd = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = rd.headers().map_err(|e| format!("header: {e}"))?.clone();
    let (Some(ha), Some(hb)) = (header.get(0), header.get(1)) else {
        return Err("the header needs two columns: A's returns, then B's".into());
    };
    let names = [ha.to_string(), hb.to_string()];
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for (i, rec) in rd.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| format!("line {line}: {e}"))?;
        let num = |k: usize| -> Result<f64, String> {
            let cell = rec.get(k).unwrap_or("");
            cell.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| {
                    format!(
                        "line {line}, column {}: `{cell}` is not a finite number",
                        k + 1
                    )
                })
        };
        a.push(num(0)?);
        b.push(num(1)?);
    }
    Ok((names, a, b))
}
