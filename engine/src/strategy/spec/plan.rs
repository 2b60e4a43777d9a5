//! The compiled plan: parameters folded into constants, expressions flattened into one
//! instruction list over a preallocated slot array (each instruction writes its own slot, in
//! dependency order), factor outputs and lag rings preallocated. A bar costs one pass over the
//! factors and one over the instructions, with no allocation (an intent is allocated only when
//! the target changes, as the templates do).

use super::catalog::{self, State};
use super::parse::{BarField, Expr, Op};
use super::{Output, SpecIssue, StrategySpec};
use crate::ids::Symbol;
use crate::market::Bar;
use crate::strategy::{Context, Intent, Params, Strategy, StrategyError, StrategyVersion, Target};
use std::collections::BTreeMap;

/// A condition's truth: non-zero and not NaN.
#[inline]
pub fn truthy(x: f64) -> bool {
    x != 0.0 && !x.is_nan()
}

#[inline]
fn b(x: bool) -> f64 {
    if x {
        1.0
    } else {
        0.0
    }
}

#[inline]
fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        x
    }
}

#[inline]
fn un(op: Op, a: f64) -> f64 {
    match op {
        Op::Neg => -a,
        Op::Abs => a.abs(),
        Op::Floor => a.floor(),
        Op::Sign => sign(a),
        _ => b(!truthy(a)),
    }
}

#[inline]
fn bin(op: Op, a: f64, c: f64) -> f64 {
    match op {
        Op::Add => a + c,
        Op::Sub => a - c,
        Op::Mul => a * c,
        Op::Div => a / c,
        Op::Min => a.min(c),
        Op::Max => a.max(c),
        Op::Gt => b(a > c),
        Op::Gte => b(a >= c),
        Op::Lt => b(a < c),
        Op::Lte => b(a <= c),
        Op::And => b(truthy(a) && truthy(c)),
        _ => b(truthy(a) || truthy(c)),
    }
}

#[inline]
fn tri(op: Op, x: f64, y: f64, z: f64) -> f64 {
    match op {
        Op::If => {
            if truthy(x) {
                y
            } else {
                z
            }
        }
        _ => x.max(y).min(z),
    }
}

/// Evaluates a parameter-only expression (a check) over validated values.
pub fn eval_const(e: &Expr, params: &BTreeMap<String, f64>) -> Option<f64> {
    match e {
        Expr::Num(x) => Some(*x),
        Expr::Param(p) => params.get(p).copied(),
        Expr::Op { op, args } => {
            let v: Option<Vec<f64>> = args.iter().map(|a| eval_const(a, params)).collect();
            let v = v?;
            let x = |i: usize| v.get(i).copied().unwrap_or(f64::NAN);
            Some(match op {
                Op::Add => v.iter().sum(),
                Op::Mul => v.iter().product(),
                Op::Sub => x(0) - x(1),
                Op::Div => x(0) / x(1),
                Op::Neg => -x(0),
                Op::Abs => x(0).abs(),
                Op::Min => v.iter().copied().fold(f64::INFINITY, f64::min),
                Op::Max => v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                Op::Floor => x(0).floor(),
                Op::Sign => sign(x(0)),
                Op::Clamp => x(0).max(x(1)).min(x(2)),
                Op::If => {
                    if truthy(x(0)) {
                        x(1)
                    } else {
                        x(2)
                    }
                }
                Op::Gt => b(x(0) > x(1)),
                Op::Gte => b(x(0) >= x(1)),
                Op::Lt => b(x(0) < x(1)),
                Op::Lte => b(x(0) <= x(1)),
                Op::And => b(v.iter().all(|y| truthy(*y))),
                Op::Or => b(v.iter().any(|y| truthy(*y))),
                Op::Not => b(!truthy(x(0))),
                Op::CrossAbove | Op::CrossBelow | Op::ForBars => return None,
            })
        }
        _ => None,
    }
}

/// One instruction; operands are slot indices (earlier instructions).
#[derive(Debug, Clone, Copy)]
enum Ins {
    Const(f64),
    Bar(BarField, usize),
    /// A declared series' bar field, lag in that series' bars.
    SBar(usize, BarField, usize),
    Cur(usize),
    Lag(usize),
    Un(Op, usize),
    Bin(Op, usize, usize),
    Tri(Op, usize, usize, usize),
    Cross(bool, usize, usize, usize),
    For(usize, usize, usize),
}

