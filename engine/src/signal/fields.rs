//! Field-by-field reading of a webhook object and the per-action rules (which fields each action
//! requires or forbids). Kept apart from the error and type definitions so each stays small.

use super::value::{self, json_type, ScalarError};
use super::{normalize_symbol, Action, Signal, SignalError, SignalSizing, WebhookSecret};
use crate::model::OrderType;
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;

type Fields = BTreeMap<String, Value>;

/// Longest accepted `id` / `secret` text (bytes). Both are opaque; the cap bounds audit rows.
const MAX_TEXT: usize = 256;

fn get<'a>(fields: &'a Fields, name: &str) -> Option<&'a Value> {
    // `null` means "not given": templates often render an unused optional field as null.
    fields.get(name).filter(|v| !v.is_null())
}

fn scalar_err(field: &'static str, e: ScalarError) -> SignalError {
    SignalError::Malformed {
        field,
        reason: e.to_string(),
    }
}

fn text(fields: &Fields, field: &'static str) -> Result<Option<String>, SignalError> {
    match get(fields, field) {
        None => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Err(SignalError::Malformed {
            field,
            reason: "must not be empty".into(),
        }),
        Some(Value::String(s)) if s.len() > MAX_TEXT => Err(SignalError::Malformed {
            field,
            reason: format!("longer than {MAX_TEXT} bytes"),
        }),
        Some(Value::String(s)) if value::is_placeholder(s) && field != "secret" => {
            Err(SignalError::Malformed {
                field,
                reason: format!("{s:?} is a TradingView placeholder that was not substituted"),
            })
        }
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(SignalError::Malformed {
            field,
            reason: format!("expected a string, got {}", json_type(other)),
        }),
    }
}

/// A decimal that must be strictly positive.
fn positive(fields: &Fields, field: &'static str) -> Result<Option<Decimal>, SignalError> {
    let Some(v) = get(fields, field) else {
        return Ok(None);
    };
    let d = value::decimal(v).map_err(|e| scalar_err(field, e))?;
    if d <= Decimal::ZERO {
        return Err(SignalError::Invalid {
            field,
            reason: format!("must be greater than 0, got {d}"),
        });
    }
    Ok(Some(d))
}

fn action(fields: &Fields) -> Result<Action, SignalError> {
    let Some(raw) = text(fields, "action")? else {
        return Err(SignalError::Missing {
            field: "action",
            reason: "one of buy, sell, close, cancel_all, target".into(),
        });
    };
    // TradingView's `{{strategy.order.action}}` is lowercase; accept any case of the same words.
    match raw.to_ascii_lowercase().as_str() {
        "buy" => Ok(Action::Buy),
        "sell" => Ok(Action::Sell),
        "close" => Ok(Action::Close),
        "cancel_all" => Ok(Action::CancelAll),
        "target" => Ok(Action::Target),
        _ => Err(SignalError::Malformed {
            field: "action",
            reason: format!("{raw:?} is not one of buy, sell, close, cancel_all, target"),
        }),
    }
}

fn order_type(fields: &Fields) -> Result<OrderType, SignalError> {
    match text(fields, "order_type")?.map(|s| s.to_ascii_lowercase()) {
        None => Ok(OrderType::Market),
        Some(s) if s == "market" => Ok(OrderType::Market),
        Some(s) if s == "limit" => Ok(OrderType::Limit),
        Some(s) => Err(SignalError::Malformed {
            field: "order_type",
            reason: format!("{s:?} is not one of market, limit"),
        }),
    }
}

fn sizing(fields: &Fields) -> Result<Option<SignalSizing>, SignalError> {
    let qty = positive(fields, "qty")?.map(SignalSizing::Qty);
    let quote = positive(fields, "quote_qty")?.map(SignalSizing::QuoteQty);
    let pct = positive(fields, "size_pct")?.map(SignalSizing::SizePct);
    if let Some(SignalSizing::SizePct(p)) = pct {
        if p > Decimal::ONE_HUNDRED {
            return Err(SignalError::Invalid {
                field: "size_pct",
                reason: format!("must be at most 100 (percent of equity), got {p}"),
            });
        }
    }
    let given: Vec<SignalSizing> = [qty, quote, pct].into_iter().flatten().collect();
    match given.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => Err(SignalError::Invalid {
            field: "qty",
            reason: "give at most one of qty, quote_qty, size_pct".into(),
        }),
    }
}

