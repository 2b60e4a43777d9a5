//! Keel exchange simulator: a strict local Binance (spot, USDⓈ-M futures) and Bybit V5 (spot,
//! linear) REST server for tests, benchmarks and the local paper exchange.
//!
//! It is an independent implementation (it does not use `keel-engine`) so it catches the
//! platform's mistakes: signatures, timestamps, filters, balances, error codes and response shapes
//! follow the exchanges' documentation. An admin API (`/__admin/...`) sets prices, injects faults,
//! reads the request log and inspects state. Start it with [`server::start`].

#![recursion_limit = "512"]

pub mod accounts;
pub mod admin;
pub mod auth;
pub mod binance;
pub mod binance_algo;
pub mod binance_futures;
pub mod binance_oco;
pub mod binance_spot;
pub mod bybit;
pub mod bybit_trade;
pub mod conditional;
pub mod config;
pub mod exit_cancel;
pub mod faults;
pub mod filters;
pub mod http;
pub mod klines;
pub mod log;
pub mod matching;
pub mod model;
pub mod positions;
pub mod ratelimit;
pub mod server;
pub mod state;
pub mod stream;
pub mod ws;

use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::SimConfig;
use crate::faults::Faults;
use crate::log::RequestLog;
use crate::ratelimit::RateLimiter;
use crate::state::State;

/// Everything the server shares between connections.
#[derive(Debug)]
pub struct Sim {
    /// Exchange state.
    pub state: Mutex<State>,
    /// Request log.
    pub log: Mutex<RequestLog>,
    /// Armed faults.
    pub faults: Mutex<Faults>,
    /// Rate limiters.
    pub limits: Mutex<RateLimiter>,
    /// Configuration and seed to reset to.
    pub initial: (SimConfig, u64),
    /// Random price walk on/off.
    pub walk: AtomicBool,
    /// User-data streams: per-account broadcasts, listenKeys, stream faults.
    pub streams: stream::Hub,
}

/// Locks a mutex, recovering the data if a previous holder panicked (state stays usable).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Real wall-clock time in µs since the epoch.
pub fn real_now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or_default()
}

impl Sim {
    /// Builds the shared simulator from a configuration and a random-walk seed.
    pub fn new(cfg: SimConfig, seed: u64) -> Self {
        Sim {
            state: Mutex::new(State::new(cfg.clone(), seed)),
            log: Mutex::new(RequestLog::default()),
            faults: Mutex::new(Faults::default()),
            limits: Mutex::new(RateLimiter::new(cfg.rate_limits.clone())),
            initial: (cfg, seed),
            walk: AtomicBool::new(false),
            streams: stream::Hub::default(),
        }
    }

    /// Pushes the order changes recorded since the last call to the accounts' stream
    /// connections, rendered under the state lock (so in the order they happened, with the
    /// values REST serves).
    pub fn publish(&self) {
        let mut st = lock(&self.state);
        let now = real_now_us() / 1000 + st.clock_offset_ms;
        // Triggers first: a fired trigger's update precedes its close order's, as on Binance.
        for (account, push) in stream::trigger_updates(&mut st, now) {
            self.streams.publish(account, push);
        }
        for (account, push) in stream::funding_updates(&mut st, now) {
            self.streams.publish(account, push);
        }
        for tick in stream::price_updates(&mut st, now) {
            self.streams.publish_tick(tick);
        }
        if st.outbox.is_empty() {
            return;
        }
        let changes = std::mem::take(&mut st.outbox);
        for ch in &changes {
            for push in stream::render(&st, ch, now) {
                self.streams.publish(ch.order.account, push);
            }
        }
    }

    /// Server time in ms: real time plus the injected clock skew.
    pub fn now_ms(&self) -> i64 {
        real_now_us() / 1000 + lock(&self.state).clock_offset_ms
    }
}
