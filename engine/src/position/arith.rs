//! Checked decimal arithmetic naming the field being computed, so an overflow is a typed error
//! instead of a panic (`Decimal`'s operators panic on overflow).

use super::PositionError;
use rust_decimal::Decimal;

/// `a + b`.
pub(crate) fn add(a: Decimal, b: Decimal, field: &'static str) -> Result<Decimal, PositionError> {
    a.checked_add(b).ok_or(PositionError::Overflow { field })
}

/// `a − b`.
pub(crate) fn sub(a: Decimal, b: Decimal, field: &'static str) -> Result<Decimal, PositionError> {
    a.checked_sub(b).ok_or(PositionError::Overflow { field })
}

/// `a × b`.
pub(crate) fn mul(a: Decimal, b: Decimal, field: &'static str) -> Result<Decimal, PositionError> {
    a.checked_mul(b).ok_or(PositionError::Overflow { field })
}

/// `a ÷ b` (division by zero is an error too).
pub(crate) fn div(a: Decimal, b: Decimal, field: &'static str) -> Result<Decimal, PositionError> {
    a.checked_div(b).ok_or(PositionError::Overflow { field })
}
