//! The deterministic harness: a scripted venue ([`super::scripted`]) on a virtual clock that
//! answers the machine's `Send` effects, commits its batches, answers its consultations and wakes
//! it after its waits, so whole scenarios run in plain `cargo test` in milliseconds
//! (quinn-proto's `tests/util.rs` idea: two parties, no sockets, the test steps the clock).

pub use super::scripted::{btc, rules, PlaceScript, ScriptedVenue};
use super::*;
use crate::audit::Actor;
use crate::ids::{SignalId, Symbol};
use crate::ledger::{Ledger, LedgerConfig, LedgerEntry, PnlMethod, Transfer};
use crate::model::{Exchange, Market, OrderType};
use crate::signal::{Action, ParsedSignal, Signal};
use crate::venue::VenueOp;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

/// The harness's start time (a weekday, 2026-11-24 12:00 UTC).
pub const T0: i64 = 1_795_560_000_000;

/// One effect as the harness performed it.
#[derive(Debug, Clone, PartialEq)]
pub enum Logged {
    /// A committed batch.
    Persist(Batch),
    /// A call sent.
    Send(CallId, VenueOp),
    /// A consultation.
    Consult(Need),
    /// A wait.
    Wait(i64),
    /// An answer.
    Answer(Answer),
}

/// The machine, its venue and the virtual clock.
#[derive(Debug)]
pub struct Harness {
    /// The machine under test.
    pub machine: Machine,
    /// Its venue.
    pub venue: ScriptedVenue,
    /// Virtual time (ms).
    pub clock: i64,
    /// Time each call takes.
    pub latency_ms: i64,
    /// Every effect performed, in order.
    pub log: Vec<Logged>,
    /// The platform's halt state as the consultation answers it.
    pub halted: bool,
    /// Whether a `Send`/`Wait`/`Answer` was ever polled while a batch was staged.
    pub staged_across_effect: bool,
    /// Calls the harness holds back instead of answering (the test answers them).
    pub hold: bool,
    /// Held calls.
    pub held: Vec<(CallId, VenueOp)>,
    /// Each reply carries a response draft in its trail (as the exchange-call machine's do).
    pub trail: bool,
}

impl Harness {
    /// A harness for a bot configured by `extra` (merged into a Binance spot testnet bot with
    /// 10 000 USDT of capital), its venue trading at `price`.
    pub fn new(extra: serde_json::Value, price: Decimal) -> Self {
        let config = config(extra);
        let mut ledger = Ledger::new(LedgerConfig {
            bot_id: config.id.clone(),
            quote_asset: "USDT".into(),
            market: config.market,
            method: PnlMethod::AverageCost,
        });
        let _ = ledger.book(&LedgerEntry::Transfer(Transfer {
            id: "capital".into(),
            amount: dec!(10000),
            time_ms: T0 - 60_000,
        }));
        let snapshot = Snapshot::fresh(ledger, T0);
        Self {
            machine: Machine::new(config, snapshot, T0),
            venue: ScriptedVenue::new(price),
            clock: T0,
            latency_ms: 20,
            log: Vec::new(),
            halted: false,
            staged_across_effect: false,
            hold: false,
            held: Vec::new(),
            trail: false,
        }
    }

    /// Performs effects until the machine waits for an input the harness does not make (an
    /// answer is always made unless [`Harness::hold`] is set; a wait is always waited out).
    pub fn run(&mut self) {
        for _ in 0..10_000 {
            let Some(effect) = self.machine.poll() else {
                return;
            };
            if !matches!(effect, Effect::Persist(_)) && !self.machine.nothing_staged() {
                self.staged_across_effect = true;
            }
            match effect {
                Effect::Persist(b) => self.log.push(Logged::Persist(b)),
                Effect::Send { call_id, op } => {
                    self.log.push(Logged::Send(call_id, op.clone()));
                    if self.hold {
                        self.held.push((call_id, op));
                        continue;
                    }
                    self.clock += self.latency_ms;
                    let result = self.venue.answer(&op, self.clock);
                    let trail = if self.trail {
                        vec![crate::audit::AuditDraft::new(
                            self.clock,
                            Actor::System,
                            crate::audit::AuditEvent::exchange_response(
                                Exchange::Binance,
                                200,
                                None,
                                op.name(),
                                Some(20),
                            ),
                        )]
                    } else {
                        Vec::new()
                    };
                    let reply = Reply {
                        result,
                        trail,
                        at_ms: self.clock,
                    };
                    if let Err(e) = self.machine.on_reply(call_id, reply) {
                        panic!("the machine refused the reply it asked for: {e}");
                    }
                }
                Effect::Consult { call_id, need } => {
                    self.log.push(Logged::Consult(need));
                    let answer = match need {
                        Need::Reconcile => Consulted::Reconciled {
                            ledger: Box::new(self.machine.book().ledger().clone()),
                            flags: self.machine.book().flags().clone(),
                            at_ms: self.clock,
                        },
                        Need::PlatformHalt => Consulted::Platform {
                            halted: self.halted,
                        },
                    };
                    if let Err(e) = self.machine.on_consulted(call_id, answer) {
                        panic!("the machine refused the answer it asked for: {e}");
                    }
                }
                Effect::Wait { until_ms } => {
                    self.log.push(Logged::Wait(until_ms));
                    self.clock = self.clock.max(until_ms);
                    self.machine.on_tick(self.clock);
                }
                Effect::Answer(a) => self.log.push(Logged::Answer(a)),
            }
        }
        panic!("the scenario did not settle in 10 000 effects");
    }