/// A factor output kept `lag` bars back.
#[derive(Debug, Clone)]
struct LagRing {
    value: usize,
    /// The series whose closes move it (a higher-timeframe factor's lag counts its own bars).
    series: usize,
    buf: Vec<Option<f64>>,
    head: usize,
}

impl LagRing {
    #[inline]
    fn push(&mut self, x: Option<f64>) {
        let len = self.buf.len();
        self.head = if self.head + 1 >= len {
            0
        } else {
            self.head + 1
        };
        if let Some(s) = self.buf.get_mut(self.head) {
            *s = x;
        }
    }
    #[inline]
    fn get(&self) -> Option<f64> {
        // The oldest entry: pushed len−1 bars ago.
        let len = self.buf.len();
        let i = if self.head + 1 >= len {
            0
        } else {
            self.head + 1
        };
        self.buf.get(i).copied().flatten()
    }
}

/// What must be known before a bar is decided.
#[derive(Debug, Clone, Copy)]
enum Need {
    Cur(usize),
    Lag(usize),
    Bars(usize),
    /// At least this many closed bars of a declared series.
    SBars(usize, usize),
}

#[derive(Debug, Clone, Copy)]
enum Out {
    Target {
        root: usize,
        min: f64,
        max: f64,
    },
    Rules([Option<usize>; 4]),
    /// One target per feed: the list is [`SpecStrategy::targets`].
    Targets,
}

fn field_of(b: &Bar, f: BarField) -> f64 {
    match f {
        BarField::Open => b.open,
        BarField::High => b.high,
        BarField::Low => b.low,
        BarField::Close => b.close,
        BarField::Volume => b.volume,
    }
}

/// A declared series at run time: which feed (instrument) it reads, its resampling state, and
/// a preallocated ring of its last closed bars. A higher-timeframe bar is pushed only when the
/// base bar that ends its interval closes, and only if every base bar of the interval was seen
/// (a bucket cut by a gap or by the start of the data is dropped, never emitted half-formed).
#[derive(Debug, Clone)]
struct SeriesRun {
    feed: usize,
    tf_ms: i64,
    base_ms: i64,
    forming: Option<Bar>,
    next_ms: i64,
    ring: Vec<Bar>,
    head: usize,
    count: usize,
    updated: bool,
}

impl SeriesRun {
    /// Takes the feed's newest base bar; true when this series closed a bar.
    #[inline]
    fn push(&mut self, b: &Bar) -> bool {
        let closed = if self.tf_ms == self.base_ms {
            Some(*b)
        } else {
            let bucket = b.open_time_ms.div_euclid(self.tf_ms) * self.tf_ms;
            match &mut self.forming {
                Some(f) if f.open_time_ms == bucket && self.next_ms == b.open_time_ms => {
                    f.high = f.high.max(b.high);
                    f.low = f.low.min(b.low);
                    f.close = b.close;
                    f.volume += b.volume;
                }
                _ if b.open_time_ms == bucket => {
                    self.forming = Some(Bar {
                        open_time_ms: bucket,
                        ..*b
                    });
                }
                _ => self.forming = None,
            }
            self.next_ms = b.open_time_ms + self.base_ms;
            if self.next_ms == bucket + self.tf_ms {
                self.forming.take()
            } else {
                None
            }
        };
        let Some(bar) = closed else {
            return false;
        };
        let len = self.ring.len();
        if len > 0 {
            self.head = (self.head + 1) % len;
            if let Some(slot) = self.ring.get_mut(self.head) {
                *slot = bar;
            }
        }
        self.count = self.count.saturating_add(1);
        true
    }

    /// The closed bar `lag` bars of this series back.
    #[inline]
    fn back(&self, lag: usize) -> Option<&Bar> {
        let len = self.ring.len();
        if lag >= len || lag >= self.count {
            return None;
        }
        self.ring.get((self.head + len - lag) % len)
    }
}

