//! A paged kline import as a state machine the caller drives:
//!
//! ```text
//! loop { match importer.next(now) {
//!     Next::Fetch(req) => importer.on_response(&send(req)?)  -> Ok(Page) (store it) | Err
//!     Next::Wait { until_ms } => sleep,
//!     Next::Done => break } }
//! ```
//!
//! - **Paged**: one window of at most one page per request, oldest first.
//! - **Resumable**: [`Importer::new`] takes the last stored open time; the caller stores each
//!   page as it comes, so a restart loses at most the page in flight and re-fetches nothing.
//! - **Rate-limit aware**: Binance's `X-MBX-USED-WEIGHT-1M` is kept under 80 % of the minute
//!   budget (waiting for the next minute otherwise), 429/418 wait `Retry-After`; Bybit's
//!   `X-Bapi-Limit-Status` (remaining) at ≤ 1 or `retCode 10006` waits until
//!   `X-Bapi-Limit-Reset-Timestamp`; 5xx and transport failures back off exponentially
//!   (1 s, 2 s, 4 s …) and give up after [`MAX_ATTEMPTS`].
//! - **Closed bars only**: a candle still forming at the answer's receipt time is not stored.
//! - Gaps (empty windows, exchange maintenance) are not errors: the cursor moves on and the
//!   caller's [`gap_report`](super::store::gap_report) names them.

use super::kline::{self, KlineError};
use super::store::first_open_at_or_after;
use super::{Candle, Instrument};
use crate::market::Timeframe;
use crate::model::{Exchange, Market};
use crate::venue::error::VenueError;
use crate::venue::http::{HttpRequest, HttpResponse};

/// Attempts of one page before the import stops with an error.
pub const MAX_ATTEMPTS: u32 = 6;
/// Binance IP weight budgets per minute (spot, USDⓈ-M), as `exchangeInfo.rateLimits` publish.
const BINANCE_BUDGET: [u32; 2] = [6000, 2400];

/// What to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportPlan {
    /// Whose candles.
    pub instrument: Instrument,
    /// Interval.
    pub timeframe: Timeframe,
    /// Range start (inclusive), ms.
    pub from_ms: i64,
    /// Range end (exclusive), ms.
    pub to_ms: i64,
    /// Venue or simulator base URL.
    pub base_url: String,
}

/// The part of a range one bounded import call fetches, and where the next call resumes. An
/// importer that cannot run for long (the Worker: CPU, memory and wall-clock limits per request)
/// imports a long range as a series of calls, each given the previous call's `next_from_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    /// Start of this call's part (as asked).
    pub from_ms: i64,
    /// End (exclusive) of this call's part: the range end, or `max_bars` bars after the first
    /// open time on the grid.
    pub to_ms: i64,
    /// End (exclusive) of what can be stored now: `to_ms`, or the open time of the bar still
    /// forming when the range reaches the present. The gap report covers `from_ms..closed_to_ms`.
    pub closed_to_ms: i64,
    /// Where the next call starts, `None` when this call reaches the range end or the present.
    pub next_from_ms: Option<i64>,
}

/// Plans one call of a bounded import of `[from_ms, to_ms)`: at most `max_bars` bars of `tf`
/// (at least one), given the local time `now_ms`.
///
/// # Errors
/// [`ImportError::Range`] when `to_ms <= from_ms`.
pub fn chunk(
    from_ms: i64,
    to_ms: i64,
    tf: Timeframe,
    max_bars: usize,
    now_ms: i64,
) -> Result<Chunk, ImportError> {
    if to_ms <= from_ms {
        return Err(ImportError::Range {
            from: from_ms,
            to: to_ms,
        });
    }
    let step = tf.ms();
    let first = first_open_at_or_after(from_ms, tf);
    let bars = i64::try_from(max_bars.max(1)).unwrap_or(i64::MAX);
    let end = first.saturating_add(bars.saturating_mul(step)).min(to_ms);
    // The bar opening at `present` is still forming: only bars before it are closed.
    let present = now_ms.div_euclid(step) * step;
    let closed_to = end.min(present).max(from_ms);
    let next = (end < to_ms && end <= present).then_some(end);
    Ok(Chunk {
        from_ms,
        to_ms: end,
        closed_to_ms: closed_to,
        next_from_ms: next,
    })
}

