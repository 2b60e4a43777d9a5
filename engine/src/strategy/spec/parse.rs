//! The spec parser: walks the JSON document by hand (not serde) so every problem carries the
//! exact path of the value that caused it, collects all problems instead of the first, resolves
//! every name, type-checks expressions, and orders named signals (refusing cycles). Nothing in
//! it can panic on any document: no indexing or slicing of user text, bounded depth and size.

use super::catalog::{self, FactorKind};
use super::{
    Check, FactorDef, Output, ParamDef, ParamType, SpecIssue, StrategySpec, MAX_DEPTH, MAX_LAG,
    MAX_NODES,
};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A field of the bar that just closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarField {
    /// Open.
    Open,
    /// High.
    High,
    /// Low.
    Low,
    /// Close.
    Close,
    /// Volume.
    Volume,
}

const BAR_FIELDS: [(&str, BarField); 5] = [
    ("open", BarField::Open),
    ("high", BarField::High),
    ("low", BarField::Low),
    ("close", BarField::Close),
    ("volume", BarField::Volume),
];

/// An operator of the expression language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Sum (2 or more).
    Add,
    /// a − b.
    Sub,
    /// Product (2 or more).
    Mul,
    /// a / b (a non-finite target is not acted on).
    Div,
    /// −a.
    Neg,
    /// |a|.
    Abs,
    /// Smallest (2 or more).
    Min,
    /// Largest (2 or more).
    Max,
    /// Round down.
    Floor,
    /// −1, 0 or 1.
    Sign,
    /// `[x, lo, hi]`.
    Clamp,
    /// `[cond, then, else]`.
    If,
    /// a > b.
    Gt,
    /// a ≥ b.
    Gte,
    /// a < b.
    Lt,
    /// a ≤ b.
    Lte,
    /// All true (2 or more).
    And,
    /// Any true (2 or more).
    Or,
    /// Not.
    Not,
    /// a crossed above b on this bar (a > b now, a ≤ b on the previous decided bar).
    CrossAbove,
    /// a crossed below b on this bar.
    CrossBelow,
    /// `[n, cond]`: cond held on each of the last n decided bars.
    ForBars,
}

/// Type of an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// A number.
    Num,
    /// A condition.
    Bool,
}

/// How many arguments an operator takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    /// Exactly this many.
    Exactly(usize),
    /// At least two.
    Many,
}

/// Every operator: name, op, arity, argument type (`None` = per operator), result type.
pub const OPERATORS: &[(&str, Op, Arity, Option<Ty>, Ty)] = &[
    ("add", Op::Add, Arity::Many, Some(Ty::Num), Ty::Num),
    ("sub", Op::Sub, Arity::Exactly(2), Some(Ty::Num), Ty::Num),
    ("mul", Op::Mul, Arity::Many, Some(Ty::Num), Ty::Num),
    ("div", Op::Div, Arity::Exactly(2), Some(Ty::Num), Ty::Num),
    ("neg", Op::Neg, Arity::Exactly(1), Some(Ty::Num), Ty::Num),
    ("abs", Op::Abs, Arity::Exactly(1), Some(Ty::Num), Ty::Num),
    ("min", Op::Min, Arity::Many, Some(Ty::Num), Ty::Num),
    ("max", Op::Max, Arity::Many, Some(Ty::Num), Ty::Num),
    (
        "floor",
        Op::Floor,
        Arity::Exactly(1),
        Some(Ty::Num),
        Ty::Num,
    ),
    ("sign", Op::Sign, Arity::Exactly(1), Some(Ty::Num), Ty::Num),
    (
        "clamp",
        Op::Clamp,
        Arity::Exactly(3),
        Some(Ty::Num),
        Ty::Num,
    ),
    ("if", Op::If, Arity::Exactly(3), None, Ty::Num),
    ("gt", Op::Gt, Arity::Exactly(2), Some(Ty::Num), Ty::Bool),
    ("gte", Op::Gte, Arity::Exactly(2), Some(Ty::Num), Ty::Bool),
    ("lt", Op::Lt, Arity::Exactly(2), Some(Ty::Num), Ty::Bool),
    ("lte", Op::Lte, Arity::Exactly(2), Some(Ty::Num), Ty::Bool),
    ("and", Op::And, Arity::Many, Some(Ty::Bool), Ty::Bool),
    ("or", Op::Or, Arity::Many, Some(Ty::Bool), Ty::Bool),
    ("not", Op::Not, Arity::Exactly(1), Some(Ty::Bool), Ty::Bool),
    (
        "cross_above",
        Op::CrossAbove,
        Arity::Exactly(2),
        Some(Ty::Num),
        Ty::Bool,
    ),
    (
        "cross_below",
        Op::CrossBelow,
        Arity::Exactly(2),
        Some(Ty::Num),
        Ty::Bool,
    ),
    ("for_bars", Op::ForBars, Arity::Exactly(2), None, Ty::Bool),
];

/// A resolved, type-checked expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal (booleans are 1 / 0).
    Num(f64),
    /// A parameter's value.
    Param(String),
    /// A field of a bar `lag` bars back (0 = the bar that just closed).
    Bar {
        /// Field.
        field: BarField,
        /// Bars back.
        lag: usize,
    },
    /// A factor output `lag` bars back.
    Factor {
        /// Factor name.
        name: String,
        /// Output index in the catalogue's field list.
        field: usize,
        /// Bars back.
        lag: usize,
    },
    /// A field of a declared series' bar `lag` bars of that series back (0 = its last closed
    /// bar; a higher-timeframe bar is visible only once closed).
    SeriesBar {
        /// Series name.
        series: String,
        /// Field.
        field: BarField,
        /// Bars of that series back.
        lag: usize,
    },
    /// A named signal.
    Signal(String),
    /// An operator applied to arguments.
    Op {
        /// Operator.
        op: Op,
        /// Arguments.
        args: Vec<Expr>,
    },
}

