//! One exchange call as a sans-IO state machine: every rule of talking to an exchange that is
//! not about one exchange's wire format lives here, so it is the same in the bot's Durable
//! Object, in tests and in any later driver, and it is tested natively on a virtual clock.
//!
//! The driver holds an [`ExchangeCall`] per operation and loops:
//! ```text
//! let mut call = ExchangeCall::new(op, actor);
//! loop {
//!     match call.poll(&mut ctx, now) {                 // ctx: venue, CallState, credentials
//!         Step::Send(out) | Step::SyncClock(out) => {
//!             let reply = perform(out);                // the only I/O (AccountDO /send)
//!             call.on_reply(&mut ctx, reply, now);
//!         }
//!         Step::Wait { ms } => sleep(ms),
//!         Step::Done(finished) => break finished,      // result + what the credentials showed
//!     }
//!     trail.extend(call.take_trail());                 // request/response audit drafts
//! }
//! ```
//! The rules it owns, in the order a call meets them:
//!
//! | rule | what happens |
//! |---|---|
//! | ban | a 418 / Bybit 403 ban (or the account refusing for one) is remembered in [`CallState`]; nothing is sent before it ends |
//! | circuit | an open circuit refuses entries ([`CallFailure::CircuitOpen`]); exits always go; failures are counted by [`CallOutcome::of_reply`] only |
//! | clock | a signed op with a stale clock first syncs ([`Step::SyncClock`]); a timestamp error marks it stale and the op is retried once after a sync; a failed sync does not loop |
//! | rate limit | `Retry-After` / the account's wait up to [`MAX_INLINE_WAIT_MS`] is waited ([`Step::Wait`]) and retried once; longer ones fail with `RateLimited` |
//! | failover | a connection that could not be opened moves a read to the next host ([`BaseUrls::next_after_failure`]) |
//! | reads | a read that met a 5xx or a timeout is retried with backoff (`retry_decision`) |
//! | ambiguity | a mutation without a clear answer (timeout, 5xx, dropped connection, unreadable body, duplicate id) is resolved by querying its client order id ([`AmbiguousOrder`]), never sent again, to any host |
//! | follow-up | a reply asking for another op ([`VenueReply::FollowUp`]) runs it in the same call |
//!
//! Credentials are judged, not alerted: [`Finished::credentials`] says whether the exchange
//! refused or accepted the key, and the driver raises or resolves its alert.

use crate::audit::{Actor, AuditDraft, AuditEvent};
use crate::ids::ClientOrderId;
use crate::venue::circuit::{CircuitBreaker, CircuitConfig};
use crate::venue::clock::ServerClock;
use crate::venue::endpoints::BaseUrls;
use crate::venue::error::{retry_decision, AmbiguousOrder, Resolution, RetryDecision, VenueError};
use crate::venue::guards::{Gate, LinkGuards};
use crate::venue::http::{HttpRequest, HttpResponse, SignedWindow};
use crate::venue::op::{VenueOp, VenueReply};
use crate::venue::sign::Credentials;
use crate::venue::{BuildCtx, Planned, Venue};
use serde::{Deserialize, Serialize};

#[cfg(doc)]
use crate::venue::circuit::CallOutcome;

/// Attempts per operation (the first try plus retries) before its last error is reported.
pub const MAX_ATTEMPTS: u32 = 4;
/// Longest wait the call takes itself (rate limit, read backoff); anything longer is reported
/// so the caller answers at once instead of holding a webhook open.
pub const MAX_INLINE_WAIT_MS: i64 = 1_500;
/// Queries made for an ambiguous order before its outcome is reported unknown.
pub const RESOLVE_QUERIES: u32 = 4;
/// Bounds of the pause between two resolution queries.
const RESOLVE_WAIT_MS: (i64, i64) = (50, 6_000);
/// Settle time assumed for an ambiguous request that carried no signed window.
const UNSIGNED_SETTLE_MS: i64 = 5_000;
/// Characters of an error's debug form kept as the audit's response code.
const AUDIT_CODE_CHARS: usize = 80;

/// The exchange state a bot keeps between calls (stored as `venue_state`): the server clock,
/// the circuit breaker, the hosts in failover order, and a ban the exchange imposed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallState {
    /// Server clock offset.
    pub clock: ServerClock,
    /// Circuit breaker of this exchange as seen by the bot.
    pub circuit: CircuitBreaker,
    /// Hosts in failover order.
    pub urls: BaseUrls,
    /// Local time until which the exchange banned this account or IP (418, Bybit 403): no
    /// request leaves before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banned_until_ms: Option<i64>,
}

