//! Wall-clock helpers: Unix time and civil date formatting without a date crate.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// (year, month, day, hour, minute, second) of a Unix time in seconds, shifted by `offset_secs`.
fn civil(unix_secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = unix_secs.div_euclid(86_400);
    let rem = unix_secs.rem_euclid(86_400);
    // Howard Hinnant's days-from-civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `YYYY-MM-DD HH:MM:SS` in UTC (DigiPay's `expiry_time`).
pub(crate) fn utc_plain(unix_secs: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix_secs);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

/// RFC 3339 with milliseconds in UTC (`2018-10-30T12:00:14.058Z`, Eko's `timestamp`).
pub(crate) fn utc_rfc3339_ms(unix_ms: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix_ms.div_euclid(1000));
    let ms = unix_ms.rem_euclid(1000);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
}

/// RFC 3339 in India time (`2024-07-28T23:31:16+05:30`, BOS's QR timestamps).
pub(crate) fn ist_rfc3339(unix_secs: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix_secs + 19_800);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}+05:30")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(utc_plain(1_706_120_318), "2024-01-24 18:18:38");
        assert_eq!(utc_rfc3339_ms(1_540_900_814_058), "2018-10-30T12:00:14.058Z");
        assert_eq!(ist_rfc3339(1_722_189_676), "2024-07-28T23:31:16+05:30");
        assert_eq!(utc_plain(951_782_400), "2000-02-29 00:00:00");
    }
}
