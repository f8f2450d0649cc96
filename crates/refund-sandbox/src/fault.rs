//! Routes, providers and the faults that can be injected per route.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One provider endpoint of the sandbox; the unit of fault injection and request counting.
///
/// Its text form is the route key used by `POST /_sandbox/faults` and `GET /_sandbox/requests`.
///
/// ```
/// use refund_sandbox::Route;
/// assert_eq!(Route::AocRefund.as_str(), "aoc.refund");
/// assert_eq!("eko.send_otp".parse::<Route>(), Ok(Route::EkoSendOtp));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Route {
    /// `POST /aoc/api/refund`.
    #[serde(rename = "aoc.refund")]
    AocRefund,
    /// `POST /aoc/api/refundStatus`.
    #[serde(rename = "aoc.refund_status")]
    AocRefundStatus,
    /// `POST /bos/api/BOS/RefundOTP`.
    #[serde(rename = "bos.refund_otp")]
    BosRefundOtp,
    /// `POST /bos/api/BOS/ClaimRefund`.
    #[serde(rename = "bos.claim_refund")]
    BosClaimRefund,
    /// `POST /bos/api/BOS/TransactStatus`.
    #[serde(rename = "bos.status")]
    BosStatus,
    /// `POST /bos/api/BOS/V4/DynamicQRCode`.
    #[serde(rename = "bos.qr")]
    BosQr,
    /// `POST /digipay/digipay/v3/transaction/wallet_refund_money`.
    #[serde(rename = "digipay.refund")]
    DigipayRefund,
    /// `POST /digipay/digipay/v3/auth/authenticate`.
    #[serde(rename = "digipay.authenticate")]
    DigipayAuthenticate,
    /// `POST /eko/v3/customer/payment/refund/{tid}/otp`.
    #[serde(rename = "eko.send_otp")]
    EkoSendOtp,
    /// `POST /eko/v3/customer/payment/refund/{tid}`.
    #[serde(rename = "eko.refund")]
    EkoRefund,
    /// `GET /eko/v3/tools/reference/transaction/{tid}`.
    #[serde(rename = "eko.transaction")]
    EkoTransaction,
}

impl Route {
    /// Every route, in a stable order.
    ///
    /// ```
    /// assert_eq!(refund_sandbox::Route::ALL.len(), 11);
    /// ```
    pub const ALL: [Route; 11] = [
        Route::AocRefund,
        Route::AocRefundStatus,
        Route::BosRefundOtp,
        Route::BosClaimRefund,
        Route::BosStatus,
        Route::BosQr,
        Route::DigipayRefund,
        Route::DigipayAuthenticate,
        Route::EkoSendOtp,
        Route::EkoRefund,
        Route::EkoTransaction,
    ];

    /// The route key, e.g. `"bos.claim_refund"`.
    ///
    /// ```
    /// assert_eq!(refund_sandbox::Route::BosQr.as_str(), "bos.qr");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Route::AocRefund => "aoc.refund",
            Route::AocRefundStatus => "aoc.refund_status",
            Route::BosRefundOtp => "bos.refund_otp",
            Route::BosClaimRefund => "bos.claim_refund",
            Route::BosStatus => "bos.status",
            Route::BosQr => "bos.qr",
            Route::DigipayRefund => "digipay.refund",
            Route::DigipayAuthenticate => "digipay.authenticate",
            Route::EkoSendOtp => "eko.send_otp",
            Route::EkoRefund => "eko.refund",
            Route::EkoTransaction => "eko.transaction",
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not a known route key.
///
/// ```
/// assert!("aoc.nope".parse::<refund_sandbox::Route>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRoute(pub String);

impl fmt::Display for UnknownRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown sandbox route `{}`", self.0)
    }
}

impl std::error::Error for UnknownRoute {}

impl FromStr for Route {
    type Err = UnknownRoute;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Route::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| UnknownRoute(s.to_owned()))
    }
}

/// A simulated provider.
///
/// ```
/// use refund_sandbox::Provider;
/// assert_eq!("bos".parse::<Provider>(), Ok(Provider::Bos));
/// assert_eq!("otp".parse::<Provider>(), Ok(Provider::Eko));
/// assert_eq!(serde_json::to_value(Provider::Digipay).unwrap(), "digipay");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Provider {
    /// BoostConnect AOC.
    Aoc,
    /// BOS Center.
    Bos,
    /// DigiPay.
    Digipay,
    /// Eko (the `otp-refund` provider).
    Eko,
}

impl Provider {
    /// Lower-case name used in sandbox URLs (`aoc`, `bos`, `digipay`, `eko`).
    ///
    /// ```
    /// assert_eq!(refund_sandbox::Provider::Eko.as_str(), "eko");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Aoc => "aoc",
            Provider::Bos => "bos",
            Provider::Digipay => "digipay",
            Provider::Eko => "eko",
        }
    }

    /// The currency of the provider's books: AOC's seeded charges are in MYR, the others in INR.
    pub(crate) fn currency(self) -> &'static str {
        match self {
            Provider::Aoc => crate::seed::AOC_CURRENCY,
            Provider::Bos | Provider::Digipay | Provider::Eko => "INR",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provider {
    type Err = UnknownRoute;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "aoc" => Ok(Provider::Aoc),
            "bos" => Ok(Provider::Bos),
            "digipay" => Ok(Provider::Digipay),
            "eko" | "otp" | "otp-refund" => Ok(Provider::Eko),
            _ => Err(UnknownRoute(s.to_owned())),
        }
    }
}