/// The caller's next move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Send this request and hand the answer to [`Importer::on_response`].
    Fetch(HttpRequest),
    /// Sleep until this time (ms), then ask again.
    Wait {
        /// Wake-up time.
        until_ms: i64,
    },
    /// The range is complete (or reaches the present).
    Done,
}

/// Candles of one answered page, to be stored before asking for the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Closed candles of the window, oldest first (may be empty: a gap).
    pub candles: Vec<Candle>,
    /// Window start and end (inclusive) that was asked.
    pub window: (i64, i64),
}

/// Why the import stopped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportError {
    /// A request could not be built or an answer parsed.
    #[error(transparent)]
    Kline(#[from] KlineError),
    /// A 4xx the venue will keep answering (bad symbol, bad params).
    #[error("HTTP {status}: {body}")]
    Refused {
        /// Status.
        status: u16,
        /// Body, shortened.
        body: String,
    },
    /// Too many failed attempts at one page.
    #[error("page at {cursor_ms}: gave up after {attempts} attempts ({last})")]
    Exhausted {
        /// Window start.
        cursor_ms: i64,
        /// Attempts made.
        attempts: u32,
        /// Last failure.
        last: String,
    },
    /// `on_response` without a request in flight.
    #[error("no request in flight")]
    NotInFlight,
    /// An empty or reversed range.
    #[error("range: to ({to}) must be after from ({from})")]
    Range {
        /// Start ms.
        from: i64,
        /// End ms.
        to: i64,
    },
}

/// The import's state.
#[derive(Debug, Clone)]
pub struct Importer {
    plan: ImportPlan,
    cursor: i64,
    not_before: i64,
    attempts: u32,
    in_flight: Option<(i64, i64)>,
    done: bool,
    /// Pages answered so far.
    pub pages: usize,
    /// Requests sent so far (retries included).
    pub requests: usize,
    /// Rate-limit or error waits so far.
    pub waits: usize,
}

impl Importer {
    /// Starts at `plan.from_ms`, or just after `last_stored_ms` (the newest candle already
    /// stored in the range) to resume.
    pub fn new(plan: ImportPlan, last_stored_ms: Option<i64>) -> Self {
        let step = plan.timeframe.ms();
        let aligned = first_open_at_or_after(plan.from_ms, plan.timeframe);
        let cursor = match last_stored_ms {
            Some(t) if t >= plan.from_ms => aligned.max(t + step),
            _ => aligned,
        };
        Self {
            plan,
            cursor,
            not_before: i64::MIN,
            attempts: 0,
            in_flight: None,
            done: false,
            pages: 0,
            requests: 0,
            waits: 0,
        }
    }

    /// Where the next page starts.
    pub fn cursor_ms(&self) -> i64 {
        self.cursor
    }

    /// The next move at local time `now_ms`.
    ///
    /// # Errors
    /// [`ImportError::Kline`] when the timeframe is not served by the venue.
    pub fn next(&mut self, now_ms: i64) -> Result<Next, ImportError> {
        let step = self.plan.timeframe.ms();
        if self.done || self.cursor >= self.plan.to_ms || self.cursor + step > now_ms {
            self.done = true;
            return Ok(Next::Done);
        }
        if now_ms < self.not_before {
            return Ok(Next::Wait {
                until_ms: self.not_before,
            });
        }
        let inst = &self.plan.instrument;
        let end = (self.cursor + kline::page_limit(inst) * step).min(self.plan.to_ms) - 1;
        let req = kline::request(
            inst,
            self.plan.timeframe,
            self.cursor,
            end,
            &self.plan.base_url,
        )?;
        self.in_flight = Some((self.cursor, end));
        self.requests += 1;
        Ok(Next::Fetch(req))
    }

    /// The request in flight failed without an answer (connection refused, timeout).
    ///
    /// # Errors
    /// [`ImportError::Exhausted`] after [`MAX_ATTEMPTS`].
    pub fn on_transport_error(&mut self, reason: &str, now_ms: i64) -> Result<(), ImportError> {
        self.in_flight = None;
        self.backoff(reason, now_ms, None)
    }

    fn backoff(&mut self, why: &str, now_ms: i64, until: Option<i64>) -> Result<(), ImportError> {
        self.attempts += 1;
        if self.attempts >= MAX_ATTEMPTS {
            return Err(ImportError::Exhausted {
                cursor_ms: self.cursor,
                attempts: self.attempts,
                last: why.to_string(),
            });
        }
        let exp = 1000i64 << (self.attempts - 1).min(10);
        self.not_before = until.unwrap_or(now_ms + exp).max(now_ms + 1);
        self.waits += 1;
        Ok(())
    }

