//! The deterministic grammar of a pasted signal-channel message.
//!
//! A message is read line by line from the tokens of [`super::lexer`]. A **keyword** opens a
//! segment that collects the numbers after it until the next keyword or a word it does not know:
//!
//! | segment | keywords (any case; several languages' conventions) |
//! |---|---|
//! | entry | `entry` `entries` `enter` `ep` `buy` `sell` `long` `short` `вход` `entrada` `入场`… (`Buy zone 0.45-0.47`) |
//! | stop | `sl` `stop` `stoploss` `стоп` `止损` `🛑` `⛔` |
//! | targets | `tp` `tp1` `t1` `target(s)` `take profit` `tgt` `цели` `objetivos` `alvos` `止盈` `目标` `🎯` |
//! | leverage | `leverage` `lev` `cross` `isolated` `плечо` `apalancamiento` `杠杆`; `10x`/`x10` anywhere |
//! | validity | `valid` `validity` `expires` `действует` `válido` `有效期` + a duration (`24h`, `2 days`) |
//!
//! The pair is a symbol with a known quote (`BTCUSDT`, `#BTC/USDT`, `BTC-USDT`, `1000PEPEUSDT`);
//! the side is a side word (`LONG`, `Short`, `Buy`, `шорт`, `做多`…). An entry of one number is a
//! price, two numbers a zone, `CMP`/`market`/`now` the market. A header line (`Targets:`) carries on
//! to the following lines of numbers (`1) 0.50`). An index (`TP1`, `Target 2:`, `1)`, `3️⃣`) is never
//! read as a price.
//!
//! **Never a guess.** A segment holding a word it does not know (`SL: below support`), a
//! percentage (`SL 5%`), an unreadable number, or a line with numbers that belong to no field marks
//! its field unreadable; two different values for one field (two pairs, `5x-10x`) leave it empty.
//! Each case adds a [`Flag`] naming the line and field. Nothing is inferred: no side from the
//! order of the prices, no quote currency for a bare `$BTC`, no stop from a percentage.

use super::lexer::{lex_line, Tok, TokKind};
use super::model::{CallField, CallSide, Entry, Flag, Leverage, MarginMode, ParsedCall};
use rust_decimal::Decimal;

/// Quote currencies a pair may end with (longest first so `FDUSD` wins over `USD`).
const QUOTES: [&str; 7] = ["fdusd", "usdt", "usdc", "busd", "tusd", "usd", "btc"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Entry,
    Stop,
    Targets,
    Leverage,
    Validity,
}