const TOP: [&str; 13] = [
    "series",
    "timeframe",
    "targets",
    "compose",
    "name",
    "version",
    "description",
    "params",
    "checks",
    "factors",
    "signals",
    "target",
    "rules",
];
const RULES: [&str; 4] = ["long_entry", "long_exit", "short_entry", "short_exit"];
const MAX_NAMES: usize = 256;
const MAX_SIGNAL_CHAIN: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visit {
    Active,
    Done(Ty),
}

struct Parser<'a> {
    issues: Vec<SpecIssue>,
    /// Declared series by name (empty: the one series the bot or backtest runs on).
    series: BTreeMap<String, super::SeriesDef>,
    params: BTreeMap<String, ParamDef>,
    factors: BTreeMap<String, FactorKind>,
    raw_signals: BTreeMap<String, &'a Value>,
    visits: BTreeMap<String, Visit>,
    signals: Vec<(String, Expr)>,
    stack: Vec<String>,
    nodes: usize,
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && s.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite())
}

impl<'a> Parser<'a> {
    fn issue(&mut self, path: &str, reason: impl Into<String>) {
        if self.issues.len() < 100 {
            self.issues.push(SpecIssue {
                path: path.to_string(),
                reason: reason.into(),
            });
        }
    }

    fn object(&mut self, v: &'a Value, path: &str) -> Option<&'a Map<String, Value>> {
        match v {
            Value::Object(m) => Some(m),
            other => {
                self.issue(path, format!("must be an object, not {}", kind_of(other)));
                None
            }
        }
    }

    fn unknown_keys(&mut self, m: &Map<String, Value>, allowed: &[&str], path: &str) {
        for k in m.keys() {
            if !allowed.contains(&k.as_str()) {
                let at = join(path, k);
                self.issue(
                    &at,
                    format!("unknown field (allowed: {})", allowed.join(", ")),
                );
            }
        }
    }

    fn name_ok(&mut self, name: &str, path: &str) -> bool {
        if !is_ident(name) {
            self.issue(
                path,
                "names are 1 to 64 of a-z, 0-9 and _, starting with a letter",
            );
            return false;
        }
        if BAR_FIELDS.iter().any(|(b, _)| *b == name) {
            self.issue(
                path,
                format!("{name:?} is a bar field and cannot be redefined"),
            );
            return false;
        }
        true
    }

    fn params(&mut self, v: &'a Value) {
        let Some(m) = self.object(v, "params") else {
            return;
        };
        if m.len() > MAX_NAMES {
            self.issue("params", format!("at most {MAX_NAMES} parameters"));
            return;
        }
        for (name, def) in m {
            let path = format!("params.{name}");
            if !is_ident(name) {
                self.issue(
                    &path,
                    "names are 1 to 64 of a-z, 0-9 and _, starting with a letter",
                );
                continue;
            }
            let Some(d) = self.object(def, &path) else {
                continue;
            };
            self.unknown_keys(d, &["type", "default", "min", "max", "description"], &path);
            let kind = match d.get("type").and_then(Value::as_str) {
                Some("int") => ParamType::Int,
                Some("real") => ParamType::Real,
                Some("bool") => ParamType::Bool,
                _ => {
                    self.issue(
                        &format!("{path}.type"),
                        "must be \"int\", \"real\" or \"bool\"",
                    );
                    continue;
                }
            };
            let mut field = |key: &str, fallback: Option<f64>| -> Option<f64> {
                match d.get(key) {
                    None if fallback.is_some() => fallback,
                    None => {
                        self.issue(&format!("{path}.{key}"), "is required");
                        None
                    }
                    Some(Value::Bool(b)) if kind == ParamType::Bool => {
                        Some(f64::from(u8::from(*b)))
                    }
                    Some(x) => match num(x) {
                        Some(n) => Some(n),
                        None => {
                            self.issue(
                                &format!("{path}.{key}"),
                                format!("must be a finite number, not {}", kind_of(x)),
                            );
                            None
                        }
                    },
                }
            };
            let (lo, hi) = if kind == ParamType::Bool {
                (Some(0.0), Some(1.0))
            } else {
                (None, None)
            };
            let (default, min, max) = (field("default", lo), field("min", lo), field("max", hi));
            let (Some(default), Some(min), Some(max)) = (default, min, max) else {
                continue;
            };
            if kind != ParamType::Real {
                for (key, x) in [("default", default), ("min", min), ("max", max)] {
                    if x.fract() != 0.0 {
                        self.issue(&format!("{path}.{key}"), "must be a whole number");
                    }
                }
            }
            if kind == ParamType::Bool && (min != 0.0 || max != 1.0) {
                self.issue(&path, "a bool parameter ranges over 0 and 1");
                continue;
            }
            if min > max {
                self.issue(&format!("{path}.min"), "must not exceed max");
                continue;
            }
            if default < min || default > max {
                self.issue(
                    &format!("{path}.default"),
                    format!("{default} is outside [{min}, {max}]"),
                );
                continue;
            }
            self.params.insert(
                name.clone(),
                ParamDef {
                    kind,
                    default,
                    min,
                    max,
                },
            );
        }
    }

    /// A factor argument: a number within the catalogue's range, or a parameter of a fitting type.
    fn arg(&mut self, v: &Value, arg: &catalog::Arg, path: &str) -> Option<Expr> {
        match v {
            Value::String(s) => {
                let Some(p) = s.strip_prefix('$') else {
                    self.issue(path, "must be a number or a \"$param\" reference");
                    return None;
                };
                match self.params.get(p) {
                    None => {
                        self.issue(path, format!("unknown parameter {p:?}"));
                        None
                    }
                    Some(def) if arg.integer && def.kind == ParamType::Real => {
                        self.issue(
                            path,
                            format!("{} needs a whole number but {p:?} is real", arg.name),
                        );
                        None
                    }
                    Some(_) => Some(Expr::Param(p.to_string())),
                }
            }
            other => {
                let Some(x) = num(other) else {
                    self.issue(
                        path,
                        format!("must be a number or a \"$param\", not {}", kind_of(other)),
                    );
                    return None;
                };
                if arg.integer && x.fract() != 0.0 {
                    self.issue(path, "must be a whole number");
                    return None;
                }
                if x < arg.min || x > arg.max {
                    self.issue(path, format!("{x} is outside [{}, {}]", arg.min, arg.max));
                    return None;
                }
                Some(Expr::Num(x))
            }
        }
    }

    fn factors(&mut self, v: &'a Value) -> BTreeMap<String, FactorDef> {
        let mut out = BTreeMap::new();
        let Some(m) = self.object(v, "factors") else {
            return out;
        };
        if m.len() > MAX_NAMES {
            self.issue("factors", format!("at most {MAX_NAMES} factors"));
            return out;
        }
        // Names first, so a bad factor does not also surface as an unknown reference.
        for (name, def) in m {
            let path = format!("factors.{name}");
            if !self.name_ok(name, &path) {
                continue;
            }
            let Some(d) = self.object(def, &path) else {
                continue;
            };
            self.unknown_keys(d, &["kind", "args", "series", "description"], &path);
            if self.series.contains_key(name) {
                self.issue(&path, format!("{name:?} is already a series"));
                continue;
            }
            let series = match d.get("series") {
                None if self.series.is_empty() => None,
                None => {
                    let known: Vec<&str> = self.series.keys().map(String::as_str).collect();
                    self.issue(
                        &format!("{path}.series"),
                        format!(
                            "is required in a spec with series (one of: {})",
                            known.join(", ")
                        ),
                    );
                    continue;
                }
                Some(Value::String(sn)) if self.series.contains_key(sn) => Some(sn.clone()),
                Some(other) => {
                    let known: Vec<&str> = self.series.keys().map(String::as_str).collect();
                    self.issue(
                        &format!("{path}.series"),
                        if known.is_empty() {
                            format!("unknown series {other}: declare it under \"series\" first")
                        } else {
                            format!("unknown series {other} (declared: {})", known.join(", "))
                        },
                    );
                    continue;
                }
            };
            let Some(kind_name) = d.get("kind").and_then(Value::as_str) else {
                self.issue(&format!("{path}.kind"), "is required (a factor name)");
                continue;
            };
            let Some(row) = catalog::lookup(kind_name) else {
                let known: Vec<&str> = catalog::FACTORS.iter().map(|r| r.0).collect();
                self.issue(
                    &format!("{path}.kind"),
                    format!("unknown factor {kind_name:?} (known: {})", known.join(", ")),
                );
                continue;
            };
            self.factors.insert(name.clone(), row.1);
            let empty = Map::new();
            let args = match d.get("args") {
                None => &empty,
                Some(a) => match self.object(a, &format!("{path}.args")) {
                    Some(a) => a,
                    None => continue,
                },
            };
            let allowed: Vec<&str> = row.2.iter().map(|a| a.name).collect();
            self.unknown_keys(args, &allowed, &format!("{path}.args"));
            let mut resolved = Vec::new();
            for a in row.2 {
                let at = format!("{path}.args.{}", a.name);
                match args.get(a.name) {
                    None => self.issue(&at, "is required"),
                    Some(v) => {
                        if let Some(e) = self.arg(v, a, &at) {
                            resolved.push(e);
                        }
                    }
                }
            }
            if resolved.len() == row.2.len() {
                out.insert(
                    name.clone(),
                    FactorDef {
                        kind: row.1,
                        args: resolved,
                        series,
                    },
                );
            }
        }
        out
    }

    /// Resolves a reference string (`$p`, `name`, `name.field`, `name[2]`, `close[1]`).
    fn reference(&mut self, s: &str, path: &str, consts_only: bool) -> Option<(Expr, Ty)> {
        if let Some(p) = s.strip_prefix('$') {
            return match self.params.get(p) {
                Some(def) => Some((
                    Expr::Param(p.to_string()),
                    if def.kind == ParamType::Bool {
                        Ty::Bool
                    } else {
                        Ty::Num
                    },
                )),
                None => {
                    self.issue(path, format!("unknown parameter {p:?}"));
                    None
                }
            };
        }
        if consts_only {
            self.issue(
                path,
                format!("{s:?}: checks may only use parameters and numbers"),
            );
            return None;
        }
        let (base, lag) = match s.strip_suffix(']').and_then(|t| t.rsplit_once('[')) {
            None => (s, 0usize),
            Some((base, lag_text)) => match lag_text.trim().parse::<i64>() {
                Ok(l) if l < 0 => {
                    self.issue(
                        path,
                        format!("{s:?} reads {} bar(s) into the future (look-ahead): lags must be 0 or more", -(l as i128)),
                    );
                    return None;
                }
                Ok(l) if l as u64 > MAX_LAG as u64 => {
                    self.issue(path, format!("lag {l} exceeds {MAX_LAG}"));
                    return None;
                }
                Ok(l) => (base, l as usize),
                Err(_) => {
                    self.issue(
                        path,
                        format!("{s:?}: the lag in [..] must be a whole number"),
                    );
                    return None;
                }
            },
        };
        let (name, field) = match base.split_once('.') {
            Some((n, f)) => (n, Some(f)),
            None => (base, None),
        };
        if self.series.contains_key(name) {
            let Some(bf) = field.and_then(|f| BAR_FIELDS.iter().find(|(b, _)| *b == f)) else {
                self.issue(
                    path,
                    format!("{s:?}: a series is read by a bar field: \"{name}.close\", \"{name}.high[1]\""),
                );
                return None;
            };
            return Some((
                Expr::SeriesBar {
                    series: name.to_string(),
                    field: bf.1,
                    lag,
                },
                Ty::Num,
            ));
        }
        if let Some((_, bf)) = BAR_FIELDS.iter().find(|(b, _)| *b == name) {
            if !self.series.is_empty() {
                self.issue(
                    path,
                    format!("{s:?}: this spec declares series: name the one to read (\"<series>.{name}\")"),
                );
                return None;
            }
            if field.is_some() {
                self.issue(path, format!("{s:?}: bar fields have no sub-field"));
                return None;
            }
            return Some((Expr::Bar { field: *bf, lag }, Ty::Num));
        }
        if let Some(kind) = self.factors.get(name).copied() {
            let outputs = catalog::row(kind).3;
            let idx = match field {
                None => 0,
                Some(f) => match outputs.iter().position(|o| *o == f) {
                    Some(i) => i,
                    None => {
                        self.issue(
                            path,
                            format!(
                                "factor {name:?} has no field {f:?} (fields: {})",
                                outputs.join(", ")
                            ),
                        );
                        return None;
                    }
                },
            };
            return Some((
                Expr::Factor {
                    name: name.to_string(),
                    field: idx,
                    lag,
                },
                Ty::Num,
            ));
        }
        if self.raw_signals.contains_key(name) {
            if field.is_some() || lag > 0 || s.ends_with(']') {
                self.issue(
                    path,
                    format!("{s:?}: signals take no field or lag (lag the factors inside it)"),
                );
                return None;
            }
            let ty = self.signal(name)?;
            return Some((Expr::Signal(name.to_string()), ty));
        }
        self.issue(
            path,
            format!("unknown name {name:?}: not a factor, signal, bar field or $parameter"),
        );
        None
    }

    /// Parses signal `name` (once), refusing cycles.
    fn signal(&mut self, name: &str) -> Option<Ty> {
        match self.visits.get(name) {
            Some(Visit::Done(t)) => return Some(*t),
            Some(Visit::Active) => {
                let from = self.stack.iter().position(|s| s == name).unwrap_or(0);
                let mut chain: Vec<&str> =
                    self.stack.iter().skip(from).map(String::as_str).collect();
                chain.push(name);
                self.issue(
                    &format!("signals.{name}"),
                    format!("cycle: {}", chain.join(" → ")),
                );
                return None;
            }
            None => {}
        }
        let raw = *self.raw_signals.get(name)?;
        let active = self
            .visits
            .values()
            .filter(|v| **v == Visit::Active)
            .count();
        if active >= MAX_SIGNAL_CHAIN {
            self.issue(
                &format!("signals.{name}"),
                format!("signals reference each other more than {MAX_SIGNAL_CHAIN} deep"),
            );
            return None;
        }
        self.visits.insert(name.to_string(), Visit::Active);
        self.stack.push(name.to_string());
        let parsed = self.expr(raw, &format!("signals.{name}"), 0, false);
        self.stack.pop();
        match parsed {
            Some((e, t)) => {
                self.visits.insert(name.to_string(), Visit::Done(t));
                self.signals.push((name.to_string(), e));
                Some(t)
            }
            None => {
                // Leave it Active-free but unusable: later references fail quietly.
                self.raw_signals.remove(name);
                self.visits.remove(name);
                None
            }
        }
    }

    fn expect(&mut self, got: Ty, want: Ty, path: &str) -> bool {
        if got != want {
            self.issue(
                path,
                match want {
                    Ty::Num => "must be a number, not a condition",
                    Ty::Bool => "must be a condition (a comparison, and/or/not, a bool parameter), not a number",
                },
            );
            return false;
        }
        true
    }

    fn expr(&mut self, v: &Value, path: &str, depth: usize, consts: bool) -> Option<(Expr, Ty)> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            if self.nodes == MAX_NODES + 1 {
                self.issue(
                    path,
                    format!("the spec has more than {MAX_NODES} expression nodes"),
                );
            }
            return None;
        }
        if depth > MAX_DEPTH {
            self.issue(path, format!("nested deeper than {MAX_DEPTH}"));
            return None;
        }
        match v {
            Value::Bool(b) => Some((Expr::Num(f64::from(u8::from(*b))), Ty::Bool)),
            Value::Number(_) => match num(v) {
                Some(x) => Some((Expr::Num(x), Ty::Num)),
                None => {
                    self.issue(path, "must be a finite number");
                    None
                }
            },
            Value::String(s) => self.reference(s, path, consts),
            Value::Object(m) => {
                let mut it = m.iter();
                let (Some((key, raw)), None) = (it.next(), it.next()) else {
                    self.issue(
                        path,
                        "an operator is an object with exactly one key, like {\"gt\": [a, b]}",
                    );
                    return None;
                };
                let at = format!("{path}.{key}");
                let Some(&(_, op, arity, arg_ty, out_ty)) =
                    OPERATORS.iter().find(|o| o.0 == key.as_str())
                else {
                    let known: Vec<&str> = OPERATORS.iter().map(|o| o.0).collect();
                    self.issue(
                        &at,
                        format!("unknown operator {key:?} (known: {})", known.join(", ")),
                    );
                    return None;
                };
                if consts && matches!(op, Op::CrossAbove | Op::CrossBelow | Op::ForBars) {
                    self.issue(&at, "checks may only use parameters and numbers");
                    return None;
                }
                let raw_args: Vec<(&Value, String)> = match raw {
                    Value::Array(a) => a
                        .iter()
                        .enumerate()
                        .map(|(i, x)| (x, format!("{at}[{i}]")))
                        .collect(),
                    single if arity == Arity::Exactly(1) => vec![(single, at.clone())],
                    other => {
                        self.issue(
                            &at,
                            format!("arguments must be an array, not {}", kind_of(other)),
                        );
                        return None;
                    }
                };
                match arity {
                    Arity::Exactly(n) if raw_args.len() != n => {
                        self.issue(
                            &at,
                            format!("takes {n} argument(s), got {}", raw_args.len()),
                        );
                        return None;
                    }
                    Arity::Many if raw_args.len() < 2 => {
                        self.issue(&at, "takes 2 or more arguments");
                        return None;
                    }
                    _ => {}
                }
                let mut args = Vec::with_capacity(raw_args.len());
                let mut types = Vec::with_capacity(raw_args.len());
                let mut ok = true;
                for (i, (x, p)) in raw_args.iter().enumerate() {
                    if op == Op::ForBars && i == 0 {
                        match self.count(x, p) {
                            Some(e) => {
                                args.push(e);
                                types.push(Ty::Num);
                            }
                            None => ok = false,
                        }
                        continue;
                    }
                    match self.expr(x, p, depth + 1, consts) {
                        Some((e, t)) => {
                            args.push(e);
                            types.push(t);
                        }
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                let mut result = out_ty;
                match (op, arg_ty) {
                    (_, Some(want)) => {
                        for (t, (_, p)) in types.iter().zip(&raw_args) {
                            ok &= self.expect(*t, want, p);
                        }
                    }
                    (Op::If, None) => {
                        if let (Some(c), Some(a), Some(b)) =
                            (types.first(), types.get(1), types.get(2))
                        {
                            ok &= self.expect(*c, Ty::Bool, &raw_args[0].1);
                            ok &= self.expect(*b, *a, &raw_args[2].1);
                            result = *a;
                        }
                    }
                    (Op::ForBars, None) => {
                        if let Some(t) = types.get(1) {
                            ok &= self.expect(*t, Ty::Bool, &raw_args[1].1);
                        }
                    }
                    _ => {}
                }
                ok.then_some((Expr::Op { op, args }, result))
            }
            other => {
                self.issue(
                    path,
                    format!(
                        "must be a number, a reference or an operator object, not {}",
                        kind_of(other)
                    ),
                );
                None
            }
        }
    }

    /// The bar count of `for_bars`: a whole number in 1..=MAX_LAG or an int parameter.
    fn count(&mut self, v: &Value, path: &str) -> Option<Expr> {
        let arg = catalog::Arg {
            name: "n",
            integer: true,
            min: 1.0,
            max: MAX_LAG as f64,
        };
        self.arg(v, &arg, path)
    }

    fn cond(&mut self, v: &Value, path: &str, want: Ty, consts: bool) -> Option<Expr> {
        let (e, t) = self.expr(v, path, 0, consts)?;
        self.expect(t, want, path).then_some(e)
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Deepest nesting of composed specs.
const MAX_NESTING: usize = 3;

/// Parses a document (the content hash and source are filled by the caller).
pub fn parse(doc: &Value) -> Result<StrategySpec, Vec<SpecIssue>> {
    parse_at(doc, 0)
}

/// The `compose` block: legs (a template by name or a nested spec), weights, normalisation.
fn compose<'a>(p: &mut Parser<'a>, v: &'a Value, nesting: usize) -> Option<Output> {
    let m = match v {
        Value::Object(m) => m,
        other => {
            p.issue(
                "compose",
                format!("must be an object, not {}", kind_of(other)),
            );
            return None;
        }
    };
    p.unknown_keys(m, &["legs", "vol_window", "step"], "compose");
    let Some(Value::Array(raw_legs)) = m.get("legs") else {
        p.issue(
            "compose.legs",
            "is required: an array of {template | spec, params, weight}",
        );
        return None;
    };
    if raw_legs.is_empty() || raw_legs.len() > 32 {
        p.issue("compose.legs", "needs 1 to 32 legs");
        return None;
    }
    let win = catalog::Arg {
        name: "vol_window",
        integer: true,
        min: 2.0,
        max: super::MAX_WINDOW,
    };
    let anyn = catalog::Arg {
        name: "value",
        integer: false,
        min: -1e9,
        max: 1e9,
    };
    let unit = catalog::Arg {
        name: "step",
        integer: false,
        min: 0.0,
        max: 1.0,
    };
    let mut legs = Vec::new();
    let mut ok = true;
    for (i, raw) in raw_legs.iter().enumerate() {
        let path = format!("compose.legs[{i}]");
        let Value::Object(leg) = raw else {
            p.issue(&path, "must be an object");
            ok = false;
            continue;
        };
        p.unknown_keys(leg, &["template", "spec", "params", "weight"], &path);
        let source = match (leg.get("template"), leg.get("spec")) {
            (Some(Value::String(name)), None) => {
                if super::super::Registry::builtin().describe(name).is_none() {
                    let known = super::super::Registry::builtin().names().join(", ");
                    p.issue(
                        &format!("{path}.template"),
                        format!("unknown template {name:?} (known: {known})"),
                    );
                    ok = false;
                    continue;
                }
                super::LegSource::Template(name.clone())
            }
            (None, Some(inner)) => {
                if nesting + 1 >= MAX_NESTING {
                    p.issue(
                        &format!("{path}.spec"),
                        format!("specs nest at most {MAX_NESTING} deep"),
                    );
                    ok = false;
                    continue;
                }
                match parse_at(inner, nesting + 1) {
                    Ok(sp) if !sp.series.is_empty() => {
                        p.issue(
                            &format!("{path}.spec.series"),
                            "a composed leg reads the composer's one series: multi-series specs are not legs",
                        );
                        ok = false;
                        continue;
                    }
                    Ok(mut sp) => {
                        let text = serde_json::to_string(inner).unwrap_or_default();
                        sp.content_hash =
                            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()));
                        sp.source = inner.clone();
                        super::LegSource::Spec(Box::new(sp))
                    }
                    Err(issues) => {
                        for x in issues {
                            let at = if x.path == "." {
                                format!("{path}.spec")
                            } else {
                                format!("{path}.spec.{}", x.path)
                            };
                            p.issue(&at, x.reason);
                        }
                        ok = false;
                        continue;
                    }
                }
            }
            _ => {
                p.issue(&path, "needs exactly one of \"template\" (a built-in name) or \"spec\" (a spec document)");
                ok = false;
                continue;
            }
        };
        let mut params = BTreeMap::new();
        if let Some(raw_params) = leg.get("params") {
            let Some(pm) = p.object(raw_params, &format!("{path}.params")) else {
                ok = false;
                continue;
            };
            for (k, v) in pm {
                match p.arg(v, &anyn, &format!("{path}.params.{k}")) {
                    Some(e) => {
                        params.insert(k.clone(), e);
                    }
                    None => ok = false,
                }
            }
        }
        let weight = match leg.get("weight") {
            None => Expr::Num(1.0),
            Some(w) => match p.arg(w, &anyn, &format!("{path}.weight")) {
                Some(e) => e,
                None => {
                    ok = false;
                    continue;
                }
            },
        };
        legs.push(super::LegDef {
            source,
            params,
            weight,
        });
    }
    let vol_window = match m.get("vol_window") {
        None | Some(Value::Null) => None,
        Some(v) => match p.arg(v, &win, "compose.vol_window") {
            Some(e) => Some(e),
            None => return None,
        },
    };
    let step = match m.get("step") {
        None => Expr::Num(0.0),
        Some(v) => p.arg(v, &unit, "compose.step")?,
    };
    ok.then_some(Output::Compose {
        legs,
        vol_window,
        step,
    })
}

