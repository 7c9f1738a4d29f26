//! Money as integer micro-dollars, so that spend adds up exactly.
//!
//! Budgets are compared against sums of thousands of small charges; a float would drift and a
//! replica would disagree with another about whether a budget is spent. [`MicroUsd`] is a `u64`
//! count of millionths of a US dollar: spend, prices and budgets are never negative (a release
//! or a refund is its own non-negative amount, subtracted with [`MicroUsd::checked_sub`]), and
//! `u64::MAX` micro-dollars is about 18 trillion dollars, so no real total comes near it.
//!
//! It prints as dollars with six decimals (`0.012345`, the `x-portcullis-cost-usd` header),
//! parses from a decimal dollar string without floats (`"10.50"`, config and admin input), and
//! serialises as the bare integer count of micro-dollars (storage and the admin API).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Micro-dollars in one dollar.
const PER_DOLLAR: u64 = 1_000_000;
/// Digits after the decimal point that a micro-dollar amount can carry.
const DECIMALS: usize = 6;

/// An amount of US dollars, in integer micro-dollars (1 USD = 1,000,000).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct MicroUsd(u64);

/// Why a dollar string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyParseError {
    #[error("an amount of dollars must not be empty")]
    Empty,
    #[error("an amount of dollars is digits with an optional decimal point, like `10.50`")]
    Malformed,
    #[error("an amount of dollars has at most 6 decimal places (one micro-dollar)")]
    TooPrecise,
    #[error("the amount of dollars is too large")]
    TooLarge,
}

impl MicroUsd {
    pub const ZERO: MicroUsd = MicroUsd(0);
    pub const MAX: MicroUsd = MicroUsd(u64::MAX);

    pub const fn from_micros(micros: u64) -> Self {
        MicroUsd(micros)
    }

    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Whole dollars, `None` if they do not fit.
    pub const fn from_dollars(dollars: u64) -> Option<Self> {
        match dollars.checked_mul(PER_DOLLAR) {
            Some(micros) => Some(MicroUsd(micros)),
            None => None,
        }
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub const fn checked_add(self, other: MicroUsd) -> Option<MicroUsd> {
        match self.0.checked_add(other.0) {
            Some(micros) => Some(MicroUsd(micros)),
            None => None,
        }
    }

    /// `None` when `other` is larger: spend never goes below zero.
    pub const fn checked_sub(self, other: MicroUsd) -> Option<MicroUsd> {
        match self.0.checked_sub(other.0) {
            Some(micros) => Some(MicroUsd(micros)),
            None => None,
        }
    }

    pub const fn saturating_add(self, other: MicroUsd) -> MicroUsd {
        MicroUsd(self.0.saturating_add(other.0))
    }

    pub const fn saturating_sub(self, other: MicroUsd) -> MicroUsd {
        MicroUsd(self.0.saturating_sub(other.0))
    }

    /// Parses a decimal amount of dollars: digits, optionally a point and one to six more
    /// digits (`"10"`, `"10.5"`, `"0.000001"`). No sign, exponent, spaces or currency symbol;
    /// a seventh decimal is refused rather than rounded, so input is never silently changed.
    pub fn parse_dollars(text: &str) -> Result<MicroUsd, MoneyParseError> {
        if text.is_empty() {
            return Err(MoneyParseError::Empty);
        }
        let (whole, fraction) = match text.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (text, None),
        };
        let whole = parse_digits(whole)?;
        let fraction = match fraction {
            None => 0,
            Some(digits) if digits.len() > DECIMALS && is_digits(digits) => {
                return Err(MoneyParseError::TooPrecise);
            }
            Some(digits) => {
                let value = parse_digits(digits)?;
                // Scale "5" (tenths) to 500_000 micro-dollars; len <= 6 here.
                let scale = 10u64.pow((DECIMALS - digits.len()) as u32);
                value * scale
            }
        };
        whole
            .checked_mul(PER_DOLLAR)
            .and_then(|micros| micros.checked_add(fraction))
            .map(MicroUsd)
            .ok_or(MoneyParseError::TooLarge)
    }
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

fn parse_digits(text: &str) -> Result<u64, MoneyParseError> {
    if !is_digits(text) {
        return Err(MoneyParseError::Malformed);
    }
    text.parse::<u64>().map_err(|_| MoneyParseError::TooLarge)
}

impl fmt::Display for MicroUsd {
    /// Dollars with exactly six decimals: `12.500000`, `0.000001`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}", self.0 / PER_DOLLAR, self.0 % PER_DOLLAR)
    }
}