impl CallState {
    /// Fresh state for these hosts: clock never synced, circuit closed, no ban.
    pub fn new(urls: BaseUrls) -> Self {
        Self {
            clock: ServerClock::new(),
            circuit: CircuitBreaker::new(CircuitConfig::default()),
            urls,
            banned_until_ms: None,
        }
    }

    fn remember_ban(&mut self, until_ms: i64) {
        self.banned_until_ms = Some(self.banned_until_ms.map_or(until_ms, |u| u.max(until_ms)));
    }
}

/// What one step of a call borrows from its owner: the adapter (mutable because the paper venue
/// keeps its book), the exchange state, and the key pair for signed operations.
pub struct CallContext<'a> {
    /// The exchange adapter.
    pub venue: &'a mut dyn Venue,
    /// Clock, circuit, hosts and ban, updated by the call.
    pub state: &'a mut CallState,
    /// API key pair (`None`: public operations only).
    pub creds: Option<&'a Credentials>,
}

impl std::fmt::Debug for CallContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallContext")
            .field("exchange", &self.venue.exchange())
            .field("state", &self.state)
            .field("creds", &self.creds.is_some())
            .finish()
    }
}

/// A request to perform: the operation (its sender prices it against the rate limit) and the
/// signed HTTP request, addressed to its host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The operation the request carries.
    pub op: VenueOp,
    /// The request, sent verbatim.
    pub request: HttpRequest,
}

impl Outgoing {
    /// The host the request goes to (failover changes it between attempts).
    pub fn host(&self) -> &str {
        &self.request.base_url
    }
}

/// What became of a request, as the driver saw it. `Throttled` and `Banned` mean the request was
/// never sent (the account's shared limiter held it back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// The exchange answered.
    Answered {
        /// The response, stamped with the local time it arrived.
        response: HttpResponse,
        /// Round trip to the exchange, ms.
        latency_ms: i64,
    },
    /// The connection failed: nothing came back, and for a mutation the request may have
    /// arrived.
    ConnectFailed {
        /// The transport's error text.
        message: String,
    },
    /// Sent, but no answer in time: the outcome is unknown.
    TimedOut,
    /// Not sent: the account's budget is exhausted for `ms`.
    Throttled {
        /// ms.
        ms: i64,
    },
    /// Not sent: the account is banned until `until_ms` (local).
    Banned {
        /// Local ms.
        until_ms: i64,
    },
}

/// The machine's next instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Perform this request, then call [`ExchangeCall::on_reply`].
    Send(Outgoing),
    /// Perform this server-time request (the clock sample), then call
    /// [`ExchangeCall::on_reply`]. Kept apart from `Send` because it is bookkeeping, not the
    /// caller's operation: it is not audited and its failure only leaves the clock as it was.
    SyncClock(Outgoing),
    /// Sleep `ms`, then poll again.
    Wait {
        /// ms.
        ms: i64,
    },
    /// The call is over.
    Done(Finished),
}

/// The end of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The reply, or why there is none.
    pub result: Result<VenueReply, CallFailure>,
    /// What the call showed about the API key (the driver raises or resolves its alert).
    pub credentials: CredentialCheck,
}

/// What a call showed about the bot's API credentials (the last signed answer wins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "credentials")]
pub enum CredentialCheck {
    /// No signed request was answered with the key.
    NotExercised,
    /// A signed request was accepted: the key works.
    Accepted,
    /// The exchange refused the key (invalid, permission, IP allow-list).
    Refused {
        /// The refusal as the exchange worded it.
        reason: String,
    },
}

/// Why a call produced no reply: the one failure type of a venue call, from the exchange-call
/// machine through the bot machine to the Durable Object's answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallFailure {
    /// The exchange (or the instrument rules) said no, or could not be reached.
    #[error(transparent)]
    Venue(#[from] VenueError),
    /// The circuit is open: entries are refused until `retry_at_ms`.
    #[error("exchange circuit open until {retry_at_ms}")]
    CircuitOpen {
        /// When a probe is allowed (local ms).
        retry_at_ms: i64,
    },
    /// An order was sent, its answer was lost, and querying its client id did not settle it.
    #[error("order {client_order_id} outcome unknown: {reason}")]
    Unknown {
        /// The order.
        client_order_id: ClientOrderId,
        /// Why it is unknown.
        reason: String,
    },
    /// The exchange answered an operation with a reply of another kind.
    #[error("{op} answered with an unexpected reply")]
    UnexpectedReply {
        /// The operation asked.
        op: &'static str,
    },
    /// The driver (or the bot machine) could not go on: the account object unreachable, a bad
    /// answer, an impossible record change. One failure type serves the exchange-call machine,
    /// the bot machine and the Durable Object, so no layer re-maps another's copy.
    #[error("internal: {0}")]
    Internal(String),
}

