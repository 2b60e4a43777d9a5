//! Futures positions: one-way average-entry bookkeeping with realised P&L per fill, and funding
//! payments applied on the admin trigger.

use rust_decimal::Decimal;

use crate::accounts::{pos_key, Position};
use crate::config::Venue;
use crate::matching::fee_round;
use crate::model::Side;
use crate::state::State;

impl State {
    /// Applies a funding payment to every position on a futures symbol: longs pay a positive
    /// rate, shorts receive it (`payment = -size × mark × rate`).
    pub fn funding(&mut self, venue: Venue, symbol: &str, rate: Decimal, now: i64) -> usize {
        let Some(inst) = self.instruments.get_mut(&(venue, symbol.to_string())) else {
            return 0;
        };
        inst.funding_rate = rate;
        let (mark, quote) = (inst.price, inst.cfg.quote.clone());
        let key = pos_key(venue, symbol);
        let mut paid = Vec::new();
        for (i, acc) in self.accounts.iter_mut().enumerate() {
            let Some(amt) = acc.positions.get(&key).map(|p| p.amt) else {
                continue;
            };
            if amt.is_zero() {
                continue;
            }
            let pay = fee_round(-amt * mark * rate);
            acc.wallet_mut(venue).credit(&quote, pay);
            paid.push((i, pay, amt));
        }
        let n = paid.len();
        let kind = if venue == Venue::BybitLinear {
            "SETTLEMENT"
        } else {
            "FUNDING_FEE"
        };
        for (account, pay, amt) in paid {
            self.push_ledger(venue, account, symbol, kind, pay, &quote, now, None);
            if let Some(row) = self.income.last_mut() {
                row.funding_basis = Some((amt, mark, rate));
            }
        }
        n
    }
}

/// Updates a one-way position with a fill; returns (realised P&L, size closed).
pub fn apply_to_position(
    pos: &mut Position,
    side: Side,
    qty: Decimal,
    price: Decimal,
    now: i64,
) -> (Decimal, Decimal) {
    let signed = if side == Side::Buy { qty } else { -qty };
    pos.update_time = now;
    if pos.amt.is_zero() || pos.amt.is_sign_positive() == signed.is_sign_positive() {
        let size = pos.amt.abs();
        pos.entry_price = ((size * pos.entry_price + qty * price) / (size + qty)).normalize();
        pos.amt += signed;
        return (Decimal::ZERO, Decimal::ZERO);
    }
    let close = qty.min(pos.amt.abs());
    let dir = if pos.amt > Decimal::ZERO {
        Decimal::ONE
    } else {
        -Decimal::ONE
    };
    let realized = (close * (price - pos.entry_price) * dir).normalize();
    pos.amt += signed;
    pos.realized_pnl += realized;
    if pos.amt.is_zero() {
        pos.entry_price = Decimal::ZERO;
    } else if (pos.amt > Decimal::ZERO) != (dir > Decimal::ZERO) {
        pos.entry_price = price;
    }
    (realized, close)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn position_average_close_and_flip() {
        struct Case {
            side: Side,
            qty: &'static str,
            price: &'static str,
            amt: &'static str,
            entry: &'static str,
            realized: &'static str,
        }
        let cases = [
            Case {
                side: Side::Buy,
                qty: "1",
                price: "100",
                amt: "1",
                entry: "100",
                realized: "0",
            },
            Case {
                side: Side::Buy,
                qty: "1",
                price: "200",
                amt: "2",
                entry: "150",
                realized: "0",
            },
            Case {
                side: Side::Sell,
                qty: "1",
                price: "170",
                amt: "1",
                entry: "150",
                realized: "20",
            },
            Case {
                side: Side::Sell,
                qty: "3",
                price: "140",
                amt: "-2",
                entry: "140",
                realized: "-10",
            },
            Case {
                side: Side::Buy,
                qty: "2",
                price: "130",
                amt: "0",
                entry: "0",
                realized: "20",
            },
        ];
        let mut pos = Position::default();
        for c in cases {
            let (r, _) = apply_to_position(&mut pos, c.side, dec(c.qty), dec(c.price), 1);
            assert_eq!(
                (pos.amt, pos.entry_price, r),
                (dec(c.amt), dec(c.entry), dec(c.realized))
            );
        }
    }
}