fn parse_at(doc: &Value, nesting: usize) -> Result<StrategySpec, Vec<SpecIssue>> {
    let mut p = Parser {
        issues: Vec::new(),
        series: BTreeMap::new(),
        params: BTreeMap::new(),
        factors: BTreeMap::new(),
        raw_signals: BTreeMap::new(),
        visits: BTreeMap::new(),
        signals: Vec::new(),
        stack: Vec::new(),
        nodes: 0,
    };
    let Value::Object(top) = doc else {
        return Err(vec![SpecIssue {
            path: ".".into(),
            reason: format!("a spec is a JSON object, not {}", kind_of(doc)),
        }]);
    };
    p.unknown_keys(top, &TOP, "");
    let name = match top.get("name") {
        Some(Value::String(s)) if is_ident(s) => {
            if super::super::Registry::builtin().describe(s).is_some() {
                p.issue(
                    "name",
                    format!("{s:?} is a built-in template's name: choose another"),
                );
            }
            s.clone()
        }
        Some(_) => {
            p.issue(
                "name",
                "must be 1 to 64 of a-z, 0-9 and _, starting with a letter",
            );
            String::new()
        }
        None => {
            p.issue("name", "is required");
            String::new()
        }
    };
    let version = match top.get("version") {
        None => 1,
        Some(v) => match v.as_u64().and_then(|x| u32::try_from(x).ok()) {
            Some(x) if x >= 1 => x,
            _ => {
                p.issue("version", "must be a whole number from 1");
                1
            }
        },
    };
    if let Some(d) = top.get("description") {
        if !d.is_string() {
            p.issue("description", "must be a string");
        }
    }
    let base = series(&mut p, top);
    if let Some(v) = top.get("params") {
        p.params(v);
    }
    let factors = match top.get("factors") {
        Some(v) => p.factors(v),
        None => BTreeMap::new(),
    };
    if let Some(v) = top.get("signals") {
        if let Some(m) = p.object(v, "signals") {
            if m.len() > MAX_NAMES {
                p.issue("signals", format!("at most {MAX_NAMES} signals"));
            } else {
                for (name, raw) in m {
                    let path = format!("signals.{name}");
                    if !p.name_ok(name, &path) {
                        continue;
                    }
                    if p.factors.contains_key(name) {
                        p.issue(&path, format!("{name:?} is already a factor"));
                        continue;
                    }
                    if p.series.contains_key(name) {
                        p.issue(&path, format!("{name:?} is already a series"));
                        continue;
                    }
                    p.raw_signals.insert(name.clone(), raw);
                }
                let names: Vec<String> = p.raw_signals.keys().cloned().collect();
                for name in names {
                    let _ = p.signal(&name);
                }
            }
        }
    }
    let mut checks = Vec::new();
    if let Some(v) = top.get("checks") {
        match v {
            Value::Array(list) => {
                for (i, c) in list.iter().enumerate() {
                    let path = format!("checks[{i}]");
                    let Some(m) = p.object(c, &path) else {
                        continue;
                    };
                    p.unknown_keys(m, &["param", "expr", "message"], &path);
                    let param = match m.get("param").and_then(Value::as_str) {
                        Some(s) if p.params.contains_key(s) => s.to_string(),
                        _ => {
                            p.issue(&format!("{path}.param"), "must name a declared parameter");
                            continue;
                        }
                    };
                    let message = match m.get("message") {
                        None => "fails a check".to_string(),
                        Some(Value::String(s)) if s.chars().count() <= 200 => s.clone(),
                        Some(_) => {
                            p.issue(
                                &format!("{path}.message"),
                                "must be a string of at most 200 characters",
                            );
                            continue;
                        }
                    };
                    let Some(raw) = m.get("expr") else {
                        p.issue(&format!("{path}.expr"), "is required");
                        continue;
                    };
                    if let Some(expr) = p.cond(raw, &format!("{path}.expr"), Ty::Bool, true) {
                        checks.push(Check {
                            param,
                            expr,
                            message,
                        });
                    }
                }
            }
            other => p.issue(
                "checks",
                format!("must be an array, not {}", kind_of(other)),
            ),
        }
    }
    let outputs = ["target", "rules", "compose", "targets"]
        .iter()
        .filter(|k| top.contains_key(**k))
        .count();
    let multi = !p.series.is_empty();
    let output = match (top.get("target"), top.get("rules")) {
        _ if multi && (outputs != 1 || !top.contains_key("targets")) => {
            p.issue(".", "a spec with series decides with \"targets\" (one exposure expression per traded series), not target, rules or compose");
            None
        }
        _ if !multi && top.contains_key("targets") => {
            p.issue(
                "targets",
                "is for a spec with series: a single-series spec uses \"target\"",
            );
            None
        }
        _ if multi => top.get("targets").and_then(|t| targets(&mut p, t)),
        _ if outputs != 1 => {
            p.issue(".", "needs exactly one of \"target\" (an exposure expression), \"rules\" (entry/exit conditions) or \"compose\" (weighted strategies)");
            None
        }
        (None, None) => top.get("compose").and_then(|c| compose(&mut p, c, nesting)),
        (Some(t), None) => p.object(t, "target").and_then(|m| {
            p.unknown_keys(m, &["expr", "min", "max"], "target");
            let bound = |p: &mut Parser, key: &str, dflt: f64| match m.get(key) {
                None => Some(dflt),
                Some(v) => match num(v).filter(|x| x.abs() <= 100.0) {
                    Some(x) => Some(x),
                    None => {
                        p.issue(
                            &format!("target.{key}"),
                            "must be a number within [-100, 100]",
                        );
                        None
                    }
                },
            };
            let (min, max) = (bound(&mut p, "min", -1.0)?, bound(&mut p, "max", 1.0)?);
            if min > max {
                p.issue("target.min", "must not exceed target.max");
                return None;
            }
            let Some(raw) = m.get("expr") else {
                p.issue("target.expr", "is required");
                return None;
            };
            let expr = p.cond(raw, "target.expr", Ty::Num, false)?;
            Some(Output::Target { expr, min, max })
        }),
        (Some(_), Some(_)) => None,
        (None, Some(r)) => p.object(r, "rules").and_then(|m| {
            p.unknown_keys(m, &RULES, "rules");
            if !m.contains_key("long_entry") && !m.contains_key("short_entry") {
                p.issue("rules", "needs long_entry or short_entry");
                return None;
            }
            let mut get = |key: &str| -> Result<Option<Expr>, ()> {
                match m.get(key) {
                    None => Ok(None),
                    Some(raw) => p
                        .cond(raw, &format!("rules.{key}"), Ty::Bool, false)
                        .map(Some)
                        .ok_or(()),
                }
            };
            let (a, b, c, d) = (
                get("long_entry"),
                get("long_exit"),
                get("short_entry"),
                get("short_exit"),
            );
            Some(Output::Rules {
                long_entry: a.ok()?,
                long_exit: b.ok()?,
                short_entry: c.ok()?,
                short_exit: d.ok()?,
            })
        }),
    };
    match output {
        Some(output) if p.issues.is_empty() => Ok(StrategySpec {
            name,
            version,
            timeframe: base,
            series: p.series,
            params: p.params,
            checks,
            factors,
            signals: p.signals,
            output,
            content_hash: String::new(),
            source: Value::Null,
        }),
        _ => {
            if p.issues.is_empty() {
                p.issue(".", "invalid spec");
            }
            Err(p.issues)
        }
    }
}