/// An ambiguous order being settled by queries.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Resolving {
    ambiguous: AmbiguousOrder,
    queries: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Start the next attempt at the next poll.
    Ready,
    /// Sleep until this local time.
    Waiting { until_ms: i64 },
    /// A server-time request is out.
    AwaitSync { sent_ms: i64 },
    /// The op's request is out.
    AwaitReply {
        sent_ms: i64,
        window: Option<SignedWindow>,
    },
    /// Over.
    Finished(Result<VenueReply, CallFailure>),
}

/// One exchange operation in progress (see the module table for its rules). It owns only the
/// call's own progress; the shared exchange state is lent at each step through
/// [`CallContext`], so several calls of one bot see one clock, circuit and host list.
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeCall {
    actor: Actor,
    /// The op being attempted: the caller's, its follow-up, or a resolution query.
    op: VenueOp,
    /// Attempts started for `op`.
    attempt: u32,
    /// Hosts tried for `op` after connection failures.
    host_tries: usize,
    /// A clock sync already ran before the current attempt (a failed sync is not repeated).
    synced: bool,
    resolving: Option<Resolving>,
    phase: Phase,
    trail: Vec<AuditDraft>,
    credentials: CredentialCheck,
}

impl ExchangeCall {
    /// A call of `op` on behalf of `actor` (who the audit drafts name).
    pub fn new(op: VenueOp, actor: Actor) -> Self {
        Self {
            actor,
            op,
            attempt: 0,
            host_tries: 0,
            synced: false,
            resolving: None,
            phase: Phase::Ready,
            trail: Vec::new(),
            credentials: CredentialCheck::NotExercised,
        }
    }

    /// The audit drafts recorded since the last take: a `request_sent` for every request of
    /// the operation and an `exchange_response` for every answer (clock syncs are not audited).
    pub fn take_trail(&mut self) -> Vec<AuditDraft> {
        std::mem::take(&mut self.trail)
    }

    /// The next instruction at local time `now_ms`. After [`Step::Done`] it keeps answering
    /// `Done` with the same result. Polled while a reply is still awaited, the call takes the
    /// reply as lost ([`Transport::TimedOut`]): the safe reading, since a mutation then gets
    /// resolved by query instead of sent again.
    pub fn poll(&mut self, ctx: &mut CallContext<'_>, now_ms: i64) -> Step {
        match &self.phase {
            Phase::Finished(result) => {
                return Step::Done(Finished {
                    result: result.clone(),
                    credentials: self.credentials.clone(),
                })
            }
            Phase::AwaitSync { .. } | Phase::AwaitReply { .. } => {
                self.on_reply(ctx, Transport::TimedOut, now_ms);
                return self.poll(ctx, now_ms);
            }
            Phase::Waiting { until_ms } if now_ms < *until_ms => {
                return Step::Wait {
                    ms: until_ms.saturating_sub(now_ms),
                }
            }
            Phase::Waiting { .. } | Phase::Ready => {}
        }
        self.phase = Phase::Ready;
        match self.start_attempt(ctx, now_ms) {
            Some(step) => step,
            None => self.poll(ctx, now_ms),
        }
    }

    /// Feeds what became of the request of the last [`Step::Send`] or [`Step::SyncClock`],
    /// received at local `now_ms`. A reply nobody is waiting for is ignored.
    pub fn on_reply(&mut self, ctx: &mut CallContext<'_>, reply: Transport, now_ms: i64) {
        match std::mem::replace(&mut self.phase, Phase::Ready) {
            Phase::AwaitSync { sent_ms } => self.on_sync(ctx, reply, sent_ms),
            Phase::AwaitReply { sent_ms, window } => {
                self.on_answer(ctx, reply, sent_ms, window, now_ms)
            }
            other => self.phase = other,
        }
    }