    /// Sends a signal and runs to quiescence; returns its outcome.
    pub fn signal(
        &mut self,
        id: &str,
        action: Action,
        protection: (Option<Decimal>, Option<Decimal>),
    ) -> SignalOutcome {
        self.machine
            .on_signal(signal(id, action, protection, self.clock), self.clock);
        self.run();
        self.outcome(id)
            .unwrap_or_else(|| panic!("signal {id} was not answered"))
    }

    /// Advances the clock by `ms`, ticks the machine and runs to quiescence.
    pub fn tick(&mut self, ms: i64) {
        self.clock += ms;
        self.machine.on_tick(self.clock);
        self.run();
    }

    /// The answer to signal `id`, if given.
    pub fn outcome(&self, id: &str) -> Option<SignalOutcome> {
        self.log.iter().find_map(|l| match l {
            Logged::Answer(Answer::Signal { signal_id, outcome }) if signal_id.as_str() == id => {
                Some(outcome.as_ref().clone())
            }
            _ => None,
        })
    }

    /// The operations sent, in order.
    pub fn sent(&self) -> Vec<&VenueOp> {
        self.log
            .iter()
            .filter_map(|l| match l {
                Logged::Send(_, op) => Some(op),
                _ => None,
            })
            .collect()
    }

    /// Every committed record, in order.
    pub fn records(&self) -> Vec<&Record> {
        self.log
            .iter()
            .filter_map(|l| match l {
                Logged::Persist(b) => Some(b.records.iter()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// Every committed alert change, in order.
    pub fn alerts(&self) -> Vec<&AlertChange> {
        self.log
            .iter()
            .filter_map(|l| match l {
                Logged::Persist(b) => Some(b.alerts.iter()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// The signed position of BTCUSDT in the machine's ledger.
    pub fn position(&self) -> Decimal {
        self.machine
            .book()
            .ledger()
            .position(&btc())
            .map(|p| p.qty)
            .unwrap_or_default()
    }
}

/// A bot config: Binance spot testnet, BTCUSDT, 100 USDT per entry, merged with `extra`.
pub fn config(extra: serde_json::Value) -> crate::config::BotConfig {
    let mut base = serde_json::json!({
        "id": "bot", "name": "Bot", "exchange": "binance", "market": "spot", "mode": "testnet",
        "instruments": ["BTCUSDT"], "sizing": {"mode": "fixed_quote", "value": "100"},
        "risk": {"max_signal_age_secs": 30}
    });
    merge(&mut base, &extra);
    crate::config::BotConfig::from_value(base).unwrap_or_else(|e| panic!("{e:?}"))
}

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

/// An admitted signal `id` on BTCUSDT (market order), with its stop-loss and take-profit.
pub fn signal(
    id: &str,
    action: Action,
    (stop_loss, take_profit): (Option<Decimal>, Option<Decimal>),
    now: i64,
) -> SignalInput {
    signal_on(id, action, Some(btc()), (stop_loss, take_profit), now)
}

/// [`signal`] on any symbol (or none).
pub fn signal_on(
    id: &str,
    action: Action,
    symbol: Option<Symbol>,
    (stop_loss, take_profit): (Option<Decimal>, Option<Decimal>),
    now: i64,
) -> SignalInput {
    SignalInput {
        parsed: ParsedSignal {
            signal: Signal {
                id: Some(id.into()),
                action,
                symbol,
                sizing: None,
                target_position: None,
                order_type: OrderType::Market,
                price: None,
                stop_loss,
                take_profit,
                time_ms: Some(now),
            },
            secret: None,
            signal_id: SignalId::new(id).unwrap_or_else(|e| panic!("{e}")),
        },
        received_ms: now,
        actor: Actor::Webhook,
        source: "127.0.0.1".into(),
        facts: FactsInput::Fetch { cached_rules: None },
    }
}

/// Exchange and market of a config patch.
pub fn venue_patch(exchange: Exchange, market: Market) -> serde_json::Value {
    let ex = match exchange {
        Exchange::Binance => "binance",
        Exchange::Bybit => "bybit",
    };
    let m = match market {
        Market::Spot => "spot",
        Market::Linear => "linear",
    };
    serde_json::json!({"exchange": ex, "market": m})
}
