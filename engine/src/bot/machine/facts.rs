//! Reading an instrument's price and rules before deciding (the DO's `market_facts`): the
//! rules from the cache while fresh (an hour), else from the venue, then the ticker (the mark
//! price on linear markets).

use super::ctx::{Ctx, Event, Step};
use crate::bot::MarketFacts;
use crate::ids::Symbol;
use crate::model::InstrumentRules;
use crate::venue::CallFailure;
use crate::venue::{VenueError, VenueOp, VenueReply};

/// How long cached instrument rules are trusted.
pub const RULES_TTL_MS: i64 = 3_600_000;

/// Fetches the facts of one symbol.
#[derive(Debug)]
pub struct Facts {
    symbol: Symbol,
    rules: Option<InstrumentRules>,
    asked: bool,
}

impl Facts {
    /// Facts of `symbol` to fetch.
    pub fn new(symbol: Symbol) -> Self {
        Self {
            symbol,
            rules: None,
            asked: false,
        }
    }

    /// Advances the fetch.
    pub fn step(&mut self, cx: &mut Ctx<'_>, ev: Event) -> Step<Result<MarketFacts, CallFailure>> {
        match ev {
            Event::Start if !self.asked => {
                self.asked = true;
                match cx.rules.get(&self.symbol) {
                    Some((at, r)) if cx.now - at < RULES_TTL_MS => {
                        self.rules = Some(r.clone());
                        cx.io.send(VenueOp::Ticker {
                            symbol: self.symbol.clone(),
                        });
                    }
                    _ => cx.io.send(VenueOp::InstrumentRules {
                        symbol: Some(self.symbol.clone()),
                    }),
                }
                Step::Pending
            }
            Event::Reply(reply) => match (self.rules.is_some(), reply.result) {
                (false, Ok(VenueReply::Rules(list))) => {
                    let Some(r) = list.into_iter().find(|r| r.symbol == self.symbol) else {
                        return Step::Done(Err(CallFailure::Venue(VenueError::Rejected {
                            code: -1121,
                            msg: format!("unknown symbol {}", self.symbol),
                        })));
                    };
                    cx.rules.insert(self.symbol.clone(), (cx.now, r.clone()));
                    self.rules = Some(r);
                    cx.io.send(VenueOp::Ticker {
                        symbol: self.symbol.clone(),
                    });
                    Step::Pending
                }
                (false, Ok(_)) => Step::Done(Err(CallFailure::Internal(
                    "instrument rules: unexpected reply".into(),
                ))),
                (true, Ok(VenueReply::Ticker(t))) => match self.rules.take() {
                    Some(rules) => Step::Done(Ok(MarketFacts {
                        price: t.mark_price.unwrap_or(t.price),
                        rules,
                        free_base: None,
                    })),
                    None => Step::Done(Err(CallFailure::Internal("ticker before rules".into()))),
                },
                (true, Ok(_)) => Step::Done(Err(CallFailure::Internal(
                    "ticker: unexpected reply".into(),
                ))),
                (_, Err(e)) => Step::Done(Err(CallFailure::of_call(e))),
            },
            Event::Start | Event::Consulted(_) | Event::Woke => Step::Pending,
        }
    }
}
