//! The one catalogue of malformed input. The library's suite (`refund/tests/bad_input`) and the
//! command's (`refund-cli/tests/hardening/bad_input.rs`) both iterate it, so they cannot drift
//! apart: a value added here is tried at every entry point of both.
//!
//! Each list is grouped by what is wrong with its values, a group a line. Values that the
//! operating system cannot put on a command line (a NUL byte) are in the lists too; the command's
//! suite leaves them out with [`fits_a_command_line`].

/// Amounts a person might type that are not a positive plain decimal with at most two places.
pub fn amounts() -> Vec<String> {
    const GROUPS: &[&[&str]] = &[
        // Blank, signed, zero.
        &["", " ", "-1", "+1", "-0.01", "--1", "1-", "0", "0.00", "00.00"],
        // Too many decimals; exponents and hexadecimal.
        &["0.001", "1.005", "10.999", "1e3", "1E3", "1e-2", "1.0e2", "0x10"],
        // Misplaced points and digit grouping.
        &["1.2.3", "..", ".", ".5", "5.", "1..0", "1,000", "1,000.00", "1_000", "1 000", "1'000"],
        // Surrounding whitespace and control characters.
        &[" 1", "1 ", "\t1", "1\n", "1\0"],
        // Not numbers.
        &["NaN", "nan", "inf", "-inf", "Infinity", "12a", "1/2", "½"],
        // Digits other than ASCII, and a decimal separator other than the point.
        &["١٢", "１", "１.00", "٣.٠٠", "߁", "1٫00"],
        // Currency symbols and codes.
        &["$1", "₹1", "1 INR", "RM1"],
        // Past u64, and past the largest amount every provider takes exactly (2^53 minor units).
        &["99999999999999999999999", "18446744073709551616", "184467440737095516.16"],
        &["90071992547409.92", "9007199254740992"],
    ];
    let mut v = flatten(GROUPS);
    v.push("9".repeat(400));
    v.push(format!("1.{}", "0".repeat(300)));
    v
}

/// Identifiers (transaction ids, references) that are empty, too long, not printable ASCII, or that
/// try to escape a URL path.
pub fn ids() -> Vec<String> {
    const GROUPS: &[&[&str]] = &[
        // Blank, or with whitespace inside or around.
        &["", " ", "\t", "a b", " a", "a ", "a\tb", "a\nb", "a\r\nb"],
        // Control characters: NUL, DEL, an ANSI escape.
        &["\0", "a\0b", "a\u{7f}b", "a\u{1b}[31mb"],
        // Not ASCII, some of it invisible.
        &["é", "идент", "交易", "💸", "ＡＢＣ"],
        &["a\u{00a0}b", "a\u{200b}b", "\u{feff}abc", "a\u{2028}b"],
        // Path segments and separators.
        &["..", ".", "../x", "a/b", "/", "1/otp", "a\\b", "..\\x"],
        // URL syntax and percent-encoding.
        &["1?x=1", "1#x", "%2e%2e", "%2E%2E%2Fx", "..%2f..%2fetc", "%00", "a%0d%0ab"],
    ];
    let mut v = flatten(GROUPS);
    v.push("x".repeat(65));
    v.push("x".repeat(10_000));
    v
}

/// Numeric identifiers (Eko's tid, BOS's referenceid and ackno): anything but plain digits, leading
/// zeros (which would name a different number once parsed) and overflow.
pub fn numbers() -> Vec<String> {
    const GROUPS: &[&[&str]] = &[
        // Blank or not digits.
        &["", " ", "abc", "12a", "a12", "½", "١٢٣", "１２３"],
        // Signs, points, exponents, hexadecimal, grouping.
        &["-1", "+1", "1.0", "1e5", "0x1F", "1_000", "1,000", "1 2"],
        // Surrounding whitespace and control characters.
        &[" 1", "1 ", "1\n", "1\0", "\t1"],
        // Path and URL syntax.
        &["../x", "..", ".", "1/otp", "1?x=1", "1#x", "%2e%2e", "1%2F2", "1\\2"],
        // Leading zeros.
        &["00", "01", "0013192443", "012345678931"],
    ];
    let mut v = flatten(GROUPS);
    v.push("1".repeat(21));
    v.push("9".repeat(200));
    v
}

