//! Splitting one account-level funding payment between the bots that share the account.
//!
//! In one-way mode the exchange holds ONE net position per symbol for the account and charges
//! funding on it (`net qty × mark × rate`). Funding is linear in quantity, so each bot's share is
//! `total × its signed qty / Σ signed qty`: the shares sum to the exchange's figure, and a bot
//! that is short while the account is net long receives the opposite sign, as it would alone.
//!
//! **Rounding rule**: every share but one is rounded half-to-even to the decimals the exchange
//! printed the charge with; the holder whose bot id sorts last (byte order) takes the remainder,
//! so the shares sum exactly to the charge. A bot alone books the charge whole under the
//! exchange's id, as before sharing existed; shares of a split carry `{exchange id}:{bot id}`.

use super::entry::FundingPayment;
use crate::ids::BotId;
use crate::model::Fill;
use rust_decimal::{Decimal, RoundingStrategy};

/// Why a funding payment could not be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FundingSplitError {
    /// The bots' positions net to zero but the exchange charged funding: the positions given
    /// are not the account's position at funding time.
    #[error("funding {id} of {amount} charged on a net position the bots' positions sum to zero")]
    NetZero {
        /// Funding id.
        id: String,
        /// Amount charged.
        amount: Decimal,
    },
    /// A decimal operation overflowed.
    #[error("arithmetic overflow splitting funding {id}")]
    Overflow {
        /// Funding id.
        id: String,
    },
}

/// The funding payments of an account that are this bot's: those charged while the bot held a
/// position in the symbol (its signed fills up to and including the funding time do not net to
/// zero). A bot created after funding was paid, or flat at the time, does not book another
/// bot's or a manual position's funding. `fills` are all the bot's fills (any symbols).
pub fn held_funding(payments: Vec<FundingPayment>, fills: &[Fill]) -> Vec<FundingPayment> {
    payments
        .into_iter()
        .filter(|p| !position_at(fills, &p.symbol, p.time_ms).is_zero())
        .collect()
}

/// The bot's signed position in `symbol` at `time_ms` from its fills (those at that very
/// millisecond included: funding is charged on the position after them).
pub fn position_at(fills: &[Fill], symbol: &crate::ids::Symbol, time_ms: i64) -> Decimal {
    fills
        .iter()
        .filter(|f| &f.symbol == symbol && f.time_ms <= time_ms)
        .fold(Decimal::ZERO, |acc, f| {
            acc.saturating_add(f.side.sign().saturating_mul(f.qty))
        })
}

