//! Exact money: an integer count of minor units and a currency.
//!
//! Nothing here goes through `f64`. Text from people is parsed strictly ([`Money::parse`]); text from
//! providers is read leniently but exactly ([`Money::from_provider_text`]); amounts leave the process in
//! the exact form each provider wants ([`Money::to_fixed_string`], [`Money::to_shortest_string`]).

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A currency the SDK can carry, with its ISO 4217 minor-unit exponent.
///
/// ```
/// use refund_core::Currency;
/// assert_eq!(Currency::Inr.exponent(), 2);
/// assert_eq!("MYR".parse::<Currency>().unwrap(), Currency::Myr);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Currency {
    /// Indian rupee (paise: 2 decimals).
    Inr,
    /// Malaysian ringgit (sen: 2 decimals).
    Myr,
    /// Bangladeshi taka (2 decimals).
    Bdt,
    /// Indonesian rupiah (2 decimals in ISO 4217).
    Idr,
}

impl Currency {
    /// Number of decimal digits in the minor unit (2 for paise and sen).
    pub const fn exponent(self) -> u32 {
        match self {
            Currency::Inr | Currency::Myr | Currency::Bdt | Currency::Idr => 2,
        }
    }

    /// The ISO 4217 code, e.g. `"INR"`.
    pub const fn code(self) -> &'static str {
        match self {
            Currency::Inr => "INR",
            Currency::Myr => "MYR",
            Currency::Bdt => "BDT",
            Currency::Idr => "IDR",
        }
    }

    const fn scale(self) -> u64 {
        10u64.pow(self.exponent())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Currency::Inr, Currency::Myr, Currency::Bdt, Currency::Idr]
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(s))
            .ok_or_else(|| MoneyError::UnknownCurrency(s.chars().take(8).collect()))
    }
}

/// Why a piece of text is not an amount of money.
///
/// Each variant names the exact problem so a caller (or the CLI) can say it back to a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// The text was empty.
    #[error("amount is empty")]
    Empty,
    /// The text had a leading `-` or `+`.
    #[error("amount must not carry a sign")]
    Signed,
    /// The amount is zero where a positive amount is needed.
    #[error("amount must be greater than zero")]
    Zero,
    /// More decimal places than the currency has.
    #[error("amount has {found} decimal places but {currency} allows at most {allowed}")]
    TooManyDecimals {
        /// Decimal places in the text.
        found: usize,
        /// Decimal places the currency allows.
        allowed: u32,
        /// The currency.
        currency: Currency,
    },
    /// A character that is not an ASCII digit or a single `.` (whitespace, separators, exponents,
    /// `NaN`, non-ASCII digits, ...).
    #[error(
        "amount contains an invalid character {0:?}; write digits with at most one '.', e.g. 10.50"
    )]
    InvalidCharacter(char),
    /// A `.` with no digits on one side (`".5"`, `"5."`), or more than one `.`.
    #[error("amount is not a plain decimal number; write it like 10 or 10.50")]
    Malformed,
    /// Larger than the SDK can represent.
    #[error("amount is too large")]
    Overflow,
    /// A currency code the SDK does not know.
    #[error("unknown currency {0:?}")]
    UnknownCurrency(String),
}

/// An exact amount of money: a non-negative integer number of minor units and its currency.
///
/// ```
/// use refund_core::{Currency, Money};
///
/// let amount = Money::parse("10.5", Currency::Inr)?;
/// assert_eq!(amount.minor_units(), 1050);
/// assert_eq!(amount.to_fixed_string(), "10.50"); // AOC, BOS status
/// assert_eq!(amount.to_shortest_string(), "10.5"); // BOS QR; DigiPay, as a JSON number
/// # Ok::<(), refund_core::MoneyError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor_units: u64,
    currency: Currency,
}

impl Money {
    /// Money from an integer number of minor units (paise, sen). Zero is allowed here; refund
    /// requests check positivity where they need it.
    pub const fn from_minor_units(minor_units: u64, currency: Currency) -> Self {
        Money { minor_units, currency }
    }