    /// Starts an attempt: the step to return, or `None` when the call finished without I/O.
    fn start_attempt(&mut self, ctx: &mut CallContext<'_>, now_ms: i64) -> Option<Step> {
        if let Some(until_ms) = ctx.state.banned_until_ms.filter(|u| *u > now_ms) {
            self.finish(Err(VenueError::Banned { until_ms }.into()));
            return None;
        }
        let mut guards = LinkGuards {
            clock: &mut ctx.state.clock,
            circuit: &mut ctx.state.circuit,
        };
        let gate = match guards.gate(&*ctx.venue, &self.op, now_ms) {
            // The sync ran and failed: go ahead on the old offset (the exchange judges the
            // timestamp), but still through the circuit's permit.
            Gate::SyncClockFirst if self.synced => guards.permit(&self.op, now_ms),
            gate => gate,
        };
        match gate {
            Gate::CircuitOpen { retry_at_ms } => {
                self.finish(Err(CallFailure::CircuitOpen { retry_at_ms }));
                return None;
            }
            Gate::SyncClockFirst => {
                self.synced = true;
                if let Some(out) = sync_request(ctx, now_ms) {
                    self.phase = Phase::AwaitSync { sent_ms: now_ms };
                    return Some(Step::SyncClock(out));
                }
                // No request needed (or possible): go ahead, through the circuit's permit.
                let mut guards = LinkGuards {
                    clock: &mut ctx.state.clock,
                    circuit: &mut ctx.state.circuit,
                };
                if let Gate::CircuitOpen { retry_at_ms } = guards.permit(&self.op, now_ms) {
                    self.finish(Err(CallFailure::CircuitOpen { retry_at_ms }));
                    return None;
                }
            }
            Gate::Send | Gate::Wait { .. } | Gate::Banned { .. } => {}
        }
        self.synced = false;
        self.attempt = self.attempt.saturating_add(1);
        let base = ctx.state.urls.current().to_string();
        let built = ctx.venue.build(
            &self.op,
            &BuildCtx {
                creds: ctx.creds,
                clock: &ctx.state.clock,
                now_ms,
                base_url: &base,
            },
        );
        match built {
            Err(e) => {
                self.finish(Err(e.into()));
                None
            }
            Ok(Planned::Immediate(reply)) => {
                self.finish(Ok(reply));
                None
            }
            Ok(Planned::Http(request)) => {
                self.record_request(ctx, &request, now_ms);
                self.phase = Phase::AwaitReply {
                    sent_ms: now_ms,
                    window: request.signed,
                };
                Some(Step::Send(Outgoing {
                    op: self.op.clone(),
                    request,
                }))
            }
        }
    }

    /// The clock sample came back (or did not): a good one sets the clock, a bad one leaves it
    /// stale and the attempt goes ahead anyway (the exchange then judges the timestamp).
    fn on_sync(&mut self, ctx: &mut CallContext<'_>, reply: Transport, sent_ms: i64) {
        let mut guards = LinkGuards {
            clock: &mut ctx.state.clock,
            circuit: &mut ctx.state.circuit,
        };
        match reply {
            Transport::Answered {
                response,
                latency_ms,
            } => {
                let _ = guards.absorb(
                    &*ctx.venue,
                    &VenueOp::ServerTime,
                    sent_ms,
                    &response,
                    latency_ms,
                );
            }
            Transport::ConnectFailed { message } => {
                guards.connection_failed(&message, sent_ms);
            }
            Transport::TimedOut => {
                guards.connection_failed("no answer in time", sent_ms);
            }
            Transport::Banned { until_ms } => {
                ctx.state.remember_ban(until_ms);
                self.finish(Err(VenueError::Banned { until_ms }.into()));
            }
            Transport::Throttled { .. } => {}
        }
    }