/// OTPs that are not 4 to 8 ASCII digits.
pub fn otps() -> Vec<String> {
    flatten(&[
        // Too short or too long.
        &["", " ", "1", "12", "123", "123456789", "1234567890123"],
        // Letters and symbols.
        &["abcdef", "12a456", "12345a", "a12345", "0x1234", "******", "1e5678"],
        // Whitespace and control characters, inside or around.
        &["12 456", " 123456", "123456 ", "123456\n", "\t123456", "123456\0", "12\u{200b}3456"],
        // Signs and points; digits other than ASCII.
        &["12-456", "-12345", "+12345", "1234.5", "١٢٣٤٥٦", "１２３４５６"],
        // Path and URL syntax.
        &["../123", "1/2345", "%31%32%33%34"],
    ])
}

/// Valid OTPs that BOS and Eko cannot take: both send the OTP as a JSON number, which would drop
/// the leading zero.
pub const LEADING_ZERO_OTPS: [&str; 3] = ["0123", "012345", "00000000"];

/// Base URLs that are not `https` (or `http` to loopback), that carry credentials, a query or a
/// fragment, or that are not URLs at all.
pub fn base_urls() -> Vec<String> {
    flatten(&[
        // Not absolute URLs.
        &["x", "x.example", "aoc.example.com/api", "//x.example", "/relative/path"],
        // No host, or a host or port that cannot be.
        &["https://", "http://", "https:///path", "https://exa mple.com", "https://[::1"],
        &["https://x.example:99999", "https://x.example:port", "http://256.256.256.256"],
        // Other schemes.
        &["ftp://x", "ftp://x.example/refund", "file:///etc/passwd", "gopher://x.example"],
        &["ws://localhost:1", "wss://x.example", "javascript:alert(1)", "mailto:ops@x.example"],
        &["data:text/plain,x"],
        // Plain http to a host that is not loopback (some only look like it).
        &["http://example.com", "HTTP://EXAMPLE.COM", "http://10.0.0.5", "http://192.168.1.1:8080"],
        &["http://169.254.169.254/latest", "http://0.0.0.0:8080", "http://[fe80::1]"],
        &["http://localhost.evil.example", "http://127.0.0.1.nip.io"],
        &["http://127.0.0.1@evil.example"],
        // Credentials.
        &["https://user:pass@x.example", "https://user@x.example", "https://:pass@x.example"],
        &["http://u:p@127.0.0.1:1"],
        // A query or a fragment.
        &["https://x.example?a=1", "https://x.example/path?", "https://x.example/#frag"],
        &["https://x.example#", "https://x.example/api?apiKey=k"],
        // Control characters.
        &["https://aoc.exa\tmple.com", "https://aoc.example.com\n/api"],
        &["https://aoc.example\r.com"],
    ])
}

/// Eko's `otp_ref_id`s, for a limit of `max_len` characters.
pub fn otp_ref_ids(max_len: usize) -> Vec<String> {
    let mut v = flatten(&[&["", " ", "ref 1", "ref\n1", "ref\0x", "réf", "参照", "\u{7f}"]]);
    v.push("r".repeat(max_len + 1));
    v
}

/// DigiPay's `txn_code`s, for a limit of `max_len` characters.
pub fn txn_codes(max_len: usize) -> Vec<String> {
    let mut v = flatten(&[&["", " ", "\t", "RE\nFUND", "RE\0FUND", "RE\u{1b}FUND", "\u{7f}"]]);
    v.push("C".repeat(max_len + 1));
    v
}

/// DigiPay's notes, for a limit of `max_len` characters.
pub fn notes(max_len: usize) -> Vec<String> {
    vec!["n".repeat(max_len + 1)]
}

/// DigiPay's `payment_mode` as text (the library takes a number; the command parses one).
pub fn payment_modes() -> Vec<String> {
    flatten(&[&["", "abc", "-1", "1.5", "4294967296", "1e3", "１"]])
}

/// Timeouts in seconds as text (the command's global `--timeout`).
pub fn timeouts() -> Vec<String> {
    flatten(&[&["", "abc", "0", "-1", "NaN", "inf", "1e400", "1s", "1e19", "1e300", "86401"]])
}

/// Whole-request timeouts a client builder must refuse with a typed error naming `timeout`:
/// zero, and those too large to add to the clock (`Instant + timeout` would overflow).
pub fn timeout_durations() -> Vec<std::time::Duration> {
    use std::time::Duration;
    vec![
        Duration::ZERO,
        Duration::MAX,
        Duration::from_secs(u64::MAX),
        Duration::from_secs(10u64.pow(19)),
    ]
}

/// False for a value no process can be given as an argument or an environment variable (it holds a
/// NUL byte): the command's suite skips those, the library's tries every value.
pub fn fits_a_command_line(value: &str) -> bool {
    !value.contains('\0')
}

fn flatten(groups: &[&[&str]]) -> Vec<String> {
    groups.iter().flat_map(|group| group.iter().map(|s| (*s).to_owned())).collect()
}