/// A spec compiled for one parameter set: a [`Strategy`] like any template.
#[derive(Debug, Clone)]
pub struct SpecStrategy {
    version: StrategyVersion,
    /// (factor state, first output slot, output count, series index).
    factors: Vec<(State, usize, usize, usize)>,
    /// Declared series (empty: a single-series spec).
    series: Vec<SeriesRun>,
    /// The instruments a multi-series spec reads and trades, in feed order.
    feeds: Vec<Symbol>,
    /// Per traded feed: (feed, root slot, min, max).
    targets: Vec<(usize, usize, f64, f64)>,
    /// The target held per feed (`None` until decided).
    held: Vec<Option<f64>>,
    values: Vec<Option<f64>>,
    lags: Vec<LagRing>,
    needs: Vec<Need>,
    ins: Vec<Ins>,
    run: Vec<usize>,
    slots: Vec<f64>,
    cross: Vec<Option<(f64, f64)>>,
    counters: Vec<usize>,
    out: Out,
    state: f64,
    last: Option<f64>,
    warm_up: usize,
    /// Bars after which the smoothing factors have forgotten their seed (at least `warm_up`).
    history: usize,
}

struct Compiler<'a> {
    params: &'a BTreeMap<String, f64>,
    factor_base: BTreeMap<&'a str, usize>,
    factor_series: BTreeMap<&'a str, usize>,
    series_index: BTreeMap<&'a str, usize>,
    signal_slot: BTreeMap<&'a str, usize>,
    signals: &'a [(String, Expr)],
    lag_index: BTreeMap<(usize, usize), usize>,
    lags: Vec<LagRing>,
    needs: Vec<Need>,
    ins: Vec<Ins>,
    cross: usize,
    counters: Vec<usize>,
    issues: Vec<SpecIssue>,
}

impl<'a> Compiler<'a> {
    /// The constant a slot always holds, if any.
    fn konst(&self, slot: usize) -> Option<f64> {
        match self.ins.get(slot) {
            Some(Ins::Const(x)) => Some(*x),
            _ => None,
        }
    }

    /// Appends an instruction, folding a pure one whose operands are all constants (parameters
    /// are constants of a compiled plan) into a constant computed once, here.
    fn push(&mut self, i: Ins) -> usize {
        let folded = match i {
            Ins::Un(op, a) => self.konst(a).map(|a| un(op, a)),
            Ins::Bin(op, a, c) => self.konst(a).zip(self.konst(c)).map(|(a, c)| bin(op, a, c)),
            Ins::Tri(op, x, y, z) => match (self.konst(x), self.konst(y), self.konst(z)) {
                (Some(x), Some(y), Some(z)) => Some(tri(op, x, y, z)),
                _ => None,
            },
            _ => None,
        };
        self.ins.push(folded.map_or(i, Ins::Const));
        self.ins.len() - 1
    }

    fn need(&mut self, n: Need) {
        let dup = self.needs.iter().any(|m| match (m, &n) {
            (Need::Cur(a), Need::Cur(b)) | (Need::Lag(a), Need::Lag(b)) => a == b,
            (Need::Bars(a), Need::Bars(b)) => a >= b,
            (Need::SBars(s, a), Need::SBars(t, b)) => s == t && a >= b,
            _ => false,
        });
        if !dup {
            self.needs.push(n);
        }
    }

    fn compile(&mut self, e: &'a Expr) -> usize {
        match e {
            Expr::Num(x) => self.push(Ins::Const(*x)),
            Expr::Param(p) => {
                let x = self.params.get(p).copied().unwrap_or(f64::NAN);
                self.push(Ins::Const(x))
            }
            Expr::Bar { field, lag } => {
                self.need(Need::Bars(lag + 1));
                self.push(Ins::Bar(*field, *lag))
            }
            Expr::SeriesBar { series, field, lag } => {
                let si = self.series_index.get(series.as_str()).copied().unwrap_or(0);
                self.need(Need::SBars(si, lag + 1));
                self.push(Ins::SBar(si, *field, *lag))
            }
            Expr::Factor { name, field, lag } => {
                let value = self.factor_base.get(name.as_str()).copied().unwrap_or(0) + field;
                let series = self.factor_series.get(name.as_str()).copied().unwrap_or(0);
                if *lag == 0 {
                    self.need(Need::Cur(value));
                    return self.push(Ins::Cur(value));
                }
                let idx = match self.lag_index.get(&(value, *lag)) {
                    Some(i) => *i,
                    None => {
                        self.lags.push(LagRing {
                            value,
                            series,
                            buf: vec![None; lag + 1],
                            head: 0,
                        });
                        let i = self.lags.len() - 1;
                        self.lag_index.insert((value, *lag), i);
                        i
                    }
                };
                self.need(Need::Lag(idx));
                self.push(Ins::Lag(idx))
            }
            Expr::Signal(name) => {
                if let Some(s) = self.signal_slot.get(name.as_str()) {
                    return *s;
                }
                let Some((_, body)) = self.signals.iter().find(|(n, _)| n == name) else {
                    return self.push(Ins::Const(f64::NAN));
                };
                let slot = self.compile(body);
                self.signal_slot.insert(name.as_str(), slot);
                slot
            }
            Expr::Op { op, args } => self.op(*op, args),
        }
    }