    fn on_answer(
        &mut self,
        ctx: &mut CallContext<'_>,
        reply: Transport,
        sent_ms: i64,
        window: Option<SignedWindow>,
        now_ms: i64,
    ) {
        match reply {
            Transport::Answered {
                response,
                latency_ms,
            } => {
                let parsed = LinkGuards {
                    clock: &mut ctx.state.clock,
                    circuit: &mut ctx.state.circuit,
                }
                .absorb(&*ctx.venue, &self.op, sent_ms, &response, latency_ms);
                self.record_response(ctx, &response, &parsed, latency_ms);
                match &parsed {
                    Err(e @ VenueError::Auth { .. }) => {
                        self.credentials = CredentialCheck::Refused {
                            reason: e.to_string(),
                        }
                    }
                    Ok(_) if self.op.is_signed() && ctx.creds.is_some() => {
                        self.credentials = CredentialCheck::Accepted
                    }
                    _ => {}
                }
                match parsed {
                    Ok(VenueReply::FollowUp(next)) => self.restart(*next),
                    Ok(reply) => self.end_op(ctx, Ok(reply), now_ms),
                    Err(e) => self.after_error(ctx, e, window, now_ms),
                }
            }
            Transport::ConnectFailed { message } => {
                let err = LinkGuards {
                    clock: &mut ctx.state.clock,
                    circuit: &mut ctx.state.circuit,
                }
                .connection_failed(&message, now_ms);
                // A fetch error cannot tell "never connected" from "lost after the request went
                // out": a mutation may have executed, so it is resolved, never sent to another host.
                if self.resolve_if_ambiguous(ctx, &err, window, now_ms) {
                    return;
                }
                self.host_tries = self.host_tries.saturating_add(1);
                if self.attempt < MAX_ATTEMPTS
                    && ctx.state.urls.next_after_failure(self.host_tries).is_some()
                {
                    return;
                }
                self.end_op(ctx, Err(err.into()), now_ms);
            }
            Transport::TimedOut => {
                let err = LinkGuards {
                    clock: &mut ctx.state.clock,
                    circuit: &mut ctx.state.circuit,
                }
                .connection_failed("no answer in time", now_ms);
                self.after_error(ctx, err, window, now_ms);
            }
            Transport::Throttled { ms } => {
                if ms <= MAX_INLINE_WAIT_MS && self.attempt < MAX_ATTEMPTS {
                    self.wait(ms, now_ms);
                } else {
                    self.end_op(
                        ctx,
                        Err(VenueError::RateLimited { retry_after_ms: ms }.into()),
                        now_ms,
                    );
                }
            }
            Transport::Banned { until_ms } => {
                ctx.state.remember_ban(until_ms);
                self.end_op(ctx, Err(VenueError::Banned { until_ms }.into()), now_ms);
            }
        }
    }

    /// The retry policy of [`retry_decision`] applied to a failed attempt. Ambiguity is checked
    /// first and regardless of the attempts left: an order whose fate is unknown is always
    /// resolved by query.
    fn after_error(
        &mut self,
        ctx: &mut CallContext<'_>,
        err: VenueError,
        window: Option<SignedWindow>,
        now_ms: i64,
    ) {
        if let VenueError::Banned { until_ms } = err {
            ctx.state.remember_ban(until_ms);
        }
        if self.resolve_if_ambiguous(ctx, &err, window, now_ms) {
            return;
        }
        if self.attempt >= MAX_ATTEMPTS {
            return self.end_op(ctx, Err(err.into()), now_ms);
        }
        match retry_decision(&self.op, &err, self.attempt.saturating_sub(1)) {
            // The clock was marked stale when the error was absorbed: the next attempt syncs.
            RetryDecision::ResyncClockThenRetry => {}
            RetryDecision::RetryAfter { ms } if ms <= MAX_INLINE_WAIT_MS => self.wait(ms, now_ms),
            _ => self.end_op(ctx, Err(err.into()), now_ms),
        }
    }

    /// Starts resolving when `err` left an order's fate unknown; `true` when it did.
    fn resolve_if_ambiguous(
        &mut self,
        ctx: &mut CallContext<'_>,
        err: &VenueError,
        window: Option<SignedWindow>,
        now_ms: i64,
    ) -> bool {
        let RetryDecision::ResolveByQuery {
            symbol,
            client_order_id,
        } = retry_decision(&self.op, err, self.attempt.saturating_sub(1))
        else {
            return false;
        };
        if self.resolving.is_some() {
            // Only queries run while resolving; a mutation here would be a new ambiguity.
            self.finish(Err(CallFailure::Unknown {
                client_order_id,
                reason: err.to_string(),
            }));
            return true;
        }
        let ambiguous = match window {
            Some(w) => AmbiguousOrder::new(symbol.clone(), client_order_id.clone(), w),
            None => AmbiguousOrder {
                symbol: symbol.clone(),
                client_order_id: client_order_id.clone(),
                settles_at_server_ms: ctx
                    .state
                    .clock
                    .server_now(now_ms)
                    .saturating_add(UNSIGNED_SETTLE_MS),
            },
        };
        self.resolving = Some(Resolving {
            ambiguous,
            queries: 0,
        });
        self.restart(VenueOp::QueryOrder {
            symbol,
            client_order_id,
        });
        true
    }