/// Most series one spec may declare (each is a feed a live bot fetches on every bar close).
pub const MAX_SERIES: usize = 8;

/// The `timeframe` (base) and `series` blocks of a multi-series spec: each series names an
/// instrument and a timeframe equal to the base or a whole multiple of it (a lower one would
/// need bars the spec is not stepped on; a higher one is resampled from the base bars). Returns
/// the base timeframe.
fn series<'a>(p: &mut Parser<'a>, top: &'a Map<String, Value>) -> Option<crate::market::Timeframe> {
    use crate::market::Timeframe;
    let (raw_base, raw_series) = (top.get("timeframe"), top.get("series"));
    let base = match raw_base {
        None => None,
        Some(Value::String(t)) => match Timeframe::parse(t) {
            Ok(tf) => Some(tf),
            Err(e) => {
                p.issue("timeframe", e.to_string());
                return None;
            }
        },
        Some(other) => {
            p.issue(
                "timeframe",
                format!(
                    "must be a timeframe label like \"1m\", not {}",
                    kind_of(other)
                ),
            );
            return None;
        }
    };
    let Some(raw_series) = raw_series else {
        if base.is_some() {
            p.issue(
                "timeframe",
                "is the base timeframe of a spec with series: declare \"series\" too",
            );
        }
        return None;
    };
    let Value::Object(m) = raw_series else {
        p.issue(
            "series",
            format!(
                "must be an object of {{\"symbol\", \"timeframe\"}}, not {}",
                kind_of(raw_series)
            ),
        );
        return None;
    };
    let Some(base) = base else {
        p.issue(
            "timeframe",
            "is required with series: the base timeframe the spec is stepped on (\"1m\")",
        );
        return None;
    };
    if m.is_empty() || m.len() > MAX_SERIES {
        p.issue("series", format!("declares 1 to {MAX_SERIES} series"));
        return None;
    }
    for (name, def) in m {
        let path = format!("series.{name}");
        if !p.name_ok(name, &path) {
            continue;
        }
        let Some(d) = p.object(def, &path) else {
            continue;
        };
        p.unknown_keys(d, &["symbol", "timeframe", "description"], &path);
        let symbol = match d.get("symbol").and_then(Value::as_str) {
            Some(s) => match crate::ids::Symbol::new(s.to_string()) {
                Ok(sym) if sym.as_str() == s => Some(sym),
                Ok(_) => {
                    p.issue(
                        &format!("{path}.symbol"),
                        "must be upper case, as the exchange spells it",
                    );
                    None
                }
                Err(e) => {
                    p.issue(&format!("{path}.symbol"), e.to_string());
                    None
                }
            },
            None => {
                p.issue(
                    &format!("{path}.symbol"),
                    "is required (an exact symbol, \"BTCUSDT\")",
                );
                None
            }
        };
        let tf = match d.get("timeframe") {
            None => Some(base),
            Some(Value::String(t)) => match Timeframe::parse(t) {
                Ok(tf) if tf.ms() < base.ms() => {
                    p.issue(
                        &format!("{path}.timeframe"),
                        format!("{t} is lower than the base timeframe: a series is read at the base timeframe or a higher one resampled from it"),
                    );
                    None
                }
                Ok(tf) if tf.ms() % base.ms() != 0 => {
                    p.issue(
                        &format!("{path}.timeframe"),
                        format!("{t} is not a whole multiple of the base timeframe"),
                    );
                    None
                }
                Ok(tf) => Some(tf),
                Err(e) => {
                    p.issue(&format!("{path}.timeframe"), e.to_string());
                    None
                }
            },
            Some(other) => {
                p.issue(
                    &format!("{path}.timeframe"),
                    format!("must be a timeframe label, not {}", kind_of(other)),
                );
                None
            }
        };
        if let (Some(symbol), Some(timeframe)) = (symbol, tf) {
            p.series
                .insert(name.clone(), super::SeriesDef { symbol, timeframe });
        }
    }
    Some(base)
}

