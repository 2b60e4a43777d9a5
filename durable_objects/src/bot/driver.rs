//! The driver of the engine's bot machine (`keel_engine::bot::machine::Machine`, issue 18): the
//! Durable Object builds a machine from storage ([`snapshot`]), feeds it its input and performs
//! what it polls, in order — `Persist` is committed through the [`super::store::Journal`] before
//! anything else is polled, `Send` goes to the exchange through the [`Link`] (the AccountDO),
//! `Consult` runs reconciliation or reads the platform's halt state, `Wait` sleeps, `Answer` is
//! the request's answer. Every decision of the sequence is the machine's; this file maps its
//! typed records to the bot's tables and its answers to the webhook's JSON.

use super::alerts::Signal as AlertSignal;
use super::exchange::Link;
use super::orders::{order_body, stored_order, upsert_order};
use super::{ledger, now_ms, BotDO, Flags, InFlight};
use crate::db::{int, text};
use crate::http::ApiError;
use keel_engine::bot::machine::{
    AlertChange, Answer, Batch, CancelReport, Cleared, Consulted, Effect, ExitRecord, ExitState,
    Machine, Need, Placed, Record, Reply, SignalOutcome, Snapshot,
};
use keel_engine::bot::Rejection;
use keel_engine::config::BotConfig;
use keel_engine::ids::{ClientOrderId, SignalId, Symbol};
use keel_engine::model::{InstrumentRules, Side};
use keel_engine::venue::{ExitKind, ExitTrigger, VenueOp, VenueReply};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Rules read within this window are handed to the machine as cached (as the facts read did).
const RULES_FRESH_MS: i64 = 3_600_000;

/// The bot's state as the machine starts from it.
///
/// # Errors
/// Storage failures, or a ledger that no longer replays.
pub fn snapshot(bot: &BotDO, config: &BotConfig) -> Result<Snapshot, ApiError> {
    #[derive(Deserialize)]
    struct Row {
        signal_id: Option<String>,
        body: String,
    }
    #[derive(Deserialize)]
    struct Sym {
        symbol: String,
    }
    #[derive(Deserialize)]
    struct Last {
        symbol: String,
        t: i64,
    }
    #[derive(Deserialize)]
    struct N {
        n: i64,
    }
    let open: Vec<Row> = bot.db.rows(
        "SELECT signal_id, body FROM orders WHERE status IN ('sent','accepted','partially_filled','cancel_sent','unknown')",
        vec![],
    )?;
    let open_orders = open
        .into_iter()
        .filter_map(|r| {
            let body: Value = serde_json::from_str(&r.body).ok()?;
            let order = stored_order(&body).ok()?;
            Some((order, r.signal_id.and_then(|s| SignalId::new(s).ok())))
        })
        .collect();
    let exits: Vec<Row> = bot.db.rows(
        "SELECT signal_id, body FROM orders WHERE status IN ('trigger_open','trigger_fired')",
        vec![],
    )?;
    let live_exits = exits
        .into_iter()
        .filter_map(|r| exit_of(&r.body, r.signal_id))
        .collect();
    let traded_symbols: BTreeSet<Symbol> = bot
        .db
        .rows::<Sym>("SELECT DISTINCT symbol FROM orders", vec![])?
        .into_iter()
        .filter_map(|s| Symbol::new(s.symbol).ok())
        .collect();
    let now = now_ms();
    let day_start = now - now.rem_euclid(86_400_000);
    // By placement time: a later update (a poll of yesterday's order, a late fill) is no trade
    // of today and restarts no cooldown. Exit rows have no `created_ms`: their row time counts.
    let last: Vec<Last> = bot.db.rows(
        "SELECT symbol, MAX(COALESCE(json_extract(body, '$.created_ms'), updated_ms)) AS t FROM orders \
         WHERE status NOT IN ('rejected','intent') GROUP BY symbol",
        vec![],
    )?;
    let n: Option<N> = bot.db.row(
        "SELECT COUNT(*) AS n FROM orders WHERE status NOT IN ('rejected','intent') \
         AND COALESCE(json_extract(body, '$.created_ms'), updated_ms) >= ?",
        vec![int(day_start)],
    )?;
    Ok(Snapshot {
        ledger: ledger::load(bot, config)?,
        flags: bot.flags()?,
        open_orders,
        live_exits,
        traded_symbols,
        last_trade_ms: last
            .into_iter()
            .filter_map(|l| Symbol::new(l.symbol).ok().map(|s| (s, l.t)))
            .collect::<BTreeMap<_, _>>(),
        trades_today: n.map(|n| u32::try_from(n.n).unwrap_or(0)).unwrap_or(0),
        last_reconcile_ms: super::reconcile::last_run_ms(bot)?,
    })
}