    /// The current op is over with `result`: the call's result, or the answer to a resolution
    /// query, judged by [`AmbiguousOrder::resolve`].
    fn end_op(
        &mut self,
        ctx: &mut CallContext<'_>,
        result: Result<VenueReply, CallFailure>,
        now_ms: i64,
    ) {
        let Some(resolving) = self.resolving.as_mut() else {
            return self.finish(result);
        };
        resolving.queries = resolving.queries.saturating_add(1);
        let ambiguous = resolving.ambiguous.clone();
        let queries = resolving.queries;
        let query = match result {
            Ok(VenueReply::Order(report)) => Ok(report),
            Ok(_) => return self.finish(Err(CallFailure::UnexpectedReply { op: "query_order" })),
            Err(CallFailure::Venue(e)) => Err(e),
            Err(other) => return self.finish(Err(other)),
        };
        let server_now = ctx.state.clock.server_now(now_ms);
        match ambiguous.resolve(query, server_now) {
            Ok(Resolution::Placed(report)) => self.finish(Ok(VenueReply::Order(report))),
            Ok(Resolution::NotPlaced) => self.finish(Err(VenueError::Rejected {
                code: 0,
                msg: "the order never reached the exchange (confirmed after its receive window)"
                    .into(),
            }
            .into())),
            Ok(Resolution::QueryAgainAt { .. }) if queries >= RESOLVE_QUERIES => {
                self.finish(Err(CallFailure::Unknown {
                    client_order_id: ambiguous.client_order_id,
                    reason: "still unknown after repeated queries".into(),
                }))
            }
            Ok(Resolution::QueryAgainAt { server_ms }) => {
                self.restart(VenueOp::QueryOrder {
                    symbol: ambiguous.symbol,
                    client_order_id: ambiguous.client_order_id,
                });
                let wait = server_ms
                    .saturating_sub(server_now)
                    .clamp(RESOLVE_WAIT_MS.0, RESOLVE_WAIT_MS.1);
                self.wait(wait, now_ms);
            }
            Err(e) => self.finish(Err(CallFailure::Unknown {
                client_order_id: ambiguous.client_order_id,
                reason: e.to_string(),
            })),
        }
    }

    /// Runs `op` next with fresh attempt counters (a follow-up or a resolution query).
    fn restart(&mut self, op: VenueOp) {
        self.op = op;
        self.attempt = 0;
        self.host_tries = 0;
        self.synced = false;
        self.phase = Phase::Ready;
    }

    fn wait(&mut self, ms: i64, now_ms: i64) {
        self.phase = Phase::Waiting {
            until_ms: now_ms.saturating_add(ms.max(0)),
        };
    }

    fn finish(&mut self, result: Result<VenueReply, CallFailure>) {
        self.phase = Phase::Finished(result);
    }

    fn record_request(&mut self, ctx: &CallContext<'_>, request: &HttpRequest, now_ms: i64) {
        let (path, query) = request
            .path_and_query
            .split_once('?')
            .unwrap_or((&request.path_and_query, ""));
        self.trail.push(AuditDraft::new(
            now_ms,
            self.actor.clone(),
            AuditEvent::request_sent(
                ctx.venue.exchange(),
                request.method.as_str(),
                path,
                query,
                &request.body,
            ),
        ));
    }

    fn record_response(
        &mut self,
        ctx: &CallContext<'_>,
        response: &HttpResponse,
        parsed: &Result<VenueReply, VenueError>,
        latency_ms: i64,
    ) {
        let code = parsed
            .as_ref()
            .err()
            .map(|e| format!("{e:?}").chars().take(AUDIT_CODE_CHARS).collect());
        self.trail.push(AuditDraft::new(
            response.received_ms,
            self.actor.clone(),
            AuditEvent::exchange_response(
                ctx.venue.exchange(),
                response.status,
                code,
                &response.body,
                u64::try_from(latency_ms).ok(),
            ),
        ));
    }
}

/// The unsigned server-time request that samples the clock, or `None` when the venue needs
/// none (it answers in-process) or cannot build one.
fn sync_request(ctx: &mut CallContext<'_>, now_ms: i64) -> Option<Outgoing> {
    let base = ctx.state.urls.current().to_string();
    let built = ctx.venue.build(
        &VenueOp::ServerTime,
        &BuildCtx {
            creds: None,
            clock: &ctx.state.clock,
            now_ms,
            base_url: &base,
        },
    );
    match built {
        Ok(Planned::Http(request)) => Some(Outgoing {
            op: VenueOp::ServerTime,
            request,
        }),
        Ok(Planned::Immediate(_)) | Err(_) => None,
    }
}

#[cfg(test)]
#[path = "call_tests.rs"]
mod tests;