    fn op(&mut self, op: Op, args: &'a [Expr]) -> usize {
        match op {
            Op::ForBars => {
                let n = match args.first() {
                    Some(Expr::Num(x)) => *x,
                    Some(Expr::Param(p)) => self.params.get(p).copied().unwrap_or(0.0),
                    _ => 0.0,
                };
                if !(1.0..=super::MAX_LAG as f64).contains(&n) || n.fract() != 0.0 {
                    self.issues.push(SpecIssue {
                        path: "for_bars".into(),
                        reason: format!("bar count {n} is outside [1, {}]", super::MAX_LAG),
                    });
                }
                let cond = match args.get(1) {
                    Some(c) => self.compile(c),
                    None => self.push(Ins::Const(0.0)),
                };
                self.counters.push(0);
                let c = self.counters.len() - 1;
                self.push(Ins::For(cond, n.max(1.0) as usize, c))
            }
            Op::CrossAbove | Op::CrossBelow => {
                let a = self.arg(args, 0);
                let b2 = self.arg(args, 1);
                self.cross += 1;
                self.push(Ins::Cross(op == Op::CrossAbove, a, b2, self.cross - 1))
            }
            Op::If | Op::Clamp => {
                let (x, y, z) = (self.arg(args, 0), self.arg(args, 1), self.arg(args, 2));
                self.push(Ins::Tri(op, x, y, z))
            }
            Op::Neg | Op::Abs | Op::Floor | Op::Sign | Op::Not => {
                let x = self.arg(args, 0);
                self.push(Ins::Un(op, x))
            }
            _ => {
                // Binary, or n-ary folded left: ((a ∘ b) ∘ c)…
                let mut acc = self.arg(args, 0);
                for a in args.iter().skip(1) {
                    let y = self.compile(a);
                    acc = self.push(Ins::Bin(op, acc, y));
                }
                acc
            }
        }
    }

    fn arg(&mut self, args: &'a [Expr], i: usize) -> usize {
        match args.get(i) {
            Some(e) => self.compile(e),
            None => self.push(Ins::Const(f64::NAN)),
        }
    }
}