impl FromStr for MicroUsd {
    type Err = MoneyParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        MicroUsd::parse_dollars(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(text: &str) -> MicroUsd {
        MicroUsd::parse_dollars(text).unwrap()
    }

    #[test]
    fn displays_dollars_with_six_decimals() {
        assert_eq!(MicroUsd::from_micros(12_345).to_string(), "0.012345");
        assert_eq!(MicroUsd::from_micros(1).to_string(), "0.000001");
        assert_eq!(MicroUsd::ZERO.to_string(), "0.000000");
        assert_eq!(MicroUsd::from_micros(10_500_000).to_string(), "10.500000");
        assert_eq!(MicroUsd::MAX.to_string(), "18446744073709.551615");
    }

    #[test]
    fn parses_decimal_dollars_exactly() {
        assert_eq!(usd("10.50").as_micros(), 10_500_000);
        assert_eq!(usd("10").as_micros(), 10_000_000);
        assert_eq!(usd("0.1").as_micros(), 100_000);
        assert_eq!(usd("0.000001").as_micros(), 1);
        assert_eq!(usd("007.25").as_micros(), 7_250_000);
        // 0.1 + 0.2 is exactly 0.3 here, unlike in f64.
        assert_eq!(usd("0.1").checked_add(usd("0.2")), Some(usd("0.3")));
    }

    #[test]
    fn display_and_parse_round_trip() {
        for micros in [0, 1, 999_999, 1_000_000, 123_456_789, u64::MAX] {
            let amount = MicroUsd::from_micros(micros);
            assert_eq!(amount.to_string().parse::<MicroUsd>(), Ok(amount));
        }
    }

    #[test]
    fn refuses_malformed_dollar_strings() {
        for bad in [
            "-1", "+1", "1e3", " 1", "1 ", "$1", "1,5", ".5", "5.", "1.2.3", "abc", "１",
        ] {
            assert_eq!(
                MicroUsd::parse_dollars(bad),
                Err(MoneyParseError::Malformed),
                "{bad:?}"
            );
        }
        assert_eq!(MicroUsd::parse_dollars(""), Err(MoneyParseError::Empty));
    }

    #[test]
    fn refuses_sub_micro_precision_instead_of_rounding() {
        assert_eq!(
            MicroUsd::parse_dollars("0.0000001"),
            Err(MoneyParseError::TooPrecise)
        );
    }

    #[test]
    fn refuses_amounts_that_overflow() {
        assert_eq!(
            MicroUsd::parse_dollars("18446744073709.551616"),
            Err(MoneyParseError::TooLarge)
        );
        assert_eq!(
            MicroUsd::parse_dollars("99999999999999999999999"),
            Err(MoneyParseError::TooLarge)
        );
        assert_eq!(MicroUsd::from_dollars(u64::MAX), None);
    }

    #[test]
    fn arithmetic_never_wraps() {
        let one = MicroUsd::from_micros(1);
        assert_eq!(MicroUsd::MAX.checked_add(one), None);
        assert_eq!(MicroUsd::MAX.saturating_add(one), MicroUsd::MAX);
        assert_eq!(MicroUsd::ZERO.checked_sub(one), None);
        assert_eq!(MicroUsd::ZERO.saturating_sub(one), MicroUsd::ZERO);
        assert_eq!(usd("2").checked_sub(usd("0.5")), Some(usd("1.5")));
    }

    #[test]
    fn serialises_as_integer_micro_dollars() {
        assert_eq!(serde_json::to_string(&usd("1.25")).unwrap(), "1250000");
        let back: MicroUsd = serde_json::from_str("1250000").unwrap();
        assert_eq!(back, usd("1.25"));
        assert!(serde_json::from_str::<MicroUsd>("-1").is_err());
        assert!(serde_json::from_str::<MicroUsd>("\"1.25\"").is_err());
    }
}