/// Splits `total` between bots by their signed positions in `total.symbol` at the funding time
/// (the module's rounding rule). Bots with a zero position get nothing (and are omitted); the
/// shares come in bot id order. A single holder gets the payment unchanged; otherwise each share
/// keeps the exchange id with the bot id appended, so every bot's ledger books it idempotently.
///
/// # Errors
/// [`FundingSplitError`] when positions net to zero under a non-zero charge, or on overflow.
pub fn split_funding(
    total: &FundingPayment,
    positions: &[(BotId, Decimal)],
) -> Result<Vec<(BotId, FundingPayment)>, FundingSplitError> {
    let overflow = || FundingSplitError::Overflow {
        id: total.id.clone(),
    };
    let mut holders: Vec<&(BotId, Decimal)> =
        positions.iter().filter(|(_, q)| !q.is_zero()).collect();
    holders.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    holders.dedup_by(|a, b| a.0 == b.0);
    if let [(bot, _)] = holders.as_slice() {
        return Ok(vec![(bot.clone(), total.clone())]);
    }
    let net = holders
        .iter()
        .try_fold(Decimal::ZERO, |acc, (_, q)| acc.checked_add(*q));
    let net = net.ok_or_else(overflow)?;
    if net.is_zero() {
        if total.amount.is_zero() {
            return Ok(Vec::new());
        }
        return Err(FundingSplitError::NetZero {
            id: total.id.clone(),
            amount: total.amount,
        });
    }
    let dp = total.amount.scale();
    let mut out = Vec::with_capacity(holders.len());
    let mut given = Decimal::ZERO;
    for (i, (bot, qty)) in holders.iter().enumerate() {
        let share = if i + 1 == holders.len() {
            total.amount.checked_sub(given).ok_or_else(overflow)?
        } else {
            total
                .amount
                .checked_mul(*qty)
                .and_then(|x| x.checked_div(net))
                .ok_or_else(overflow)?
                .round_dp_with_strategy(dp, RoundingStrategy::MidpointNearestEven)
        };
        given = given.checked_add(share).ok_or_else(overflow)?;
        let mut payment = total.clone();
        payment.id = format!("{}:{}", total.id, bot);
        payment.amount = share;
        out.push((bot.clone(), payment));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Symbol;
    use rust_decimal_macros::dec;

    fn payment(amount: Decimal) -> FundingPayment {
        FundingPayment {
            id: "777".into(),
            symbol: Symbol::new("BTCUSDT").unwrap(),
            asset: "USDT".into(),
            amount,
            time_ms: 0,
        }
    }

    fn bot(s: &str) -> BotId {
        BotId::new(s).unwrap()
    }

    #[test]
    fn shares_follow_signed_positions_and_sum_exactly() {
        struct Case {
            amount: Decimal,
            positions: Vec<(BotId, Decimal)>,
            expected: Vec<Decimal>,
        }
        let cases = [
            Case {
                amount: dec!(-0.30000000),
                positions: vec![(bot("a"), dec!(0.010)), (bot("b"), dec!(0.020))],
                expected: vec![dec!(-0.1), dec!(-0.2)],
            },
            Case {
                // Net long 0.01: the short bot receives what the long bot pays beyond the net.
                amount: dec!(-0.1000),
                positions: vec![
                    (bot("a"), dec!(0.02)),
                    (bot("b"), dec!(-0.01)),
                    (bot("c"), dec!(0)),
                ],
                expected: vec![dec!(-0.2), dec!(0.1)],
            },
            Case {
                amount: dec!(-0.10000000),
                positions: vec![
                    (bot("a"), dec!(1)),
                    (bot("b"), dec!(1)),
                    (bot("c"), dec!(1)),
                ],
                expected: vec![dec!(-0.03333333), dec!(-0.03333333), dec!(-0.03333334)],
            },
        ];
        for c in cases {
            let got = split_funding(&payment(c.amount), &c.positions).unwrap();
            let amounts: Vec<Decimal> = got.iter().map(|(_, p)| p.amount).collect();
            assert_eq!(amounts, c.expected);
            assert_eq!(amounts.iter().copied().sum::<Decimal>(), c.amount);
            assert!(got.iter().all(|(b, p)| p.id == format!("777:{b}")));
        }
    }

    #[test]
    fn only_funding_charged_while_the_bot_held_a_position_is_its() {
        use crate::model::Side;
        let fill = |side, qty, time_ms| Fill {
            trade_id: format!("t{time_ms}"),
            order_id: "o".into(),
            client_order_id: None,
            symbol: Symbol::new("BTCUSDT").unwrap(),
            side,
            price: dec!(65000),
            qty,
            fee: dec!(0),
            fee_asset: "USDT".into(),
            time_ms,
            is_maker: false,
        };
        let at = |time_ms, symbol: &str| FundingPayment {
            id: format!("f{time_ms}{symbol}"),
            symbol: Symbol::new(symbol).unwrap(),
            time_ms,
            ..payment(dec!(-0.1))
        };
        let fills = [
            fill(Side::Buy, dec!(0.01), 10),
            fill(Side::Sell, dec!(0.01), 20),
            fill(Side::Sell, dec!(0.02), 30),
        ];
        // (funding time, symbol, the bot's?)
        let cases = [
            (5, "BTCUSDT", false),  // before the bot traded (another bot's, or older)
            (10, "BTCUSDT", true),  // long 0.01 from the fill at the same ms
            (15, "BTCUSDT", true),  // long
            (25, "BTCUSDT", false), // flat again
            (35, "BTCUSDT", true),  // short
            (35, "ETHUSDT", false), // a symbol the bot does not hold
        ];
        for (time, symbol, want) in cases {
            let got = held_funding(vec![at(time, symbol)], &fills);
            assert_eq!(got.len() == 1, want, "{time} {symbol}");
        }
    }

    #[test]
    fn the_last_bot_id_takes_the_remainder_and_a_lone_holder_keeps_the_id() {
        // Given in any order, split in bot id order: "c" (last) takes the remainder.
        let positions = [
            (bot("c"), dec!(1)),
            (bot("a"), dec!(1)),
            (bot("b"), dec!(1)),
        ];
        let got = split_funding(&payment(dec!(-0.10000000)), &positions).unwrap();
        let shares: Vec<(String, Decimal)> =
            got.iter().map(|(b, p)| (b.to_string(), p.amount)).collect();
        assert_eq!(
            shares,
            vec![
                ("a".into(), dec!(-0.03333333)),
                ("b".into(), dec!(-0.03333333)),
                ("c".into(), dec!(-0.03333334)),
            ]
        );
        // Alone (others flat): the whole payment under the exchange's own id, as before.
        let alone = [(bot("a"), dec!(0.5)), (bot("b"), dec!(0))];
        let got = split_funding(&payment(dec!(-0.1)), &alone).unwrap();
        assert_eq!(got, vec![(bot("a"), payment(dec!(-0.1)))]);
    }

    proptest::proptest! {
        #![proptest_config(crate::prop_seed::config(500))]

        /// Any charge split between up to five bots: the shares sum exactly to it, each is the
        /// pro-rata figure rounded to the charge's decimals (the remainder holder within the
        /// others' rounding), and the split does not depend on the order positions are given in.
        #[test]
        fn shares_sum_exactly_to_the_charge(
            amount in -10_000_000i64..10_000_000,
            dp in 0u32..9,
            qtys in proptest::collection::vec(-5_000i64..5_000, 1..6),
        ) {
            let total = payment(Decimal::new(amount, dp));
            let positions: Vec<(BotId, Decimal)> = qtys
                .iter()
                .enumerate()
                .map(|(i, q)| (bot(&format!("b{i}")), Decimal::new(*q, 3)))
                .collect();
            let net: Decimal = positions.iter().map(|(_, q)| *q).sum();
            let split = split_funding(&total, &positions);
            if net.is_zero() {
                proptest::prop_assert_eq!(split.is_ok(), total.amount.is_zero());
                return Ok(());
            }
            let shares = split.unwrap();
            let sum: Decimal = shares.iter().map(|(_, p)| p.amount).sum();
            proptest::prop_assert_eq!(sum, total.amount);
            let holders = positions.iter().filter(|(_, q)| !q.is_zero()).count();
            proptest::prop_assert_eq!(shares.len(), holders);
            let unit = Decimal::new(1, total.amount.scale());
            for (i, (b, share)) in shares.iter().enumerate() {
                let q = positions.iter().find(|(x, _)| x == b).map(|(_, q)| *q).unwrap();
                let exact = total.amount * q / net;
                let slack = if i + 1 == shares.len() { unit * Decimal::from(holders) } else { unit };
                proptest::prop_assert!((share.amount - exact).abs() <= slack, "{} vs {}", share.amount, exact);
            }
            let mut reversed = positions.clone();
            reversed.reverse();
            proptest::prop_assert_eq!(split_funding(&total, &reversed).unwrap(), shares);
        }
    }

    #[test]
    fn net_zero_with_a_charge_is_an_error() {
        let positions = [(bot("a"), dec!(1)), (bot("b"), dec!(-1))];
        assert!(matches!(
            split_funding(&payment(dec!(-0.1)), &positions),
            Err(FundingSplitError::NetZero { .. })
        ));
        assert_eq!(split_funding(&payment(dec!(0)), &positions), Ok(Vec::new()));
    }
}