impl SpecStrategy {
    /// Compiles `spec` for validated `params`.
    ///
    /// # Errors
    /// [`StrategyError::Spec`] when a parameter-valued factor argument or bar count falls outside
    /// what the factor accepts.
    pub fn compile(spec: &StrategySpec, params: Params) -> Result<Self, StrategyError> {
        let values_map = params.values().clone();
        let mut issues = Vec::new();
        let mut factors = Vec::new();
        let mut factor_base = BTreeMap::new();
        let mut n_values = 0usize;
        let mut warm_up = 0usize;
        let mut history = 0usize;
        // Declared series, feeds (distinct symbols, sorted) and each series' bars per base bar.
        let base_ms = spec.timeframe.map_or(1, |t| t.ms().max(1));
        let mut feeds: Vec<Symbol> = spec.series.values().map(|d| d.symbol.clone()).collect();
        feeds.sort();
        feeds.dedup();
        let mut series_index = BTreeMap::new();
        let mut series = Vec::with_capacity(spec.series.len());
        for (i, (name, def)) in spec.series.iter().enumerate() {
            series_index.insert(name.as_str(), i);
            series.push(SeriesRun {
                feed: feeds.iter().position(|f| *f == def.symbol).unwrap_or(0),
                tf_ms: def.timeframe.ms(),
                base_ms,
                forming: None,
                next_ms: i64::MIN,
                ring: Vec::new(),
                head: 0,
                count: 0,
                updated: false,
            });
        }
        let ratio = |si: usize| -> usize {
            series
                .get(si)
                .map_or(1, |s: &SeriesRun| (s.tf_ms / s.base_ms).max(1) as usize)
        };
        let mut factor_series = BTreeMap::new();
        for (name, def) in &spec.factors {
            let row = catalog::row(def.kind);
            let mut resolved = Vec::with_capacity(def.args.len());
            for (arg, e) in row.2.iter().zip(&def.args) {
                let x = eval_const(e, &values_map).unwrap_or(f64::NAN);
                if !x.is_finite() || x < arg.min || x > arg.max || (arg.integer && x.fract() != 0.0)
                {
                    issues.push(SpecIssue {
                        path: format!("factors.{name}.args.{}", arg.name),
                        reason: format!(
                            "{x} is outside [{}, {}]{}",
                            arg.min,
                            arg.max,
                            if arg.integer { " or not whole" } else { "" }
                        ),
                    });
                }
                resolved.push(x);
            }
            if !issues.is_empty() {
                continue;
            }
            let state = State::new(def.kind, &resolved);
            let si = def
                .series
                .as_deref()
                .and_then(|s| series_index.get(s).copied())
                .unwrap_or(0);
            // A higher-timeframe factor warms in its own bars, after one possibly cut bucket.
            let r = ratio(si);
            let in_base = |bars: usize| {
                if spec.series.is_empty() {
                    bars
                } else {
                    bars.saturating_add(1).saturating_mul(r)
                }
            };
            warm_up = warm_up.max(in_base(state.warm_up()));
            history = history.max(in_base(state.history()));
            factor_base.insert(name.as_str(), n_values);
            factor_series.insert(name.as_str(), si);
            factors.push((state, n_values, row.3.len(), si));
            n_values += row.3.len();
        }
        if !issues.is_empty() {
            return Err(StrategyError::Spec(issues));
        }
        let mut c = Compiler {
            params: &values_map,
            factor_base,
            factor_series,
            series_index,
            signal_slot: BTreeMap::new(),
            signals: &spec.signals,
            lag_index: BTreeMap::new(),
            lags: Vec::new(),
            needs: Vec::new(),
            ins: Vec::new(),
            cross: 0,
            counters: Vec::new(),
            issues: Vec::new(),
        };
        let mut targets = Vec::new();
        let out = match &spec.output {
            Output::Compose { .. } => {
                return Err(StrategyError::Spec(vec![SpecIssue {
                path: "compose".into(),
                reason:
                    "a composed spec has no plan of its own: build it with StrategySpec::strategy"
                        .into(),
            }]))
            }
            Output::Target { expr, min, max } => Out::Target {
                root: c.compile(expr),
                min: *min,
                max: *max,
            },
            Output::Targets(list) => {
                for t in list {
                    let root = c.compile(&t.expr);
                    let feed = spec
                        .series
                        .get(&t.series)
                        .and_then(|d| feeds.iter().position(|f| *f == d.symbol))
                        .unwrap_or(0);
                    targets.push((feed, root, t.min, t.max));
                }
                Out::Targets
            }
            Output::Rules {
                long_entry,
                long_exit,
                short_entry,
                short_exit,
            } => {
                let mut slots = [None; 4];
                for (slot, e) in
                    slots
                        .iter_mut()
                        .zip([long_entry, long_exit, short_entry, short_exit])
                {
                    *slot = e.as_ref().map(|e| c.compile(e));
                }
                Out::Rules(slots)
            }
        };
        if !c.issues.is_empty() {
            return Err(StrategyError::Spec(c.issues));
        }
        let lag_warm = c
            .needs
            .iter()
            .map(|n| match n {
                Need::Lag(i) => c
                    .lags
                    .get(*i)
                    .map_or(0, |l| (l.buf.len() - 1).saturating_mul(ratio(l.series))),
                Need::Bars(k) => k.saturating_sub(1),
                Need::SBars(si, k) => k.saturating_add(1).saturating_mul(ratio(*si)),
                Need::Cur(_) => 0,
            })
            .max()
            .unwrap_or(0);
        // Each series keeps its last closed bar (its factors' input) and as many more as its
        // deepest reference reads.
        let blank = Bar {
            open_time_ms: 0,
            open: f64::NAN,
            high: f64::NAN,
            low: f64::NAN,
            close: f64::NAN,
            volume: f64::NAN,
        };
        for s in &mut series {
            s.ring = vec![blank; 1];
        }
        for n in &c.needs {
            if let Need::SBars(si, k) = n {
                if let Some(s) = series.get_mut(*si) {
                    if s.ring.len() < *k {
                        s.ring = vec![blank; *k];
                    }
                }
            }
        }
        let version = StrategyVersion::composite(
            &spec.name,
            spec.version,
            params,
            &[&format!("spec={}", spec.content_hash)],
        );
        // Constants are written once; a bar runs only the instructions that can change.
        let slots: Vec<f64> = c
            .ins
            .iter()
            .map(|i| match i {
                Ins::Const(x) => *x,
                _ => 0.0,
            })
            .collect();
        let run: Vec<usize> = (0..c.ins.len())
            .filter(|i| !matches!(c.ins.get(*i), Some(Ins::Const(_))))
            .collect();
        let held = vec![None; feeds.len()];
        Ok(Self {
            version,
            factors,
            series,
            feeds,
            targets,
            held,
            values: vec![None; n_values],
            lags: c.lags,
            needs: c.needs,
            ins: c.ins,
            run,
            slots,
            cross: vec![None; c.cross],
            counters: c.counters,
            out,
            state: 0.0,
            last: None,
            warm_up: warm_up + lag_warm,
            history: history.max(warm_up) + lag_warm,
        })
    }