    /// The integer number of minor units.
    pub const fn minor_units(&self) -> u64 {
        self.minor_units
    }

    /// The currency.
    pub const fn currency(&self) -> Currency {
        self.currency
    }

    /// Whether the amount is zero.
    pub const fn is_zero(&self) -> bool {
        self.minor_units == 0
    }

    /// Parses an amount typed by a person, strictly, and requires it to be positive.
    ///
    /// Accepts `"10"`, `"10.5"`, `"10.50"`. Rejects signs, zero, more decimals than the currency has,
    /// exponents, `NaN`/`inf`, whitespace, thousands separators, non-ASCII digits, overflow and empty
    /// text, each with its own [`MoneyError`].
    ///
    /// ```
    /// use refund_core::{Currency, Money, MoneyError};
    /// assert!(Money::parse("1.00", Currency::Myr).is_ok());
    /// assert_eq!(Money::parse("-1", Currency::Myr), Err(MoneyError::Signed));
    /// assert_eq!(Money::parse("0.00", Currency::Myr), Err(MoneyError::Zero));
    /// assert!(matches!(Money::parse("1.005", Currency::Myr), Err(MoneyError::TooManyDecimals { .. })));
    /// assert!(matches!(Money::parse("1e3", Currency::Myr), Err(MoneyError::InvalidCharacter('e'))));
    /// ```
    pub fn parse(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        let money = Self::parse_non_negative(text, currency)?;
        if money.is_zero() {
            return Err(MoneyError::Zero);
        }
        Ok(money)
    }

    /// Like [`Money::parse`] but allows zero (for balances and totals, not refunds).
    pub fn parse_non_negative(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        if text.is_empty() {
            return Err(MoneyError::Empty);
        }
        if text.starts_with(['-', '+']) {
            return Err(MoneyError::Signed);
        }
        if let Some(bad) = text.chars().find(|c| !(c.is_ascii_digit() || *c == '.')) {
            return Err(MoneyError::InvalidCharacter(bad));
        }
        let (whole, fraction) = text.split_once('.').map_or((text, None), |(w, f)| (w, Some(f)));
        if whole.is_empty() || fraction.is_some_and(|f| f.is_empty() || f.contains('.')) {
            return Err(MoneyError::Malformed);
        }
        let fraction = fraction.unwrap_or("");
        let allowed = currency.exponent();
        if fraction.len() > allowed as usize {
            return Err(MoneyError::TooManyDecimals { found: fraction.len(), allowed, currency });
        }
        Self::from_digits(whole, fraction, currency)
    }