    /// Digests the answer to the request in flight. `Ok(None)` means "wait and retry" (rate
    /// limit, server error): ask [`Self::next`] again.
    ///
    /// # Errors
    /// [`ImportError::Refused`] for a permanent 4xx, [`ImportError::Kline`] for an unusable body
    /// or venue error, [`ImportError::Exhausted`] after repeated failures.
    pub fn on_response(&mut self, resp: &HttpResponse) -> Result<Option<Page>, ImportError> {
        let (start, end) = self.in_flight.take().ok_or(ImportError::NotInFlight)?;
        let now = resp.received_ms;
        let exchange = self.plan.instrument.exchange;
        let retry_after = resp
            .header("Retry-After")
            .and_then(|s| s.trim().parse::<i64>().ok())
            .map(|s| now + s * 1000);
        let bybit_reset = resp
            .header("X-Bapi-Limit-Reset-Timestamp")
            .and_then(|s| s.trim().parse::<i64>().ok())
            .filter(|t| *t > now);
        match resp.status {
            429 | 418 => {
                return self
                    .backoff(
                        &format!("HTTP {}", resp.status),
                        now,
                        retry_after.or(bybit_reset),
                    )
                    .map(|()| None)
            }
            403 if exchange == Exchange::Bybit => {
                return self
                    .backoff("HTTP 403 (rate limit)", now, bybit_reset)
                    .map(|()| None)
            }
            s if s >= 500 => {
                return self
                    .backoff(&format!("HTTP {s}"), now, retry_after)
                    .map(|()| None)
            }
            s if !(200..300).contains(&s) => {
                return Err(ImportError::Refused {
                    status: s,
                    body: resp.body.chars().take(300).collect(),
                })
            }
            _ => {}
        }
        let parsed = match kline::parse(&self.plan.instrument, resp) {
            Err(KlineError::Venue(VenueError::RateLimited { retry_after_ms })) => {
                let until = bybit_reset.unwrap_or(now + retry_after_ms.max(1000));
                return self
                    .backoff("rate limited", now, Some(until))
                    .map(|()| None);
            }
            other => other?,
        };
        self.attempts = 0;
        self.pages += 1;
        let step = self.plan.timeframe.ms();
        let closed: Vec<Candle> = parsed
            .into_iter()
            .filter(|c| (start..=end).contains(&c.open_time_ms) && c.open_time_ms + step <= now)
            .collect();
        self.cursor = end + 1;
        if end + 1 + step > now {
            // Reached the present: the rest of the range has not happened yet.
            self.done = true;
        }
        self.not_before = self.pace(resp);
        Ok(Some(Page {
            candles: closed,
            window: (start, end),
        }))
    }