    /// Feeds one bar; the exposure held after it (`None` = not decided on this bar).
    #[inline]
    fn step(&mut self, bars: &[Bar]) -> Option<f64> {
        let bar = bars.last()?;
        for (f, base, n, _) in &mut self.factors {
            if let Some(out) = self.values.get_mut(*base..*base + *n) {
                f.update(bar, out);
            }
        }
        for l in &mut self.lags {
            l.push(self.values.get(l.value).copied().flatten());
        }
        if !self.known(bars) {
            return None;
        }
        self.exec(bars);
        let at = |j: Option<usize>| {
            j.and_then(|j| self.slots.get(j))
                .is_some_and(|x| truthy(*x))
        };
        match self.out {
            Out::Target { root, min, max } => {
                let x = self.slots.get(root).copied().unwrap_or(f64::NAN);
                if !x.is_finite() {
                    return None;
                }
                // +0.0 for −0.0: the same target whichever way a zero was computed.
                Some(x.max(min).min(max) + 0.0)
            }
            Out::Targets => None,
            Out::Rules([le, lx, se, sx]) => {
                let s = self.state;
                self.state = if s > 0.0 && at(lx) || s < 0.0 && at(sx) {
                    0.0
                } else if at(le) {
                    1.0
                } else if at(se) {
                    -1.0
                } else {
                    s
                };
                Some(self.state)
            }
        }
    }

    /// Whether every value the plan references is known (warm) after this bar.
    #[inline(always)]
    fn known(&self, bars: &[Bar]) -> bool {
        for n in &self.needs {
            let known = match n {
                Need::Cur(v) => self.values.get(*v).copied().flatten().is_some(),
                Need::Lag(i) => self.lags.get(*i).and_then(LagRing::get).is_some(),
                Need::Bars(k) => bars.len() >= *k,
                Need::SBars(si, k) => self.series.get(*si).is_some_and(|s| s.count >= *k),
            };
            if !known {
                return false;
            }
        }
        true
    }