    /// Reads an amount as a provider wrote it: leniently in form, exactly in value.
    ///
    /// Accepts what the strict parser does plus surrounding JSON quotes, trailing zero decimals beyond
    /// the currency's (`"5050.000"`), and exponent notation that resolves to whole minor units
    /// (`"2.22263731286E9"`). Zero is allowed. Anything that would lose value is an error.
    ///
    /// ```
    /// use refund_core::{Currency, Money};
    /// let m = Money::from_provider_text("2.22263731286E9", Currency::Inr).unwrap();
    /// assert_eq!(m.to_fixed_string(), "2222637312.86");
    /// assert_eq!(Money::from_provider_text("1", Currency::Myr).unwrap().minor_units(), 100);
    /// ```
    pub fn from_provider_text(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        let text = text.trim().trim_matches('"').trim();
        if text.is_empty() {
            return Err(MoneyError::Empty);
        }
        if text.starts_with('-') {
            return Err(MoneyError::Signed);
        }
        let text = text.strip_prefix('+').unwrap_or(text);
        let (mantissa, exponent) = match text.split_once(['e', 'E']) {
            Some((mantissa, exp)) => (mantissa, exp.parse().map_err(|_| MoneyError::Malformed)?),
            None => (text, 0i32),
        };
        if exponent.unsigned_abs() > 40 {
            return Err(MoneyError::Overflow);
        }
        if let Some(bad) = mantissa.chars().find(|c| !(c.is_ascii_digit() || *c == '.')) {
            return Err(MoneyError::InvalidCharacter(bad));
        }
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return Err(MoneyError::Malformed);
        }
        if exponent == 0 {
            // The common case (`"5050.00"`, `79.1`): no point to move, no digits to copy.
            return Self::from_digits(whole, fraction, currency);
        }
        // Shift the decimal point by the exponent, as text, so nothing is rounded; zeros pad the
        // digits where the point moves past them.
        let shift = exponent.unsigned_abs() as usize;
        let (digits, point) = if exponent > 0 {
            let zeros = "0".repeat(shift.saturating_sub(fraction.len()));
            (format!("{whole}{fraction}{zeros}"), whole.len() + shift)
        } else {
            (format!("{}{whole}{fraction}", "0".repeat(shift)), whole.len())
        };
        let (whole, fraction) = digits.split_at(point);
        Self::from_digits(whole, fraction, currency)
    }

    /// `whole` and `fraction` are ASCII digits (either may be empty); fraction digits beyond the
    /// currency's decimals must be zeros.
    fn from_digits(whole: &str, fraction: &str, currency: Currency) -> Result<Self, MoneyError> {
        let allowed = currency.exponent();
        if fraction.bytes().skip(allowed as usize).any(|b| b != b'0') {
            return Err(MoneyError::TooManyDecimals { found: fraction.len(), allowed, currency });
        }
        let mut minor: u64 = 0;
        for b in whole.bytes() {
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(u64::from(b - b'0')))
                .ok_or(MoneyError::Overflow)?;
        }
        minor = minor.checked_mul(currency.scale()).ok_or(MoneyError::Overflow)?;
        let mut frac: u64 = 0;
        for i in 0..allowed as usize {
            let digit = fraction.as_bytes().get(i).map_or(0, |b| u64::from(b - b'0'));
            frac = frac * 10 + digit;
        }
        minor = minor.checked_add(frac).ok_or(MoneyError::Overflow)?;
        // Keep every amount printable as a JSON number that any parser reads exactly (< 2^53).
        if minor > MAX_MINOR_UNITS {
            return Err(MoneyError::Overflow);
        }
        Ok(Money { minor_units: minor, currency })
    }

    /// The amount with exactly the currency's decimals: `"1.00"`, `"6.50"`, `"10.00"`.
    ///
    /// ```
    /// use refund_core::{Currency, Money};
    /// assert_eq!(Money::from_minor_units(5, Currency::Inr).to_fixed_string(), "0.05");
    /// ```
    pub fn to_fixed_string(&self) -> String {
        let scale = self.currency.scale();
        let decimals = self.currency.exponent() as usize;
        if decimals == 0 {
            return self.minor_units.to_string();
        }
        format!("{}.{:0decimals$}", self.minor_units / scale, self.minor_units % scale)
    }

    /// The shortest exact decimal: `"10"`, `"10.5"`, `"10.05"`. Also a valid JSON number, for
    /// the providers that take amounts as numbers.
    ///
    /// ```
    /// use refund_core::{Currency, Money};
    /// assert_eq!(Money::parse("79.10", Currency::Inr).unwrap().to_shortest_string(), "79.1");
    /// assert_eq!(Money::parse("10.00", Currency::Inr).unwrap().to_shortest_string(), "10");
    /// ```
    pub fn to_shortest_string(&self) -> String {
        let mut text = self.to_fixed_string();
        if text.contains('.') {
            text.truncate(text.trim_end_matches('0').trim_end_matches('.').len());
        }
        text
    }
}

/// Largest amount the SDK accepts: 2^53 - 1 minor units, so that every amount survives any JSON
/// parser on the provider's side, including ones that read numbers as doubles.
pub const MAX_MINOR_UNITS: u64 = (1 << 53) - 1;

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({} {})", self.to_fixed_string(), self.currency)
    }
}

impl fmt::Display for Money {
    /// `"10.50 INR"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_fixed_string(), self.currency)
    }
}