    /// Earliest time of the next request given the budget headers of this answer.
    fn pace(&mut self, resp: &HttpResponse) -> i64 {
        let now = resp.received_ms;
        let wait_until = match self.plan.instrument.exchange {
            Exchange::Binance => {
                let budget = match self.plan.instrument.market {
                    Market::Spot => BINANCE_BUDGET[0],
                    Market::Linear => BINANCE_BUDGET[1],
                };
                let used = resp
                    .header("X-MBX-USED-WEIGHT-1M")
                    .and_then(|s| s.trim().parse::<u32>().ok())
                    .unwrap_or(0);
                let weight = kline::page_weight(&self.plan.instrument);
                (u64::from(used + weight) * 10 > u64::from(budget) * 8)
                    .then(|| (now.div_euclid(60_000) + 1) * 60_000 + 500)
            }
            Exchange::Bybit => {
                let remaining = resp
                    .header("X-Bapi-Limit-Status")
                    .and_then(|s| s.trim().parse::<i64>().ok());
                match remaining {
                    Some(r) if r <= 1 => Some(
                        resp.header("X-Bapi-Limit-Reset-Timestamp")
                            .and_then(|s| s.trim().parse::<i64>().ok())
                            .filter(|t| *t > now)
                            .unwrap_or(now + 1000),
                    ),
                    _ => None,
                }
            }
        };
        if wait_until.is_some() {
            self.waits += 1;
        }
        wait_until.unwrap_or(i64::MIN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Symbol;

    const T0: i64 = 1_704_067_200_000;
    const M: i64 = 60_000;

    fn plan(exchange: Exchange, bars: i64) -> ImportPlan {
        ImportPlan {
            instrument: Instrument {
                exchange,
                market: Market::Spot,
                symbol: Symbol::new("BTCUSDT").unwrap(),
            },
            timeframe: Timeframe::M1,
            from_ms: T0,
            to_ms: T0 + bars * M,
            base_url: "http://sim".into(),
        }
    }

    fn binance_body(from: i64, n: i64) -> String {
        let rows: Vec<String> = (0..n)
            .map(|i| format!("[{},\"1\",\"2\",\"0.5\",\"1.5\",\"3\",0]", from + i * M))
            .collect();
        format!("[{}]", rows.join(","))
    }

    fn answer(status: u16, headers: &[(&str, &str)], body: String, now: i64) -> HttpResponse {
        HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body,
            received_ms: now,
        }
    }

    fn window(n: &Next) -> String {
        match n {
            Next::Fetch(r) => r.path_and_query.clone(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn pages_then_done_and_resume_skips_stored() {
        let now = T0 + 10_000 * M;
        let mut imp = Importer::new(plan(Exchange::Binance, 2500), None);
        let mut got = 0;
        while let Next::Fetch(req) = imp.next(now).unwrap() {
            let q = req.path_and_query;
            let start: i64 = q
                .split("startTime=")
                .nth(1)
                .unwrap()
                .split('&')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let end: i64 = q
                .split("endTime=")
                .nth(1)
                .unwrap()
                .split('&')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let n = (end - start) / M + 1;
            let page = imp
                .on_response(&answer(
                    200,
                    &[("X-MBX-USED-WEIGHT-1M", "10")],
                    binance_body(start, n),
                    now,
                ))
                .unwrap()
                .unwrap();
            got += page.candles.len();
        }
        assert_eq!((got, imp.pages), (2500, 3));
        assert_eq!(imp.next(now).unwrap(), Next::Done);
        // Resume after bar 1999: the next window starts at bar 2000.
        let mut again = Importer::new(plan(Exchange::Binance, 2500), Some(T0 + 1999 * M));
        assert!(window(&again.next(now).unwrap()).contains(&format!("startTime={}", T0 + 2000 * M)));
    }

    #[test]
    fn chunks_cap_resume_and_stop_at_the_present() {
        let tf = Timeframe::M1;
        // Bar 10,000 is forming. 3000 bars at 2000 per call: two calls, the second resumes
        // where the first ended.
        let now = T0 + 10_000 * M + 30_000;
        let a = chunk(T0, T0 + 3000 * M, tf, 2000, now).unwrap();
        assert_eq!(
            (a.to_ms, a.closed_to_ms, a.next_from_ms),
            (T0 + 2000 * M, T0 + 2000 * M, Some(T0 + 2000 * M))
        );
        let b = chunk(a.next_from_ms.unwrap(), T0 + 3000 * M, tf, 2000, now).unwrap();
        assert_eq!((b.to_ms, b.next_from_ms), (T0 + 3000 * M, None));
        // An unaligned start counts bars from the first open time on the grid.
        let u = chunk(T0 + 1, T0 + 3000 * M, tf, 10, now).unwrap();
        assert_eq!(u.to_ms, T0 + 11 * M);
        // A range into the future ends at the present: no next call, gaps only up to it.
        let f = chunk(T0 + 9_990 * M, T0 + 20_000 * M, tf, 50_000, now).unwrap();
        assert_eq!(
            (f.to_ms, f.closed_to_ms, f.next_from_ms),
            (T0 + 20_000 * M, T0 + 10_000 * M, None)
        );
        let capped = chunk(T0 + 9_990 * M, T0 + 20_000 * M, tf, 5, now).unwrap();
        assert_eq!(capped.next_from_ms, Some(T0 + 9_995 * M));
        let future = chunk(T0 + 20_000 * M, T0 + 30_000 * M, tf, 5, now).unwrap();
        assert_eq!(
            (future.closed_to_ms, future.next_from_ms),
            (T0 + 20_000 * M, None)
        );
        assert!(matches!(
            chunk(T0, T0, tf, 5, now),
            Err(ImportError::Range { .. })
        ));
    }

    #[test]
    fn forming_bar_is_dropped_and_import_stops_at_the_present() {
        let now = T0 + 5 * M + 30_000; // bar 5 still forming
        let mut imp = Importer::new(plan(Exchange::Binance, 100), None);
        assert!(matches!(imp.next(now).unwrap(), Next::Fetch(_)));
        let page = imp
            .on_response(&answer(200, &[], binance_body(T0, 6), now))
            .unwrap()
            .unwrap();
        assert_eq!(page.candles.len(), 5);
        assert_eq!(imp.next(now).unwrap(), Next::Done);
    }

    #[test]
    fn rate_limits_and_errors() {
        let now = T0 + 10_000 * M + 12_345;
        let mut imp = Importer::new(plan(Exchange::Binance, 3000), None);
        // 429 with Retry-After: wait that long, then the same window again.
        let first = window(&imp.next(now).unwrap());
        assert_eq!(
            imp.on_response(&answer(429, &[("Retry-After", "7")], String::new(), now))
                .unwrap(),
            None
        );
        assert_eq!(
            imp.next(now).unwrap(),
            Next::Wait {
                until_ms: now + 7000
            }
        );
        assert_eq!(window(&imp.next(now + 7000).unwrap()), first);
        // Heavy used weight: next request waits for the next minute.
        imp.on_response(&answer(
            200,
            &[("x-mbx-used-weight-1m", "4900")],
            binance_body(T0, 1000),
            now,
        ))
        .unwrap();
        let minute = (now / M + 1) * M + 500;
        assert_eq!(imp.next(now).unwrap(), Next::Wait { until_ms: minute });
        // 5xx backs off exponentially and gives up.
        let mut t = minute;
        for attempt in 1..MAX_ATTEMPTS {
            assert!(matches!(imp.next(t).unwrap(), Next::Fetch(_)));
            let r = imp.on_response(&answer(503, &[], String::new(), t));
            assert_eq!(r, Ok(None), "attempt {attempt}");
            let Next::Wait { until_ms } = imp.next(t).unwrap() else {
                panic!("no wait")
            };
            assert_eq!(until_ms - t, 1000 << (attempt - 1));
            t = until_ms;
        }
        assert!(matches!(imp.next(t).unwrap(), Next::Fetch(_)));
        assert!(matches!(
            imp.on_response(&answer(503, &[], String::new(), t)),
            Err(ImportError::Exhausted { .. })
        ));
        // A 400 is permanent.
        let mut bad = Importer::new(plan(Exchange::Binance, 10), None);
        bad.next(now).unwrap();
        assert!(matches!(
            bad.on_response(&answer(
                400,
                &[],
                r#"{"code":-1121,"msg":"Invalid symbol."}"#.into(),
                now
            )),
            Err(ImportError::Refused { status: 400, .. })
        ));
        assert_eq!(
            bad.on_response(&answer(200, &[], "[]".into(), now)),
            Err(ImportError::NotInFlight)
        );
    }

    #[test]
    fn bybit_limit_headers_and_10006() {
        let now = T0 + 10_000 * M;
        let mut imp = Importer::new(plan(Exchange::Bybit, 3000), None);
        imp.next(now).unwrap();
        let body = r#"{"retCode":0,"retMsg":"OK","result":{"list":[]}}"#.to_string();
        let page = imp
            .on_response(&answer(
                200,
                &[
                    ("X-Bapi-Limit-Status", "1"),
                    ("X-Bapi-Limit-Reset-Timestamp", &(now + 800).to_string()),
                ],
                body,
                now,
            ))
            .unwrap()
            .unwrap();
        assert!(
            page.candles.is_empty(),
            "an empty window is a gap, not an error"
        );
        assert_eq!(
            imp.next(now).unwrap(),
            Next::Wait {
                until_ms: now + 800
            }
        );
        imp.next(now + 800).unwrap();
        let limited = r#"{"retCode":10006,"retMsg":"Too many visits!","result":{}}"#.to_string();
        assert_eq!(
            imp.on_response(&answer(200, &[], limited, now + 800)),
            Ok(None)
        );
        assert_eq!(
            imp.next(now + 800).unwrap(),
            Next::Wait {
                until_ms: now + 1800
            }
        );
        assert!(imp.cursor_ms() == T0 + 1000 * M);
    }
}