    /// Runs the instructions that can change, in dependency order.
    #[inline(always)]
    fn exec(&mut self, bars: &[Bar]) {
        for k in 0..self.run.len() {
            let i = self.run.get(k).copied().unwrap_or(0);
            let Some(&ins) = self.ins.get(i) else {
                continue;
            };
            let s = &self.slots;
            let at = |j: usize| s.get(j).copied().unwrap_or(f64::NAN);
            let x = match ins {
                Ins::Const(x) => x,
                Ins::Bar(f, lag) => {
                    let b = bars.len().checked_sub(lag + 1).and_then(|k| bars.get(k));
                    b.map_or(f64::NAN, |b| match f {
                        BarField::Open => b.open,
                        BarField::High => b.high,
                        BarField::Low => b.low,
                        BarField::Close => b.close,
                        BarField::Volume => b.volume,
                    })
                }
                Ins::SBar(si, f, lag) => self
                    .series
                    .get(si)
                    .and_then(|s| s.back(lag))
                    .map_or(f64::NAN, |b| field_of(b, f)),
                Ins::Cur(v) => self.values.get(v).copied().flatten().unwrap_or(f64::NAN),
                Ins::Lag(l) => self.lags.get(l).and_then(LagRing::get).unwrap_or(f64::NAN),
                Ins::Un(op, a) => un(op, at(a)),
                Ins::Bin(op, a, c) => bin(op, at(a), at(c)),
                Ins::Tri(op, x, y, z) => tri(op, at(x), at(y), at(z)),
                Ins::Cross(above, a, c, st) => {
                    let (a, c) = (at(a), at(c));
                    let prev = self.cross.get(st).copied().flatten();
                    if let Some(slot) = self.cross.get_mut(st) {
                        *slot = Some((a, c));
                    }
                    b(match prev {
                        Some((pa, pc)) if above => pa <= pc && a > c,
                        Some((pa, pc)) => pa >= pc && a < c,
                        None => false,
                    })
                }
                Ins::For(cond, n, st) => {
                    let holds = truthy(at(cond));
                    let count = match self.counters.get_mut(st) {
                        Some(k) => {
                            *k = if holds { k.saturating_add(1) } else { 0 };
                            *k
                        }
                        None => 0,
                    };
                    b(count >= n)
                }
            };
            if let Some(slot) = self.slots.get_mut(i) {
                *slot = x;
            }
        }
    }

    /// Multi-series step: `latest` holds each feed's newest closed base bar (all with the same
    /// open time, in [`Strategy::feeds`] order). Resamples each declared series, moves the
    /// factors and lags of the series that closed a bar, and when everything referenced is
    /// warm updates the target held per feed. No allocation.
    pub fn step_multi(&mut self, latest: &[Bar]) -> &[Option<f64>] {
        for s in &mut self.series {
            s.updated = match latest.get(s.feed) {
                Some(b) => s.push(b),
                None => false,
            };
        }
        for (f, base, n, si) in &mut self.factors {
            let Some(s) = self.series.get(*si) else {
                continue;
            };
            if !s.updated {
                continue;
            }
            if let (Some(bar), Some(out)) =
                (s.back(0).copied(), self.values.get_mut(*base..*base + *n))
            {
                f.update(&bar, out);
            }
        }
        for l in &mut self.lags {
            if self.series.get(l.series).is_some_and(|s| s.updated) {
                l.push(self.values.get(l.value).copied().flatten());
            }
        }
        if self.known(&[]) {
            self.exec(&[]);
            for (feed, root, min, max) in &self.targets {
                let x = self.slots.get(*root).copied().unwrap_or(f64::NAN);
                if x.is_finite() {
                    if let Some(h) = self.held.get_mut(*feed) {
                        *h = Some(x.max(*min).min(*max) + 0.0);
                    }
                }
            }
        }
        &self.held
    }

    /// The exposure after `bars` (the whole history so far, the newest last), for tests and the
    /// look-ahead guard: `None` while undecided.
    pub fn decide(&mut self, bars: &[Bar]) -> Option<f64> {
        self.step(bars)
    }
}

impl Strategy for SpecStrategy {
    fn version(&self) -> &StrategyVersion {
        &self.version
    }
    fn feeds(&self) -> &[Symbol] {
        &self.feeds
    }
    fn on_step(&mut self, latest: &[Bar]) -> &[Option<f64>] {
        self.step_multi(latest)
    }
    fn warm_up(&self) -> usize {
        self.warm_up
    }
    fn history(&self) -> usize {
        self.history
    }
    fn on_bar(&mut self, ctx: &Context<'_>) -> Vec<Intent> {
        let Some(x) = self.step(ctx.bars) else {
            return Vec::new();
        };
        if self.last == Some(x) {
            return Vec::new();
        }
        self.last = Some(x);
        vec![Intent::Target {
            symbol: ctx.symbol.clone(),
            target: Target::Exposure(x),
        }]
    }
}