/// What goes wrong on a route. JSON form (for `POST /_sandbox/faults`): `{"kind": "service_unavailable"}`,
/// `{"kind": "latency", "ms": 200}`, `{"kind": "commit_then_timeout", "ms": null}` and so on.
///
/// Faults marked *before* leave the books untouched; faults marked *after* apply the operation to the
/// books first (the money moved) and then spoil the answer.
///
/// ```
/// use refund_sandbox::Fault;
/// let f: Fault = serde_json::from_str(r#"{"kind":"too_many_requests","retry_after_secs":3}"#).unwrap();
/// assert_eq!(f, Fault::TooManyRequests { retry_after_secs: 3 });
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Fault {
    /// Delay the request by `ms` milliseconds, then handle it normally.
    Latency {
        /// Delay in milliseconds.
        ms: u64,
    },
    /// *Before*: HTTP 429 with `Retry-After: retry_after_secs`.
    TooManyRequests {
        /// Value of the `Retry-After` header, in seconds.
        retry_after_secs: u64,
    },
    /// *Before*: HTTP 503 with `Retry-After: 1`.
    ServiceUnavailable,
    /// *Before*: HTTP 500 with a short JSON body.
    InternalError,
    /// *Before*: HTTP 502 with an HTML body, as a load balancer sends.
    BadGatewayHtml,
    /// *Before*: wait `ms` milliseconds (`null`: forever) without touching the books, then answer 504.
    TimeoutBeforeActing {
        /// Delay in milliseconds; `None` never answers.
        ms: Option<u64>,
    },
    /// *After*: apply the operation, then delay the real answer by `ms` milliseconds (`null`: forever).
    CommitThenTimeout {
        /// Delay in milliseconds; `None` never answers.
        ms: Option<u64>,
    },
    /// *After*: send the status, headers and the first part of the real body, then abort the connection.
    DropMidResponse,
    /// *After*: answer 200 with a truncated, unparseable JSON body.
    MalformedBody,
    /// *After*: answer 200 with a body of `bytes` bytes (a JSON object with one huge string).
    OversizedBody {
        /// Body size in bytes (2 MiB is 2097152).
        bytes: usize,
    },
    /// *After*: send the real body `chunk_bytes` at a time with `delay_ms` between chunks.
    Trickle {
        /// Bytes per chunk (at least 1).
        chunk_bytes: usize,
        /// Pause between chunks in milliseconds.
        delay_ms: u64,
    },
}

/// When a fault fires.
///
/// JSON form: `{"next": 2}`, `{"rate": 0.25}` or `"always"`.
///
/// ```
/// use refund_sandbox::Trigger;
/// let t: Trigger = serde_json::from_str(r#"{"next":2}"#).unwrap();
/// assert_eq!(t, Trigger::Next(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Trigger {
    /// The next `n` requests on the route (deterministic), then the fault clears itself.
    Next(u64),
    /// Each request with this probability in `[0, 1]`, drawn from the sandbox's seeded generator.
    Rate(f64),
    /// Every request until cleared.
    Always,
}

/// A fault and when it fires.
///
/// ```
/// use refund_sandbox::{Fault, FaultSpec, Trigger};
/// let spec = FaultSpec::next(1, Fault::ServiceUnavailable);
/// assert_eq!(spec.trigger, Trigger::Next(1));
/// let spec = FaultSpec::rate(0.1, Fault::InternalError);
/// assert_eq!(spec.trigger, Trigger::Rate(0.1));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    /// What goes wrong.
    pub fault: Fault,
    /// When it goes wrong.
    pub trigger: Trigger,
}

impl FaultSpec {
    /// The fault fires on the next `n` requests.
    ///
    /// ```
    /// # use refund_sandbox::{Fault, FaultSpec};
    /// let _ = FaultSpec::next(3, Fault::MalformedBody);
    /// ```
    pub fn next(n: u64, fault: Fault) -> Self {
        FaultSpec { fault, trigger: Trigger::Next(n) }
    }

    /// The fault fires with probability `rate` (clamped to `[0, 1]`).
    ///
    /// ```
    /// # use refund_sandbox::{Fault, FaultSpec};
    /// let _ = FaultSpec::rate(0.5, Fault::ServiceUnavailable);
    /// ```
    pub fn rate(rate: f64, fault: Fault) -> Self {
        FaultSpec { fault, trigger: Trigger::Rate(rate.clamp(0.0, 1.0)) }
    }

    /// The fault fires on every request until cleared.
    ///
    /// ```
    /// # use refund_sandbox::{Fault, FaultSpec};
    /// let _ = FaultSpec::always(Fault::Latency { ms: 50 });
    /// ```
    pub fn always(fault: Fault) -> Self {
        FaultSpec { fault, trigger: Trigger::Always }
    }
}
