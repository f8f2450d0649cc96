//! Money parsing and formatting in integer minor units (two decimals for MYR and INR). Never `f64`.

/// Parses AOC's amount: digits, a dot, exactly two digits (`"1.00"`). Zero and anything else is `None`.
pub(crate) fn parse_exact_two_decimals(s: &str) -> Option<i64> {
    let (int, frac) = s.split_once('.')?;
    if frac.len() != 2 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole = parse_digits(int)?;
    let cents = parse_digits(frac)?;
    let v = whole.checked_mul(100)?.checked_add(cents)?;
    (v > 0).then_some(v)
}

/// Parses a plain decimal (`"100"`, `"79.1"`, `"79.10"`, also JSON number text) with at most two
/// significant decimals. Rejects signs, exponents, empty parts, zero and anything else.
pub(crate) fn parse_decimal(s: &str) -> Option<i64> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if s.contains('.') && frac.is_empty() {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let trimmed = frac.trim_end_matches('0');
    if trimmed.len() > 2 {
        return None;
    }
    let whole = parse_digits(int)?;
    let mut cents: i64 = 0;
    for (i, b) in trimmed.bytes().enumerate() {
        let d = i64::from(b - b'0');
        cents += if i == 0 { d * 10 } else { d };
    }
    let v = whole.checked_mul(100)?.checked_add(cents)?;
    (v > 0).then_some(v)
}

fn parse_digits(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 15 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `1234` → `"12.34"`.
pub(crate) fn format_two(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// `1000` → `"10"`, `1050` → `"10.5"`: the shortest exact decimal (a JSON number text).
pub(crate) fn format_short(minor: i64) -> String {
    let whole = minor / 100;
    let cents = minor % 100;
    if cents == 0 {
        whole.to_string()
    } else if cents % 10 == 0 {
        format!("{whole}.{}", cents / 10)
    } else {
        format!("{whole}.{cents:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_two_decimals() {
        assert_eq!(parse_exact_two_decimals("1.00"), Some(100));
        assert_eq!(parse_exact_two_decimals("6.50"), Some(650));
        assert_eq!(parse_exact_two_decimals("50.00"), Some(5000));
        for bad in ["1", "1.0", "1.000", "-1.00", "+1.00", "1e2", ".50", "0.00", "a.bc", "1.0a", ""]
        {
            assert_eq!(parse_exact_two_decimals(bad), None, "{bad}");
        }
    }

    #[test]
    fn decimal() {
        assert_eq!(parse_decimal("100"), Some(10000));
        assert_eq!(parse_decimal("79.1"), Some(7910));
        assert_eq!(parse_decimal("79.10"), Some(7910));
        assert_eq!(parse_decimal("79.100"), Some(7910));
        assert_eq!(parse_decimal("0.01"), Some(1));
        for bad in
            ["79.099", "-1", "1e2", "1E2", "", ".", "1.", ".5", "0", "0.00", "\"100\"", "1,00"]
        {
            assert_eq!(parse_decimal(bad), None, "{bad}");
        }
    }

    #[test]
    fn format() {
        for (minor, two, short) in [
            (100, "1.00", "1"),
            (7910, "79.10", "79.1"),
            (1000, "10.00", "10"),
            (1005, "10.05", "10.05"),
        ] {
            assert_eq!(format_two(minor), two);
            assert_eq!(format_short(minor), short);
        }
    }
}