fn forbid(fields: &Fields, names: &[&'static str], action: Action) -> Result<(), SignalError> {
    match names.iter().find(|n| get(fields, n).is_some()) {
        Some(field) => Err(SignalError::Invalid {
            field,
            reason: format!("not allowed with action {}", action.as_str()),
        }),
        None => Ok(()),
    }
}

/// Reads and cross-checks every field.
pub(super) fn build(fields: &Fields) -> Result<(Signal, Option<WebhookSecret>), SignalError> {
    let secret = text(fields, "secret")?.map(WebhookSecret::new);
    let id = text(fields, "id")?;
    let action = action(fields)?;
    let symbol = match text(fields, "symbol")? {
        Some(raw) => Some(normalize_symbol(&raw).map_err(|e| SignalError::Malformed {
            field: "symbol",
            reason: e.reason,
        })?),
        None => None,
    };
    let sizing = sizing(fields)?;
    let target_position = match get(fields, "target_position") {
        Some(v) => Some(value::decimal(v).map_err(|e| scalar_err("target_position", e))?),
        None => None,
    };
    let order_type = order_type(fields)?;
    let price = positive(fields, "price")?;
    let stop_loss = positive(fields, "stop_loss")?;
    let take_profit = positive(fields, "take_profit")?;
    let time_ms = match get(fields, "time") {
        Some(v) => Some(value::timestamp_ms(v).map_err(|e| scalar_err("time", e))?),
        None => None,
    };

    if symbol.is_none() && action != Action::CancelAll {
        return Err(SignalError::Missing {
            field: "symbol",
            reason: format!("action {} needs a symbol", action.as_str()),
        });
    }
    match action {
        Action::Buy | Action::Sell => {}
        Action::Target => {
            forbid(fields, &["qty", "quote_qty", "size_pct"], action)?;
            if target_position.is_none() {
                return Err(SignalError::Missing {
                    field: "target_position",
                    reason: "action target trades to this signed position".into(),
                });
            }
        }
        Action::Close => {
            forbid(
                fields,
                &["qty", "quote_qty", "size_pct", "stop_loss", "take_profit"],
                action,
            )?;
        }
        Action::CancelAll => {
            forbid(
                fields,
                &[
                    "qty",
                    "quote_qty",
                    "size_pct",
                    "target_position",
                    "order_type",
                    "price",
                    "stop_loss",
                    "take_profit",
                ],
                action,
            )?;
        }
    }
    if order_type == OrderType::Limit && price.is_none() {
        return Err(SignalError::Missing {
            field: "price",
            reason: "a limit order needs a price".into(),
        });
    }
    check_protection_sides(action, price, stop_loss, take_profit)?;
    let signal = Signal {
        id,
        action,
        symbol,
        sizing,
        target_position,
        order_type,
        price,
        stop_loss,
        take_profit,
        time_ms,
    };
    Ok((signal, secret))
}

/// For buy/sell with a price, the stop must be on the losing side and the take-profit on the
/// winning side; the other way round the exchange would trigger them at once.
fn check_protection_sides(
    action: Action,
    price: Option<Decimal>,
    stop_loss: Option<Decimal>,
    take_profit: Option<Decimal>,
) -> Result<(), SignalError> {
    let Some(price) = price else {
        return Ok(());
    };
    let long = match action {
        Action::Buy => true,
        Action::Sell => false,
        _ => return Ok(()),
    };
    if let Some(sl) = stop_loss {
        if (long && sl >= price) || (!long && sl <= price) {
            let side = if long { "below" } else { "above" };
            return Err(SignalError::Invalid {
                field: "stop_loss",
                reason: format!(
                    "{sl} must be {side} price {price} for a {}",
                    action.as_str()
                ),
            });
        }
    }
    if let Some(tp) = take_profit {
        if (long && tp <= price) || (!long && tp >= price) {
            let side = if long { "above" } else { "below" };
            return Err(SignalError::Invalid {
                field: "take_profit",
                reason: format!(
                    "{tp} must be {side} price {price} for a {}",
                    action.as_str()
                ),
            });
        }
    }
    Ok(())
}