/// The `targets` block: one clamped exposure expression per traded series, keyed by series
/// name; two targets may not trade the same symbol.
fn targets<'a>(p: &mut Parser<'a>, v: &'a Value) -> Option<Output> {
    let Value::Object(m) = v else {
        p.issue(
            "targets",
            format!(
                "must be an object of {{series: {{expr, min, max}}}}, not {}",
                kind_of(v)
            ),
        );
        return None;
    };
    if m.is_empty() {
        p.issue("targets", "needs at least one traded series");
        return None;
    }
    let mut out = Vec::new();
    let mut traded: BTreeMap<String, String> = BTreeMap::new();
    let mut ok = true;
    for (name, raw) in m {
        let path = format!("targets.{name}");
        let Some(def) = p.series.get(name).cloned() else {
            let known: Vec<&str> = p.series.keys().map(String::as_str).collect();
            p.issue(
                &path,
                format!("unknown series {name:?} (declared: {})", known.join(", ")),
            );
            ok = false;
            continue;
        };
        if let Some(other) = traded.insert(def.symbol.to_string(), name.clone()) {
            p.issue(
                &path,
                format!(
                    "{} is already traded by targets.{other}: one target per instrument",
                    def.symbol
                ),
            );
            ok = false;
            continue;
        }
        let Some(t) = p.object(raw, &path) else {
            ok = false;
            continue;
        };
        p.unknown_keys(t, &["expr", "min", "max"], &path);
        let mut bound = |key: &str, dflt: f64| match t.get(key) {
            None => Some(dflt),
            Some(x) => match num(x).filter(|x| x.abs() <= 100.0) {
                Some(x) => Some(x),
                None => {
                    p.issue(
                        &format!("{path}.{key}"),
                        "must be a number within [-100, 100]",
                    );
                    None
                }
            },
        };
        let (Some(min), Some(max)) = (bound("min", -1.0), bound("max", 1.0)) else {
            ok = false;
            continue;
        };
        if min > max {
            p.issue(&format!("{path}.min"), "must not exceed max");
            ok = false;
            continue;
        }
        let Some(raw_expr) = t.get("expr") else {
            p.issue(&format!("{path}.expr"), "is required");
            ok = false;
            continue;
        };
        match p.cond(raw_expr, &format!("{path}.expr"), Ty::Num, false) {
            Some(expr) => out.push(super::TargetDef {
                series: name.clone(),
                expr,
                min,
                max,
            }),
            None => ok = false,
        }
    }
    ok.then_some(Output::Targets(out))
}