/// An exit row's body as the machine's record (`None` for a row it cannot read).
fn exit_of(body: &str, signal_id: Option<String>) -> Option<ExitRecord> {
    let b: Value = serde_json::from_str(body).ok()?;
    let id = |v: &Value| v.as_str().and_then(|s| ClientOrderId::new(s).ok());
    let trigger = ExitTrigger {
        client_order_id: id(&b["client_order_id"])?,
        symbol: Symbol::new(b["symbol"].as_str()?).ok()?,
        close_side: serde_json::from_value::<Side>(b["close_side"].clone()).ok()?,
        kind: serde_json::from_value::<ExitKind>(b["exit_trigger"].clone()).ok()?,
        trigger_price: serde_json::from_value::<Decimal>(b["trigger_price"].clone()).ok()?,
        qty: serde_json::from_value::<Option<Decimal>>(b["qty"].clone())
            .ok()
            .flatten(),
    };
    let mut rec = ExitRecord::new(
        trigger,
        id(&b["entry_client_order_id"])?,
        signal_id.and_then(|s| SignalId::new(s).ok()),
    );
    rec.state = serde_json::from_value::<ExitState>(b["status"].clone()).ok()?;
    rec.order_id = b["order_id"].as_str().map(String::from);
    rec.attached = b["attached"].as_bool().unwrap_or(false);
    rec.oco = id(&b["oco"]);
    rec.since_ms = b["since_ms"].as_i64().unwrap_or(0);
    rec.actual_order_id = b["actual_order_id"].as_str().map(String::from);
    rec.error = b["error"].as_str().map(String::from);
    Some(rec)
}

/// An exit's orders row body (the fields every reader of exit rows knows).
fn exit_row(e: &ExitRecord) -> Value {
    let state = serde_json::to_value(e.state).unwrap_or(Value::Null);
    let mut body = super::protection::exit_body(
        &e.trigger,
        state.as_str().unwrap_or("trigger_open"),
        e.order_id.as_deref(),
        &e.entry,
        e.attached,
        e.error.clone(),
        e.since_ms,
    );
    if let Some(q) = e.trigger.qty {
        body["qty"] = json!(q);
    }
    if let Some(oco) = &e.oco {
        body["oco"] = json!(oco);
    }
    if let Some(a) = &e.actual_order_id {
        body["actual_order_id"] = json!(a);
    }
    if let Some((at, why)) = &e.cancelled {
        body["cancelled_ms"] = json!(at);
        body["cancel_reason"] = json!(why);
    }
    body
}

/// One machine's run inside one request: the link it sends through and what it learnt.
pub struct Driver<'a> {
    bot: &'a BotDO,
    config: &'a BotConfig,
    /// The exchange link (none while only claiming: nothing is sent then).
    link: Option<Link<'a>>,
    /// The flags as last committed: a field the machine did not change since keeps what an
    /// operator (or the platform push) stored meanwhile.
    base_flags: Flags,
    /// The signal whose execution runs (order latencies are measured from its receipt).
    signal: Option<SignalId>,
    rules: BTreeMap<Symbol, InstrumentRules>,
}

impl std::fmt::Debug for Driver<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Driver({:?})", self.link)
    }
}