/// An amount exactly as a provider wrote it in JSON, string or number (`"1.00"`, `1`, `79.1`),
/// captured from the raw text so that it is never rounded through `f64`. Use it in wire structs and
/// turn it into [`Money`] once the currency is known.
///
/// ```
/// use refund_core::{AmountText, Currency};
/// #[derive(serde::Deserialize)]
/// struct Wire { amount: AmountText }
/// let w: Wire = serde_json::from_str(r#"{"amount": 79.1}"#).unwrap();
/// assert_eq!(w.amount.to_money(Currency::Inr).unwrap().minor_units(), 7910);
/// let w: Wire = serde_json::from_str(r#"{"amount": "5050.00"}"#).unwrap();
/// assert_eq!(w.amount.as_str(), "5050.00");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct AmountText(String);

impl AmountText {
    /// The text, without JSON quotes.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Exact conversion to money ([`Money::from_provider_text`]).
    pub fn to_money(&self, currency: Currency) -> Result<Money, MoneyError> {
        Money::from_provider_text(self.as_str(), currency)
    }
}

impl<'de> Deserialize<'de> for AmountText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw: Box<RawValue> = Deserialize::deserialize(deserializer)?;
        let text = raw.get();
        if text.starts_with('"') {
            serde_json::from_str(text).map(AmountText).map_err(de::Error::custom)
        } else if text.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            Ok(AmountText(text.to_owned()))
        } else {
            Err(de::Error::custom("expected an amount as a JSON string or number"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_parse_accepts_plain_decimals() {
        for (text, minor) in
            [("1", 100), ("1.5", 150), ("1.50", 150), ("10", 1000), ("0.01", 1), ("007", 700)]
        {
            assert_eq!(
                Money::parse(text, Currency::Inr).map(|m| m.minor_units()),
                Ok(minor),
                "{text}"
            );
        }
    }

    #[test]
    fn strict_parse_rejects_everything_odd() {
        use MoneyError::*;
        let cases: &[(&str, MoneyError)] = &[
            ("", Empty),
            ("-1", Signed),
            ("+1", Signed),
            ("0", Zero),
            ("0.00", Zero),
            (" 1", InvalidCharacter(' ')),
            ("1 ", InvalidCharacter(' ')),
            ("1,000", InvalidCharacter(',')),
            ("1_000", InvalidCharacter('_')),
            ("1e3", InvalidCharacter('e')),
            ("1E3", InvalidCharacter('E')),
            ("NaN", InvalidCharacter('N')),
            ("inf", InvalidCharacter('i')),
            ("١٢", InvalidCharacter('١')),
            ("１", InvalidCharacter('１')),
            (".5", Malformed),
            ("5.", Malformed),
            ("1.2.3", Malformed),
            ("0x10", InvalidCharacter('x')),
            ("99999999999999999999999", Overflow),
            ("90071992547409.92", Overflow),
        ];
        for (text, want) in cases {
            assert_eq!(Money::parse(text, Currency::Myr).as_ref(), Err(want), "{text:?}");
        }
        assert!(matches!(
            Money::parse("1.005", Currency::Myr),
            Err(TooManyDecimals { found: 3, allowed: 2, currency: Currency::Myr })
        ));
    }

    #[test]
    fn formats() {
        let m = Money::from_minor_units(7910, Currency::Inr);
        assert_eq!(m.to_fixed_string(), "79.10");
        assert_eq!(m.to_shortest_string(), "79.1");
        let whole = Money::from_minor_units(1000, Currency::Inr);
        assert_eq!(whole.to_shortest_string(), "10");
        assert_eq!(Money::from_minor_units(5, Currency::Inr).to_fixed_string(), "0.05");
        assert_eq!(Money::from_minor_units(5, Currency::Inr).to_shortest_string(), "0.05");
        assert_eq!(format!("{m:?}"), "Money(79.10 INR)");
        assert_eq!(m.to_string(), "79.10 INR");
    }

    #[test]
    fn provider_text_is_lenient_but_exact() {
        let read = |t: &str| Money::from_provider_text(t, Currency::Inr).map(|m| m.minor_units());
        assert_eq!(read("5050.00"), Ok(505_000));
        assert_eq!(read("\"1\""), Ok(100));
        assert_eq!(read("1"), Ok(100));
        assert_eq!(read("0"), Ok(0));
        assert_eq!(read("50.0"), Ok(5000));
        assert_eq!(read("5050.000"), Ok(505_000));
        assert_eq!(read("2.22263731286E9"), Ok(222_263_731_286));
        assert_eq!(read("1e2"), Ok(10_000));
        assert_eq!(read("1234e-2"), Ok(1234));
        assert!(read("1.001").is_err());
        assert!(read("1e-3").is_err());
        assert!(read("-1").is_err());
        assert!(read("abc").is_err());
        assert!(read("").is_err());
        assert!(read("1e999999").is_err());
    }

    #[test]
    fn amount_text_reads_strings_and_numbers() {
        #[derive(Deserialize)]
        struct W {
            a: AmountText,
        }
        let w: W = serde_json::from_str(r#"{"a": 1}"#).unwrap();
        assert_eq!(w.a.to_money(Currency::Myr).unwrap().to_fixed_string(), "1.00");
        let w: W = serde_json::from_str(r#"{"a": "1.00"}"#).unwrap();
        assert_eq!(w.a.as_str(), "1.00");
        assert!(serde_json::from_str::<W>(r#"{"a": true}"#).is_err());
        assert!(serde_json::from_str::<W>(r#"{"a": null}"#).is_err());
        // Escapes are decoded; text without them is read in place, quotes skipped.
        let w: W = serde_json::from_str(r#"{"a": "\u0031.5\u0030"}"#).unwrap();
        assert_eq!(w.a.as_str(), "1.50");
        assert_eq!(w.a.to_money(Currency::Myr).unwrap().minor_units(), 150);
        let plain: W = serde_json::from_str(r#"{"a": "1.50"}"#).unwrap();
        assert_eq!(plain.a, w.a);
        assert_eq!(format!("{:?}", plain.a), r#"AmountText("1.50")"#);
        assert_eq!(serde_json::to_string(&plain.a).unwrap(), r#""1.50""#);
        let w: W = serde_json::from_str(r#"{"a": 2.22263731286E9}"#).unwrap();
        assert_eq!(w.a.as_str(), "2.22263731286E9");
        // From a `Value` too (no borrowing deserializer): the same text.
        let w: W = serde_json::from_value(serde_json::json!({"a": "5050.00"})).unwrap();
        assert_eq!(w.a.as_str(), "5050.00");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn fixed_round_trips(minor in 1u64..=MAX_MINOR_UNITS) {
                let m = Money::from_minor_units(minor, Currency::Inr);
                prop_assert_eq!(Money::parse(&m.to_fixed_string(), Currency::Inr), Ok(m));
                prop_assert_eq!(Money::parse(&m.to_shortest_string(), Currency::Inr), Ok(m));
                prop_assert_eq!(Money::from_provider_text(&m.to_shortest_string(), Currency::Inr), Ok(m));
                let scale = Currency::Inr.scale();
                prop_assert_eq!(m.to_fixed_string(), format!("{}.{:02}", minor / scale, minor % scale));
            }

            #[test]
            fn parse_never_panics(text in "\\PC{0,24}") {
                let _ = Money::parse(&text, Currency::Myr);
                let _ = Money::from_provider_text(&text, Currency::Myr);
            }

            #[test]
            fn parsed_text_formats_back(whole in 0u64..10_000_000, frac in 0u64..100) {
                let text = format!("{whole}.{frac:02}");
                if whole == 0 && frac == 0 {
                    prop_assert_eq!(Money::parse(&text, Currency::Myr), Err(MoneyError::Zero));
                } else {
                    let m = Money::parse(&text, Currency::Myr).unwrap();
                    prop_assert_eq!(m.to_fixed_string(), text);
                }
            }
        }
    }
}
