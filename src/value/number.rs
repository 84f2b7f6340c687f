//! Terraform numbers: arbitrary-precision decimals. cty sends integers that fit in 64 bits as
//! msgpack integers, exact binary floats as doubles and everything else as decimal strings, so the
//! provider keeps the exact decimal and only narrows when a model asks for an `i64` or `f64`.

use bigdecimal::BigDecimal;
use std::fmt;
use std::str::FromStr;

/// An exact decimal number.
#[derive(Debug, Clone)]
pub struct Number(BigDecimal);

impl Number {
    /// Parses a decimal literal such as `12`, `-1.5` or `1e400`.
    pub fn parse(text: &str) -> Option<Number> {
        BigDecimal::from_str(text.trim()).ok().map(Number)
    }

    /// The value as `i64` when it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        if self.0.is_integer() {
            i64::try_from(self.0.with_scale(0).into_bigint_and_exponent().0).ok()
        } else {
            None
        }
    }

    /// The value as `u64` when it is a non-negative integer in range.
    pub fn as_u64(&self) -> Option<u64> {
        if self.0.is_integer() {
            u64::try_from(self.0.with_scale(0).into_bigint_and_exponent().0).ok()
        } else {
            None
        }
    }

    /// The value as `f64` when that conversion is exact.
    pub fn as_exact_f64(&self) -> Option<f64> {
        let f: f64 = self.to_string().parse().ok()?;
        let back = BigDecimal::from_str(&format!("{f:?}")).ok()?;
        (f.is_finite() && back == self.0).then_some(f)
    }
}

impl From<i64> for Number {
    fn from(n: i64) -> Self {
        Number(BigDecimal::from(n))
    }
}

impl From<u64> for Number {
    fn from(n: u64) -> Self {
        Number(BigDecimal::from(n))
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.normalized())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_precision_beyond_i64() {
        let n = Number::parse("123456789012345678901234567890").unwrap();
        assert_eq!(n.as_i64(), None);
        assert_eq!(n.to_string(), "123456789012345678901234567890");
    }

    #[test]
    fn narrows_when_exact() {
        assert_eq!(Number::parse("42").unwrap().as_i64(), Some(42));
        assert_eq!(Number::parse("-7").unwrap().as_u64(), None);
        assert_eq!(Number::parse("0.5").unwrap().as_exact_f64(), Some(0.5));
        assert_eq!(Number::parse("0.1").unwrap().as_exact_f64(), Some(0.1));
        assert_eq!(Number::parse("1.5").unwrap().as_i64(), None);
    }

    #[test]
    fn equal_by_value() {
        assert_eq!(Number::parse("1.0").unwrap(), Number::parse("1").unwrap());
    }
}