impl<'a> Driver<'a> {
    /// A driver sending through `link` for a machine started from flags `base_flags`.
    pub fn new(
        bot: &'a BotDO,
        config: &'a BotConfig,
        link: Option<Link<'a>>,
        base_flags: Flags,
    ) -> Self {
        Self {
            bot,
            config,
            link,
            base_flags,
            signal: None,
            rules: BTreeMap::new(),
        }
    }

    /// The rules of `symbol` cached within the last hour, for the machine's facts.
    pub fn cached_rules(&self, symbol: Option<&Symbol>) -> Option<InstrumentRules> {
        let symbol = symbol?;
        let cached: Option<(i64, InstrumentRules)> =
            super::store::kv_get(&self.bot.db, &format!("rules:{symbol}"))
                .ok()
                .flatten();
        match cached {
            Some((at, r)) if now_ms() - at < RULES_FRESH_MS => Some(r),
            _ => None,
        }
    }

    /// Performs `machine`'s effects until it waits for an input nobody makes; returns the last
    /// answer it gave.
    ///
    /// # Errors
    /// A batch that could not be committed (the machine is dropped with it: nothing after an
    /// uncommitted intent is sent).
    pub async fn run(
        &mut self,
        machine: &mut Machine,
        signal: Option<SignalId>,
    ) -> Result<Option<Answer>, ApiError> {
        let _live = signal
            .as_ref()
            .map(|s| InFlight::signal(self.bot, s.as_str()));
        self.signal = signal;
        let mut answer = None;
        while let Some(effect) = machine.poll() {
            match effect {
                Effect::Persist(batch) => self.commit(machine, batch).await?,
                Effect::Send { call_id, op } => {
                    let reply = self.send(&op).await;
                    machine
                        .on_reply(call_id, reply)
                        .map_err(|e| ApiError::internal(e.to_string()))?;
                }
                Effect::Consult { call_id, need } => {
                    let answer = self.consult(need).await;
                    machine
                        .on_consulted(call_id, answer)
                        .map_err(|e| ApiError::internal(e.to_string()))?;
                }
                Effect::Wait { until_ms } => {
                    loop {
                        let left = until_ms - now_ms();
                        if left <= 0 {
                            break;
                        }
                        super::exchange::sleep(left).await;
                    }
                    machine.on_tick(now_ms());
                }
                Effect::Answer(a) => answer = Some(a),
            }
        }
        // The machine's ledger is the stored one now: later reads need no replay.
        *self.bot.ledger.borrow_mut() = Some(machine.book().ledger().clone());
        Ok(answer)
    }

    /// One venue call; a placement is marked in flight for as long as it is sent.
    async fn send(&mut self, op: &VenueOp) -> Reply {
        let placement = match op {
            VenueOp::PlaceOrder(r) | VenueOp::PlaceProtectedOrder { order: r, .. } => {
                Some(r.client_order_id.clone())
            }
            _ => None,
        };
        let _in_flight = placement
            .as_ref()
            .map(|c| InFlight::new(self.bot, c.as_str()));
        let sent_ms = now_ms();
        let Some(link) = self.link.as_mut() else {
            return Reply::failed(
                keel_engine::venue::CallFailure::Internal("no exchange link is open".into()),
                now_ms(),
            );
        };
        let result = link.call(op).await;
        let trail = std::mem::take(&mut link.trail);
        if let Ok(reply) = &result {
            self.learn(op, reply);
        }
        if placement.is_some() {
            super::metrics::record_order(self.bot, self.signal.as_ref(), sent_ms, now_ms());
        }
        Reply {
            result,
            trail,
            at_ms: now_ms(),
        }
    }