impl Kind {
    fn field(self) -> CallField {
        match self {
            Kind::Entry => CallField::Entry,
            Kind::Stop => CallField::Stop,
            Kind::Targets => CallField::Targets,
            Kind::Leverage => CallField::Leverage,
            Kind::Validity => CallField::Validity,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Num(Decimal),
    Pct(Decimal),
    Dur(i64),
}

#[derive(Debug, Clone)]
struct Seg {
    kind: Kind,
    line: usize,
    items: Vec<Item>,
    dirty: Option<String>,
    /// Opened by a side word (`Long`, `Buy`): silent when nothing follows.
    soft: bool,
    /// Singular keyword (`TP`, `Target`, `Entry`): a small integer right after it is an index.
    singular: bool,
    market: bool,
    /// Items added on the current line (an index may only come first).
    on_line: usize,
}

impl Seg {
    fn new(kind: Kind, line: usize, soft: bool, singular: bool) -> Self {
        Seg {
            kind,
            line,
            items: Vec::new(),
            dirty: None,
            soft,
            singular,
            market: false,
            on_line: 0,
        }
    }

    fn spoil(&mut self, why: String) {
        if self.dirty.is_none() {
            self.dirty = Some(why);
        }
    }
}

/// What a keyword opens.
struct Keyword {
    kind: Kind,
    side: Option<CallSide>,
    mode: Option<MarginMode>,
    soft: bool,
    singular: bool,
}

fn keyword(word: &str) -> Option<Keyword> {
    let k = |kind, singular| Keyword {
        kind,
        side: None,
        mode: None,
        soft: false,
        singular,
    };
    let side = |side| Keyword {
        kind: Kind::Entry,
        side: Some(side),
        mode: None,
        soft: true,
        singular: false,
    };
    let mode = |mode| Keyword {
        kind: Kind::Leverage,
        side: None,
        mode: Some(mode),
        soft: false,
        singular: false,
    };
    Some(match word {
        "entry" | "enter" | "ep" | "вход" | "входа" | "entrada" | "入场" | "进场" | "einstieg" => {
            k(Kind::Entry, true)
        }
        "entries" | "entradas" => k(Kind::Entry, false),
        "long" | "buy" | "лонг" | "купить" | "compra" | "comprar" | "largo" | "做多" | "买入" => {
            side(CallSide::Long)
        }
        "short" | "sell" | "шорт" | "продать" | "venta" | "vender" | "venda" | "corto" | "做空"
        | "卖出" => side(CallSide::Short),
        "sl" | "stop" | "stoploss" | "стоп" | "止损" | "stopp" => k(Kind::Stop, true),
        "tp" | "target" | "tgt" | "take" | "цель" | "тейк" | "objetivo" | "alvo" | "t" | "ziel" => {
            k(Kind::Targets, true)
        }
        "tps" | "targets" | "tgts" | "цели" | "тейки" | "objetivos" | "alvos" | "止盈" | "目标"
        | "ziele" => k(Kind::Targets, false),
        "leverage" | "lev" | "плечо" | "apalancamiento" | "alavancagem" | "杠杆" | "hebel" => {
            k(Kind::Leverage, true)
        }
        "cross" | "кросс" | "cruzado" | "全仓" => mode(MarginMode::Cross),
        "isolated" | "isolate" | "изолированная" | "aislado" | "isolada" | "逐仓" => {
            mode(MarginMode::Isolated)
        }
        "valid" | "validity" | "expires" | "expiry" | "действует" | "válido" | "valido"
        | "vigencia" | "有效期" | "有效" => k(Kind::Validity, true),
        _ => return None,
    })
}

fn sym_keyword(c: char) -> Option<Kind> {
    match c {
        '🎯' => Some(Kind::Targets),
        '🛑' | '⛔' => Some(Kind::Stop),
        _ => None,
    }
}

/// Words allowed inside a segment that carry no value (`Buy zone`, `Stop loss`, `0.5 USDT`).
fn filler(word: &str) -> bool {
    matches!(
        word,
        "zone"
            | "area"
            | "range"
            | "price"
            | "prices"
            | "point"
            | "points"
            | "level"
            | "levels"
            | "at"
            | "between"
            | "from"
            | "to"
            | "and"
            | "loss"
            | "profit"
            | "profits"
            | "usdt"
            | "usd"
            | "limit"
            | "margin"
            | "mode"
            | "for"
            | "зона"
            | "лосс"
            | "от"
            | "до"
            | "и"
            | "zona"
            | "de"
            | "entre"
            | "y"
            | "e"
            | "a"
            | "para"
            | "por"
            | "区间"
    )
}

fn market_word(word: &str) -> bool {
    matches!(
        word,
        "cmp" | "market" | "now" | "mkt" | "рынку" | "рынок" | "mercado" | "市价"
    )
}

/// Milliseconds of one duration unit.
fn unit_ms(word: &str) -> Option<i64> {
    Some(match word {
        "m" | "min" | "mins" | "minute" | "minutes" | "мин" | "minutos" => 60_000,
        "h" | "hr" | "hrs" | "hour" | "hours" | "час" | "часа" | "часов" | "hora" | "horas"
        | "小时" | "stunden" => 3_600_000,
        "d" | "day" | "days" | "день" | "дня" | "дней" | "día" | "dia" | "días" | "dias" | "天"
        | "tage" => 86_400_000,
        "w" | "week" | "weeks" | "неделя" | "недели" | "semana" | "semanas" => {
            604_800_000
        }
        _ => return None,
    })
}

fn word_of(t: Option<&Tok>) -> Option<&str> {
    match t.map(|t| &t.kind) {
        Some(TokKind::Word { text, .. }) => Some(text.as_str()),
        _ => None,
    }
}

fn glued_word(t: Option<&Tok>) -> Option<&str> {
    t.filter(|t| t.glued).and_then(|t| word_of(Some(t)))
}

fn is_sym(t: Option<&Tok>, set: &[char]) -> bool {
    matches!(t.map(|t| &t.kind), Some(TokKind::Sym(c)) if set.contains(c))
}

/// A pair spelled with a known quote, upper case; `None` for anything else.
fn pair_from(base: &str, quote: &str) -> Option<String> {
    let ok = (2..=20).contains(&base.chars().count())
        && base.chars().all(|c| c.is_ascii_alphanumeric())
        && base.chars().any(|c| c.is_ascii_alphabetic())
        && keyword(base).is_none();
    ok.then(|| {
        format!(
            "{}{}",
            base.to_ascii_uppercase(),
            quote.to_ascii_uppercase()
        )
    })
}

fn split_quote(word: &str) -> Option<String> {
    let word = word.strip_suffix("perp").unwrap_or(word);
    QUOTES
        .iter()
        .find_map(|q| word.strip_suffix(q).and_then(|base| pair_from(base, q)))
}

/// Everything read from the message before the fields are decided.
#[derive(Default)]
struct Reading {
    pairs: Vec<(usize, String)>,
    bare: Vec<(usize, String)>,
    sides: Vec<(usize, CallSide)>,
    levs: Vec<(usize, Decimal)>,
    modes: Vec<(usize, MarginMode)>,
    segs: Vec<Seg>,
    flags: Vec<Flag>,
}

impl Reading {
    fn flag(&mut self, line: usize, field: Option<CallField>, reason: String) {
        self.flags.push(Flag {
            line,
            field,
            reason,
        });
    }
}

/// Parses a pasted message into a call's fields and flags. Deterministic, total (any Unicode
/// text returns a value), and never fills a field the text does not state (module doc).
pub fn parse_message(text: &str) -> ParsedCall {
    let mut r = Reading::default();
    let mut carry: Option<Kind> = None;
    for (idx, raw) in text.lines().enumerate() {
        let line = idx + 1;
        let toks = lex_line(raw);
        if toks.is_empty() {
            continue;
        }
        let has_words = toks
            .iter()
            .any(|t| matches!(t.kind, TokKind::Word { .. }) && !t.glued);
        let cur = match carry {
            Some(kind) if !has_words => Some(Seg::new(kind, line, false, false)),
            _ => None,
        };
        carry = read_line(&mut r, line, &toks, cur);
    }
    decide(r)
}

/// Reads one line's tokens; returns the segment kind a following line of bare numbers continues.
fn read_line(r: &mut Reading, line: usize, toks: &[Tok], mut cur: Option<Seg>) -> Option<Kind> {
    let first_seg = r.segs.len();
    let mut unread: Vec<String> = Vec::new();
    let mut i = 0;
    let mut just_opened = false;
    while let Some(tok) = toks.get(i) {
        let next = toks.get(i + 1);
        let was_opened = just_opened;
        just_opened = false;
        match &tok.kind {
            TokKind::Sym(c) => {
                if let Some(kind) = sym_keyword(*c) {
                    close(r, cur.take());
                    cur = Some(Seg::new(kind, line, false, false));
                    just_opened = true;
                } else if *c == '%' {
                    // A percentage that follows no number (`%5`) is not read.
                    if !matches!(
                        toks.get(i.wrapping_sub(1)).map(|t| &t.kind),
                        Some(TokKind::Num(_))
                    ) {
                        unread.push("%".to_string());
                    }
                } else if (*c == '$' || *c == '#') && next.is_some_and(|n| !n.glued) {
                    // `$ BTC`: the sign stands alone, nothing to do.
                }
                i += 1;
            }
            TokKind::BadNum(text) => {
                match cur.as_mut() {
                    Some(seg) => seg.spoil(format!("cannot read the number {text:?}")),
                    None => unread.push(text.clone()),
                }
                i += 1;
            }
            TokKind::Word { text, upper } => {
                let prev_sign = i > 0 && is_sym(toks.get(i - 1), &['#', '$']);
                // `BTC/USDT`, `BTC-USDT`, `BTC / USDT`.
                if is_sym(next, &['/', '-']) {
                    if let Some(pair) = word_of(toks.get(i + 2))
                        .filter(|q| QUOTES.contains(q))
                        .and_then(|q| pair_from(text, q))
                    {
                        r.pairs.push((line, pair));
                        i += 3;
                        i += skip_perp(toks, i);
                        continue;
                    }
                }
                if let Some(pair) = split_quote(text) {
                    if !tok.glued {
                        r.pairs.push((line, pair));
                        i += 1;
                        i += skip_perp(toks, i);
                        continue;
                    }
                }
                if let Some(kw) = keyword(text) {
                    if let Some(side) = kw.side {
                        r.sides.push((line, side));
                    }
                    if let Some(mode) = kw.mode {
                        r.modes.push((line, mode));
                    }
                    // `t` alone is a target keyword only as `T1`.
                    let indexed = matches!(
                        next,
                        Some(Tok {
                            kind: TokKind::Num(_),
                            glued: true
                        })
                    );
                    if text == "t" && !indexed {
                        unread_word(&mut cur, text);
                        i += 1;
                        continue;
                    }
                    // `Stop loss` after `🛑`, `Entry Targets:`, `Take-Profit Targets:`, `Cross`
                    // after `Leverage`: a keyword naming a segment that has no value yet
                    // continues it.
                    let keep = kw.side.is_none()
                        && cur.as_ref().is_some_and(|s| {
                            s.items.is_empty()
                                && !s.market
                                && !s.soft
                                && s.dirty.is_none()
                                && (s.kind == kw.kind || (kw.kind == Kind::Targets && !kw.singular))
                        });
                    if !keep {
                        close(r, cur.take());
                        cur = Some(Seg::new(kw.kind, line, kw.soft, kw.singular));
                    }
                    just_opened = true;
                    i += 1;
                    if indexed {
                        // `TP1`, `T2`, `Entry1`: the glued number is an index.
                        i += 1;
                    }
                    continue;
                }
                if text == "x" {
                    if let Some(Tok {
                        kind: TokKind::Num(v),
                        glued: true,
                    }) = next
                    {
                        r.levs.push((line, *v));
                        i += 2;
                        continue;
                    }
                }
                if prev_sign && *upper && text.chars().all(|c| c.is_ascii_alphanumeric()) {
                    r.bare.push((line, text.to_ascii_uppercase()));
                    i += 1;
                    continue;
                }
                if filler(text) {
                    i += 1;
                    continue;
                }
                if market_word(text) {
                    if let Some(seg) = cur.as_mut().filter(|s| s.kind == Kind::Entry) {
                        seg.market = true;
                        i += 1;
                        continue;
                    }
                }
                unread_word(&mut cur, text);
                if cur.as_ref().is_some_and(|s| s.dirty.is_none() && s.soft) {
                    close(r, cur.take());
                } else if cur
                    .as_ref()
                    .is_some_and(|s| !s.items.is_empty() || s.market)
                {
                    // A word after the values ends the segment (`SL 0.40 daily close`).
                    close(r, cur.take());
                }
                i += 1;
            }
            TokKind::Num(v) => {
                let v = *v;
                // `1000PEPEUSDT`, `1000PEPE/USDT`.
                let whole = v.fract().is_zero() && v > Decimal::ZERO;
                if let Some(pair) = glued_word(next)
                    .and_then(split_quote)
                    .filter(|_| whole)
                    .map(|p| format!("{v}{p}"))
                {
                    r.pairs.push((line, pair));
                    i += 2;
                    i += skip_perp(toks, i);
                    continue;
                }
                if let Some(pair) = glued_word(next)
                    .filter(|_| whole && is_sym(toks.get(i + 2), &['/', '-']))
                    .and_then(|base| {
                        word_of(toks.get(i + 3))
                            .filter(|q| QUOTES.contains(q))
                            .and_then(|q| pair_from(&format!("{v}{base}"), q))
                    })
                {
                    r.pairs.push((line, pair));
                    i += 4;
                    i += skip_perp(toks, i);
                    continue;
                }
                let suffix = glued_word(next);
                if suffix == Some("x") {
                    r.levs.push((line, v));
                    i += 2;
                    continue;
                }
                if suffix == Some("k") {
                    match v.checked_mul(Decimal::ONE_THOUSAND) {
                        Some(value) => push_value(&mut cur, &mut unread, Item::Num(value), v),
                        None => unread.push(format!("{v}k")),
                    }
                    i += 2;
                    continue;
                }
                let unit = suffix
                    .and_then(unit_ms)
                    .map(|ms| (ms, 2))
                    .or_else(|| word_of(next).and_then(unit_ms).map(|ms| (ms, 2)));
                if let Some((ms, used)) = unit {
                    match (cur.as_mut(), dur_ms(v, ms)) {
                        (Some(seg), Some(d)) if seg.kind == Kind::Validity => {
                            seg.items.push(Item::Dur(d));
                            seg.on_line += 1;
                        }
                        (Some(seg), _) => seg.spoil(format!("cannot read the duration {v}")),
                        (None, _) => unread.push(v.to_string()),
                    }
                    i += used;
                    continue;
                }
                if let Some(w) = suffix {
                    // `3rd`, `1st`: a number glued to a word that is no unit.
                    match cur.as_mut() {
                        Some(seg) => seg.spoil(format!("cannot read {v}{w}")),
                        None => unread.push(format!("{v}{w}")),
                    }
                    i += 2;
                    continue;
                }
                if is_index(cur.as_ref(), v, toks, i, was_opened) {
                    i += 2;
                    continue;
                }
                let item = if is_sym(next, &['%']) {
                    Item::Pct(v)
                } else {
                    Item::Num(v)
                };
                push_value(&mut cur, &mut unread, item, v);
                i += 1;
            }
        }
    }
    let carry = cur
        .as_ref()
        .filter(|s| s.dirty.is_none() && matches!(s.kind, Kind::Targets | Kind::Entry))
        .map(|s| s.kind);
    close(r, cur);
    if !unread.is_empty() {
        let joined = unread.join(" ");
        // An empty segment opened by a side word (`SHORT` beside the unread value) holds
        // nothing to spoil.
        for seg in r
            .segs
            .iter_mut()
            .skip(first_seg)
            .filter(|s| !(s.soft && s.items.is_empty() && !s.market))
        {
            seg.spoil(format!(
                "line also holds values that belong to no field: {joined}"
            ));
        }
        r.flag(
            line,
            None,
            format!("values that belong to no field: {joined}"),
        );
    }
    carry
}

fn push_value(cur: &mut Option<Seg>, unread: &mut Vec<String>, item: Item, v: Decimal) {
    match cur.as_mut() {
        Some(seg) => {
            seg.items.push(item);
            seg.on_line += 1;
        }
        None => unread.push(v.to_string()),
    }
}

fn unread_word(cur: &mut Option<Seg>, text: &str) {
    if let Some(seg) = cur.as_mut() {
        if !seg.soft && seg.items.is_empty() && !seg.market {
            seg.spoil(format!("cannot read {text:?}"));
        }
    }
}

/// `BTCUSDT.P` / `BTCUSDT PERP`: the contract marker after a pair.
fn skip_perp(toks: &[Tok], i: usize) -> usize {
    match (toks.get(i), toks.get(i + 1)) {
        (
            Some(Tok {
                kind: TokKind::Sym('.'),
                ..
            }),
            Some(Tok {
                kind: TokKind::Word { text, .. },
                glued: true,
            }),
        ) if text == "p" => 2,
        (
            Some(Tok {
                kind: TokKind::Word { text, .. },
                ..
            }),
            _,
        ) if text == "perp" || text == "perpetual" => 1,
        _ => 0,
    }
}

fn dur_ms(v: Decimal, unit: i64) -> Option<i64> {
    let ms = v.checked_mul(Decimal::from(unit))?;
    if !ms.fract().is_zero() || ms <= Decimal::ZERO {
        return None;
    }
    i64::try_from(ms).ok()
}

/// Whether the number at `i` is a list index (`Target 1: 0.5`, `1) 0.5`, `2️⃣ 0.6`), by the
/// module's rule: a whole number 1–20 followed by `)`/keycap, or by `:`/`.` as the segment's
/// first value on the line, or right after a singular keyword and a dash; always with another
/// number after it on the line.
fn is_index(cur: Option<&Seg>, v: Decimal, toks: &[Tok], i: usize, after_keyword: bool) -> bool {
    let Some(seg) = cur else {
        return false;
    };
    let small = v.fract().is_zero() && v >= Decimal::ONE && v <= Decimal::from(20);
    let number_follows = toks
        .iter()
        .skip(i + 1)
        .any(|t| matches!(t.kind, TokKind::Num(_)));
    if !small || !number_follows {
        return false;
    }
    let next = toks.get(i + 1);
    is_sym(next, &[')', '\u{20E3}'])
        || (seg.on_line == 0 && is_sym(next, &[':', '.']))
        || (seg.singular && after_keyword && is_sym(next, &['-', '–', '—']))
}

fn close(r: &mut Reading, seg: Option<Seg>) {
    if let Some(seg) = seg {
        r.segs.push(seg);
    }
}

/// Decides every field from what was read, flagging conflicts and unreadable segments.
fn decide(mut r: Reading) -> ParsedCall {
    let mut out = ParsedCall::default();
    let segs = std::mem::take(&mut r.segs);
    let mut spoiled: Vec<CallField> = Vec::new();
    for seg in &segs {
        if let Some(why) = &seg.dirty {
            spoiled.push(seg.kind.field());
            r.flag(seg.line, Some(seg.kind.field()), why.clone());
        } else if seg.items.is_empty() && !seg.market && !seg.soft && seg.kind != Kind::Leverage {
            r.flag(
                seg.line,
                Some(seg.kind.field()),
                "keyword without a value".to_string(),
            );
        }
    }
    let clean = |kind: Kind| {
        segs.iter()
            .filter(move |s| s.kind == kind && s.dirty.is_none())
    };

    // Pair.
    let pairs = r.pairs.clone();
    let pair = one_of(&mut r, CallField::Pair, pairs, "pairs");
    if pair.is_none() && r.pairs.is_empty() {
        match r.bare.first().cloned() {
            Some((line, base)) => r.flag(
                line,
                Some(CallField::Pair),
                format!("{base} has no quote currency (USDT? USDC?): not guessed"),
            ),
            None => r.flag(0, Some(CallField::Pair), "no pair found".to_string()),
        }
    }
    out.fields.pair = pair;

    // Side.
    let sides = r.sides.clone();
    out.fields.side = one_of(&mut r, CallField::Side, sides, "sides");

    // Entry.
    let mut entries: Vec<(usize, Entry)> = Vec::new();
    for seg in clean(Kind::Entry) {
        let nums: Vec<Decimal> = seg.items.iter().filter_map(num).collect();
        if seg.items.iter().any(|it| !matches!(it, Item::Num(_))) {
            r.flag(
                seg.line,
                Some(CallField::Entry),
                "entry in percent or time".into(),
            );
            spoiled.push(CallField::Entry);
            continue;
        }
        let entry = match (seg.market, nums.as_slice()) {
            (true, []) => Entry::Market,
            (false, []) => continue,
            (false, [p]) => Entry::Price(*p),
            (false, [a, b]) if a == b => Entry::Price(*a),
            (false, [a, b]) => Entry::Zone {
                low: (*a).min(*b),
                high: (*a).max(*b),
            },
            _ => {
                r.flag(
                    seg.line,
                    Some(CallField::Entry),
                    format!(
                        "entry with {} values and no rule to choose",
                        nums.len() + usize::from(seg.market)
                    ),
                );
                spoiled.push(CallField::Entry);
                continue;
            }
        };
        entries.push((seg.line, entry));
    }
    out.fields.entry = one_of(&mut r, CallField::Entry, entries, "entries");

    // Stop.
    let mut stops: Vec<(usize, Decimal)> = Vec::new();
    for seg in clean(Kind::Stop) {
        match seg.items.as_slice() {
            [Item::Num(p)] => stops.push((seg.line, *p)),
            [] => {}
            [Item::Pct(_)] => {
                r.flag(
                    seg.line,
                    Some(CallField::Stop),
                    "stop in percent: not converted".into(),
                );
                spoiled.push(CallField::Stop);
            }
            _ => {
                r.flag(
                    seg.line,
                    Some(CallField::Stop),
                    "several stop values".into(),
                );
                spoiled.push(CallField::Stop);
            }
        }
    }
    out.fields.stop = one_of(&mut r, CallField::Stop, stops, "stops");

    // Targets: all or nothing.
    let mut targets = Vec::new();
    let mut targets_ok = true;
    for seg in clean(Kind::Targets) {
        for it in &seg.items {
            match it {
                Item::Num(p) => targets.push(*p),
                _ => {
                    targets_ok = false;
                    r.flag(
                        seg.line,
                        Some(CallField::Targets),
                        "target in percent or time: not converted".into(),
                    );
                }
            }
        }
    }
    if targets_ok && !spoiled.contains(&CallField::Targets) {
        out.fields.targets = targets;
    }

    // Leverage.
    let mut levs = r.levs.clone();
    for seg in clean(Kind::Leverage) {
        for it in &seg.items {
            match it {
                Item::Num(x) => levs.push((seg.line, *x)),
                _ => {
                    r.flag(
                        seg.line,
                        Some(CallField::Leverage),
                        "leverage in percent or time".into(),
                    );
                    spoiled.push(CallField::Leverage);
                }
            }
        }
    }
    let lev = one_of(
        &mut r,
        CallField::Leverage,
        levs,
        "leverages (a range is not a value)",
    );
    let modes = r.modes.clone();
    let mode = one_of(&mut r, CallField::Leverage, modes, "margin modes");
    out.fields.leverage = match (lev, mode) {
        (Some(x), mode) if x > Decimal::ZERO => Some(Leverage { x, mode }),
        (Some(_), _) => None,
        (None, Some(_)) if !r.modes.is_empty() && r.levs.is_empty() => {
            let line = r.modes.first().map_or(0, |m| m.0);
            r.flag(
                line,
                Some(CallField::Leverage),
                "margin mode without a multiple".into(),
            );
            None
        }
        (None, _) => None,
    };

    // Validity.
    let mut durs: Vec<(usize, i64)> = Vec::new();
    for seg in clean(Kind::Validity) {
        for it in &seg.items {
            match it {
                Item::Dur(ms) => durs.push((seg.line, *ms)),
                _ => {
                    r.flag(
                        seg.line,
                        Some(CallField::Validity),
                        "validity without a unit".into(),
                    );
                    spoiled.push(CallField::Validity);
                }
            }
        }
    }
    out.fields.validity_ms = one_of(&mut r, CallField::Validity, durs, "validities");

    for field in spoiled {
        match field {
            CallField::Entry => out.fields.entry = None,
            CallField::Stop => out.fields.stop = None,
            CallField::Targets => out.fields.targets.clear(),
            CallField::Leverage => out.fields.leverage = None,
            CallField::Validity => out.fields.validity_ms = None,
            CallField::Pair | CallField::Side => {}
        }
    }
    out.flags = r.flags;
    out
}

fn num(it: &Item) -> Option<Decimal> {
    match it {
        Item::Num(d) => Some(*d),
        _ => None,
    }
}

/// The single distinct value read for a field; several different ones are flagged and dropped.
fn one_of<T: PartialEq + Clone + std::fmt::Debug>(
    r: &mut Reading,
    field: CallField,
    seen: Vec<(usize, T)>,
    what: &str,
) -> Option<T> {
    let mut distinct: Vec<T> = Vec::new();
    for (_, v) in &seen {
        if !distinct.contains(v) {
            distinct.push(v.clone());
        }
    }
    match distinct.len() {
        0 => None,
        1 => distinct.pop(),
        _ => {
            let line = seen.first().map_or(0, |s| s.0);
            r.flag(
                line,
                Some(field),
                format!("{} different {what}: {distinct:?}", distinct.len()),
            );
            None
        }
    }
}