    /// Keeps what a reply teaches the storage: instrument rules are cached for an hour, and a
    /// paper bot's venue sees the ticker (its resting orders may fill).
    fn learn(&mut self, op: &VenueOp, reply: &VenueReply) {
        match (op, reply) {
            (VenueOp::InstrumentRules { symbol: Some(s) }, VenueReply::Rules(list)) => {
                if let Some(r) = list.iter().find(|r| &r.symbol == s) {
                    let mut b = crate::db::WriteBatch::new();
                    b.push(
                        "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        vec![
                            text(format!("rules:{s}")),
                            text(serde_json::to_string(&(now_ms(), r)).unwrap_or_default()),
                        ],
                    );
                    if let Err(e) = self.bot.db.commit(b) {
                        worker::console_error!("rules cache: {e}");
                    }
                    self.rules.insert(s.clone(), r.clone());
                }
            }
            (VenueOp::Ticker { symbol }, VenueReply::Ticker(t)) => {
                let rules = self
                    .rules
                    .get(symbol)
                    .cloned()
                    .or_else(|| self.cached_rules(Some(symbol)));
                if let (Some(r), Some(link)) = (rules, self.link.as_mut()) {
                    link.prime_paper(&r, t.mark_price.unwrap_or(t.price));
                }
            }
            _ => {}
        }
    }

    /// Runs a procedure the machine needs outside the venue link.
    async fn consult(&mut self, need: Need) -> Consulted {
        let failed = |e: ApiError| Consulted::Failed(Rejection::new(e.status, &e.code, e.message));
        match need {
            Need::Reconcile => {
                if let Err(e) =
                    super::reconcile::run(self.bot, keel_engine::audit::Actor::System).await
                {
                    return failed(e);
                }
                // Reconciliation saved its own clock and circuit: work on from its copy.
                if let Some(Err(e)) = self.link.as_mut().map(|l| l.reload_state()) {
                    return failed(e);
                }
                let ledger = match ledger::load(self.bot, self.config) {
                    Ok(l) => l,
                    Err(e) => return failed(e),
                };
                let flags = match self.bot.flags() {
                    Ok(f) => f,
                    Err(e) => return failed(e.into()),
                };
                self.base_flags = flags.clone();
                Consulted::Reconciled {
                    ledger: Box::new(ledger),
                    flags,
                    at_ms: now_ms(),
                }
            }
            Need::PlatformHalt => match super::platform_state::sync(self.bot).await {
                Ok(view) => Consulted::Platform {
                    halted: view.halted(),
                },
                Err(e) => failed(e),
            },
        }
    }

    /// Commits one batch with the link's exchange state (and paper book) and the alerts it
    /// changed; the machine's flags follow what was stored.
    async fn commit(&mut self, machine: &mut Machine, batch: Batch) -> Result<(), ApiError> {
        let mut j = self.bot.journal()?;
        let mut alerts: Vec<AlertSignal> = Vec::new();
        let mut orders = false;
        let mut flags_written = None;
        for r in batch.records {
            match r {
                Record::SignalClaimed {
                    signal_id,
                    received_ms,
                } => {
                    j.exec(
                        "INSERT INTO signals (id, received_ms, status, outcome) VALUES (?, ?, 0, ?)",
                        vec![
                            text(signal_id.as_str()),
                            int(received_ms),
                            text(json!({"status": "processing"}).to_string()),
                        ],
                    );
                }
                Record::SignalOutcome { signal_id, outcome } => {
                    let (status, body) = match outcome.as_ref() {
                        SignalOutcome::Rejected(rej) => (rej.status, rejected_outcome(rej)),
                        other => (200, self.render(&signal_id, other)),
                    };
                    j.exec(
                        "UPDATE signals SET status = ?, outcome = json_patch(outcome, ?) WHERE id = ?",
                        vec![
                            int(i64::from(status)),
                            text(body.to_string()),
                            text(signal_id.as_str()),
                        ],
                    );
                }
                Record::Order { order, signal_id } => {
                    orders = true;
                    upsert_order(&mut j, &order, signal_id.as_ref());
                }
                Record::Exit(e) => {
                    let state = serde_json::to_value(e.state).unwrap_or(Value::Null);
                    super::protection::stage_row(
                        &mut j,
                        e.id().as_str(),
                        e.signal_id.as_ref().map(|s| s.as_str()),
                        e.symbol().as_str(),
                        state.as_str().unwrap_or("trigger_open"),
                        &exit_row(&e),
                    );
                }
                Record::Ledger(e) => ledger::stage(&mut j, std::slice::from_ref(&e))?,
                Record::Fill { booked, signal_id } => {
                    ledger::stage_fills(&mut j, std::slice::from_ref(&booked), signal_id.as_ref())?
                }
                Record::Equity {
                    time_ms,
                    equity,
                    drawdown,
                } => {
                    j.exec(
                        "INSERT OR REPLACE INTO equity (time_ms, equity, drawdown) VALUES (?, ?, ?)",
                        vec![
                            int(time_ms),
                            text(equity.to_string()),
                            text(drawdown.to_string()),
                        ],
                    );
                }
                Record::Flags(f) => flags_written = Some(f),
            }
        }
        for d in batch.audit {
            j.audit(d)?;
        }
        for a in batch.alerts {
            alerts.push(match a {
                AlertChange::Raise(a) => AlertSignal::Raise(a),
                AlertChange::Resolve(k, s) => AlertSignal::Resolve(k, s),
            });
        }
        let merged = match flags_written {
            Some(f) => {
                let stored = self.bot.flags()?;
                let merged = merge_flags(&self.base_flags, &f, &stored);
                j.put("flags", &merged)?;
                Some(merged)
            }
            None => None,
        };
        if let Some(link) = self.link.as_mut() {
            j.put("venue_state", &link.state)?;
            super::protection::stage_paper(&mut j, link)?;
            if orders {
                alerts.extend(circuit_alert(self.config, link));
            }
        }
        super::alerts::stage(self.bot, &mut j, alerts)?;
        self.bot.commit(j).await?;
        if let Some(m) = merged {
            self.base_flags = m.clone();
            machine.on_flags(m);
        }
        Ok(())
    }

    /// The answer JSON of a signal's outcome (also stored as its outcome).
    pub fn render(&self, signal_id: &SignalId, outcome: &SignalOutcome) -> Value {
        let mode = self.config.mode;
        match outcome {
            SignalOutcome::Executed {
                orders,
                exits_cleared,
            } => {
                let placed: Vec<Value> = orders.iter().map(|p| placed(p, signal_id)).collect();
                let mut v = json!({"signal_id": signal_id.as_str(), "mode": mode, "status": "executed", "orders": placed});
                if let Some(c) = exits_cleared {
                    v["exits_cancelled"] = cleared(c);
                }
                v
            }
            SignalOutcome::NothingToDo => json!({"signal_id": signal_id.as_str(), "mode": mode,
                "status": "nothing_to_do", "message": "already at the requested position", "orders": []}),
            SignalOutcome::CancelAll(report) => cancel_report(Some(signal_id), report),
            SignalOutcome::Rejected(rej) => rejected_outcome(rej),
        }
    }
}

/// The circuit's transition as the order path sees it (the cron tick sees the others).
fn circuit_alert(config: &BotConfig, link: &Link<'_>) -> Option<AlertSignal> {
    use keel_engine::alert::{Alert, AlertKind};
    match link.state.circuit.state(now_ms()) {
        keel_engine::venue::CircuitState::Open { .. } => Some(AlertSignal::Raise(Alert::new(
            config.id.as_str(),
            AlertKind::CircuitOpen,
            "",
            "exchange circuit open after repeated failures",
        ))),
        keel_engine::venue::CircuitState::Closed { .. } => {
            Some(AlertSignal::Resolve(AlertKind::CircuitOpen, String::new()))
        }
        keel_engine::venue::CircuitState::HalfOpen { .. } => None,
    }
}

/// The flags to store: a field the machine changed since `base` takes its value, any other
/// keeps what is `stored` (an operator's pause or resume, the platform's halt, made meanwhile).
fn merge_flags(base: &Flags, machine: &Flags, stored: &Flags) -> Flags {
    let mut out = stored.clone();
    if machine.paused != base.paused || machine.pause_reason != base.pause_reason {
        out.paused = machine.paused;
        out.pause_reason = machine.pause_reason.clone();
    }
    if machine.halted != base.halted {
        out.halted = machine.halted;
    }
    if machine.needs_attention != base.needs_attention
        || machine.attention_reason != base.attention_reason
    {
        out.needs_attention = machine.needs_attention;
        out.attention_reason = machine.attention_reason.clone();
    }
    if machine.consecutive_rejections != base.consecutive_rejections {
        out.consecutive_rejections = machine.consecutive_rejections;
    }
    out
}

/// One order of an answer: its row, with the exits recorded for it.
fn placed(p: &Placed, signal_id: &SignalId) -> Value {
    let mut v = order_body(&p.order, Some(signal_id));
    if !p.exits.is_empty() {
        v["exit_triggers"] = Value::Array(p.exits.iter().map(exit_row).collect());
    }
    v
}

/// The answer's summary of the exits cleared before a close.
fn cleared(c: &Cleared) -> Value {
    let failed: Vec<String> = c
        .failed
        .iter()
        .map(|(id, why)| format!("{id}: {why}"))
        .collect();
    json!({"cancelled": c.cancelled, "gone": c.gone, "failed": failed})
}

/// A cancel-all's answer.
pub fn cancel_report(signal_id: Option<&SignalId>, report: &CancelReport) -> Value {
    let cancels: Vec<Value> = report
        .cancels
        .iter()
        .map(|(s, e)| json!({"symbol": s.as_str(), "ok": e.is_none(), "error": e}))
        .collect();
    let pending: BTreeMap<&ClientOrderId, &String> =
        report.pending.iter().map(|(c, w)| (c, w)).collect();
    let orders: Vec<Value> = report
        .orders
        .iter()
        .map(|o| match pending.get(&o.request.client_order_id) {
            Some(why) => json!({
                "client_order_id": o.request.client_order_id.as_str(),
                "status": "cancel_sent",
                "error": why,
            }),
            None => order_body(o, None),
        })
        .collect();
    let status = if report.pending.is_empty() {
        "cancelled"
    } else {
        "cancel_pending"
    };
    json!({"signal_id": signal_id.map(|s| s.as_str()), "status": status, "cancels": cancels, "orders": orders})
}

/// The stored outcome of a refused signal.
fn rejected_outcome(rej: &Rejection) -> Value {
    json!({"status": "rejected", "code": rej.code, "message": rej.message, "field": rej.field, "detail": rej.detail})
}

/// The HTTP error of a refusal.
pub fn rejection_error(r: &Rejection) -> ApiError {
    let mut e = ApiError::new(r.status, r.code.clone(), r.message.clone());
    e.field = r.field.clone();
    e.detail = r.detail.as_deref().cloned();
    e
}

/// A flatten's answer (`flat` decides 200 or 207 at the route).
pub fn flatten_report(
    config: &BotConfig,
    report: &keel_engine::bot::machine::FlattenReport,
) -> Value {
    let cancels = cancel_report(None, &report.cancels)["cancels"].clone();
    let mut instruments = serde_json::Map::new();
    for i in &report.instruments {
        let attempts: Vec<Value> = i
            .attempts
            .iter()
            .map(|p| {
                let mut v = order_body(&p.order, None);
                if let Some(f) = &p.failed {
                    v["error"] = json!(f.message);
                }
                v
            })
            .collect();
        let mut v = json!({"flat": i.flat, "position": i.position, "attempts": attempts});
        if let Some(d) = i.dust {
            v["dust"] = json!(d);
        }
        if let Some(e) = &i.error {
            v["error"] = json!(e);
        }
        instruments.insert(i.symbol.to_string(), v);
    }
    json!({"bot_id": config.id.as_str(), "flat": report.flat, "cancels": cancels,
        "instruments": instruments, "took_ms": report.took_ms})
}
