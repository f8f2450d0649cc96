//! DigiPay's wire format: the only place that knows its field spelling.

use std::time::SystemTime;

use refund_core::{AmountText, Money};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::model::{ChargesInfo, DeviceInfo, Resolved, UserInfo, WalletRefundRequest};

/// The body of `wallet_refund_money`, in the page's order; absent objects are omitted, never
/// `null`.
#[derive(Debug, Serialize)]
pub(crate) struct RefundBody<'a> {
    pub(crate) initial_txn_id: &'a str,
    /// Written from exact minor units (`79.1`, `100`), never through `f64`.
    pub(crate) txn_amount: Box<RawValue>,
    pub(crate) txn_code: &'a str,
    pub(crate) payment_mode: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) note: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) charges_info: Option<ChargesBlock<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) debit_user_info: Option<UserBlock<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) credit_user_info: Option<UserBlock<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) company_admin_user_info: Option<UserBlock<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) txn_device_info: Option<DeviceBlock<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) payment_response: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) card_info: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) meta_data: Option<&'a Value>,
}

impl<'a> RefundBody<'a> {
    /// The body of `request`, with `txn_code` and `payment_mode` after the client's defaults.
    pub(crate) fn new(request: &'a WalletRefundRequest, resolved: &Resolved<'a>) -> Self {
        let fields = &request.fields;
        RefundBody {
            initial_txn_id: request.initial_txn_id.as_str(),
            txn_amount: json_number(request.amount),
            txn_code: resolved.0,
            payment_mode: resolved.1,
            note: fields.note.as_deref(),
            charges_info: fields.charges_info.as_ref().map(Into::into),
            debit_user_info: fields.debit_user_info.as_ref().map(Into::into),
            credit_user_info: fields.credit_user_info.as_ref().map(Into::into),
            company_admin_user_info: fields.company_admin_user_info.as_ref().map(Into::into),
            txn_device_info: fields.txn_device_info.as_ref().map(Into::into),
            payment_response: fields.payment_response.as_ref(),
            card_info: fields.card_info.as_ref(),
            meta_data: fields.meta_data.as_ref(),
        }
    }
}

/// `debit_user_info`, `credit_user_info`, `company_admin_user_info`.
#[derive(Debug, Serialize)]
pub(crate) struct UserBlock<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    currency_id: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wallet_id: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_type: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_type: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a Value>,
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

impl<'a> From<&'a UserInfo> for UserBlock<'a> {
    fn from(user: &'a UserInfo) -> Self {
        UserBlock {
            currency_id: user.currency_id.as_ref(),
            wallet_id: user.wallet_id.as_ref(),
            user_id: user.user_id.as_ref(),
            user_type: user.user_type.as_ref(),
            payment_type: user.payment_type.as_ref(),
            username: user.username.as_ref(),
            extra: &user.extra,
        }
    }
}

/// `txn_device_info`.
#[derive(Debug, Serialize)]
pub(crate) struct DeviceBlock<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    device_id: Option<&'a Value>,
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

impl<'a> From<&'a DeviceInfo> for DeviceBlock<'a> {
    fn from(device: &'a DeviceInfo) -> Self {
        DeviceBlock { device_id: device.device_id.as_ref(), extra: &device.extra }
    }
}

/// `charges_info`: the page does not name the list's key; this SDK sends `charges`.
#[derive(Debug, Serialize)]
pub(crate) struct ChargesBlock<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    total_charges: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "<[Value]>::is_empty")]
    charges: &'a [Value],
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

impl<'a> From<&'a ChargesInfo> for ChargesBlock<'a> {
    fn from(charges: &'a ChargesInfo) -> Self {
        ChargesBlock {
            total_charges: charges.total_charges.map(json_number),
            charges: &charges.charges,
            extra: &charges.extra,
        }
    }
}

/// `{"success": 1, "error": [], "data": {"message", "transaction": {...}}}`. Every field is read
/// leniently: a missing or oddly typed one is `None`, and the decoder decides what that means.
#[derive(Debug, Deserialize)]
pub(crate) struct RefundReply {
    pub(crate) success: Option<Value>,
    pub(crate) error: Option<Value>,
    #[serde(default, deserialize_with = "refund_core::object_or_none")]
    pub(crate) data: Option<ReplyData>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReplyData {
    pub(crate) message: Option<Value>,
    #[serde(default, deserialize_with = "refund_core::object_or_none")]
    pub(crate) transaction: Option<ReplyTransaction>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ReplyTransaction {
    pub(crate) txn_id: Option<Value>,
    pub(crate) txn_number: Option<Value>,
    pub(crate) txn_status: Option<Value>,
    /// Not in the documented reply; read exactly when a deployment echoes it.
    #[serde(default, deserialize_with = "lenient")]
    pub(crate) txn_amount: Option<AmountText>,
}

/// What `success` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Success {
    Yes,
    No,
    Unreadable,
}

impl RefundReply {
    /// Reads an answer. A 4xx that is not JSON is still a definite rejection (the page's own 400
    /// sample has `"error"": [1]` and a trailing comma): it keeps the `message` a scan finds.
    pub(crate) fn read(body: &[u8], status: u16) -> serde_json::Result<RefundReply> {
        serde_json::from_slice(body).or_else(|e| {
            if !(400..=499).contains(&status) {
                return Err(e);
            }
            let message = scan_message(body).map(Value::String);
            let data = Some(ReplyData { message, transaction: None });
            Ok(RefundReply { success: None, error: None, data })
        })
    }

    /// `1`, `true` or `"1"` is success; `0`, `false` or `"0"` is failure. Read in place: this
    /// runs on every reply, and rendering the flag as text to compare it cost an allocation.
    pub(crate) fn success(&self) -> Success {
        match &self.success {
            Some(Value::Bool(true)) => Success::Yes,
            Some(Value::Bool(false)) => Success::No,
            Some(Value::Number(n)) if n.as_u64() == Some(1) => Success::Yes,
            Some(Value::Number(n)) if n.as_u64() == Some(0) => Success::No,
            Some(Value::String(s)) if s.trim() == "1" => Success::Yes,
            Some(Value::String(s)) if s.trim() == "0" => Success::No,
            _ => Success::Unreadable,
        }
    }

    /// The error codes: `[1]` → `["1"]`; `[]`, `null`, `""` or a missing field → none.
    pub(crate) fn error_codes(&self) -> Vec<String> {
        match &self.error {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.iter().filter_map(text_of).collect(),
            Some(other) => text_of(other).into_iter().collect(),
        }
    }

    pub(crate) fn message(&self) -> Option<String> {
        self.data.as_ref()?.message.as_ref().and_then(text_of)
    }

    pub(crate) fn transaction(&self) -> Option<&ReplyTransaction> {
        self.data.as_ref()?.transaction.as_ref()
    }
}

impl ReplyTransaction {
    /// `txn_status` as a number, sent as one or as text (`1`, `"1"`, `" 1 "`), read in place.
    pub(crate) fn txn_status_code(&self) -> Option<i64> {
        match self.txn_status.as_ref()? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

/// The first `"message": "..."` in a body that is not JSON; the string itself is read as JSON.
fn scan_message(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    text.match_indices("\"message\"").find_map(|(at, key)| {
        let value = text[at + key.len()..].trim_start().strip_prefix(':')?.trim_start();
        let mut escaped = false;
        let end = value.strip_prefix('"')?.find(|c| {
            let closing = c == '"' && !escaped;
            escaped = c == '\\' && !escaped;
            closing
        })?;
        serde_json::from_str(&value[..end + 2]).ok()
    })
}

/// A JSON scalar as text (`"a"` → `a`, `12` → `12`); empty strings, null, arrays and objects are
/// `None`, except that objects and arrays with content render as JSON text.
pub(crate) fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned),
        Value::Null => None,
        Value::Array(a) if a.is_empty() => None,
        Value::Object(o) if o.is_empty() => None,
        other => Some(other.to_string()),
    }
}

/// Reads `T`, or `None` when the value has another shape (DigiPay sends `[]` for empty objects on
/// some paths).
fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    // The field's text, borrowed from the body (every reply is parsed from a slice), parsed once:
    // going through a `Value` built the subtree, then a second tree for each nested lenient field.
    let raw: &'de RawValue = Deserialize::deserialize(deserializer)?;
    Ok(serde_json::from_str(raw.get()).ok())
}

/// `{"data": {"access_token", "expiry_time": "2024-01-24 18:18:38"}}`.
#[derive(Deserialize)]
pub(crate) struct TokenReply {
    #[serde(default, deserialize_with = "lenient")]
    pub(crate) data: Option<TokenData>,
}

#[derive(Deserialize)]
pub(crate) struct TokenData {
    pub(crate) access_token: Option<String>,
    pub(crate) expiry_time: Option<String>,
}

/// Reads `expiry_time` as UTC: `YYYY-MM-DD HH:MM:SS` (a `T` instead of the space, fractional
/// seconds and a trailing `Z` are accepted; an offset is not). The page gives no time zone; see
/// the README's "Decisions". humantime's RFC 3339 reader, already in the workspace for the CLI.
pub(crate) fn parse_expiry_time(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(text.trim()).ok()
}

/// An amount as a JSON number written from its exact minor units (`79.1`, `100`), never through
/// `f64`: `serde_json::Number` would round past 15 digits.
fn json_number(money: Money) -> Box<RawValue> {
    // Digits with at most one interior point are always a JSON number; the default (`null`) is
    // never reached.
    RawValue::from_string(money.to_shortest_string()).unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // reason: a panic is how a test fails
mod tests {
    use super::*;
    use refund_core::{Currency, Money};
    use std::time::{Duration, UNIX_EPOCH};

    /// The in-place readings of `success` and `txn_status` say what reading their text did.
    #[test]
    fn flags_read_in_place_agree_with_their_text() {
        let values = [
            "1",
            "0",
            "2",
            "-1",
            "1.0",
            "0.0",
            "-0.0",
            "18446744073709551615",
            "true",
            "false",
            "null",
            r#""1""#,
            r#"" 0 ""#,
            r#""""#,
            r#""x""#,
            r#""-3""#,
            "[1]",
            "[]",
            "{}",
            r#"{"a":1}"#,
        ];
        for json in values {
            let value: Value = serde_json::from_str(json).unwrap();
            let by_text = match (&value, text_of(&value).as_deref()) {
                (Value::Bool(true), _) | (_, Some("1")) => Success::Yes,
                (Value::Bool(false), _) | (_, Some("0")) => Success::No,
                _ => Success::Unreadable,
            };
            let reply = RefundReply { success: Some(value.clone()), error: None, data: None };
            assert_eq!(reply.success(), by_text, "{json}");
            let txn = ReplyTransaction { txn_status: Some(value.clone()), ..Default::default() };
            let parsed = text_of(&value).and_then(|t| t.parse::<i64>().ok());
            assert_eq!(txn.txn_status_code(), parsed, "{json}");
        }
    }

    #[test]
    fn expiry_time_reads_as_utc() {
        let at = parse_expiry_time("2024-01-24 18:18:38").unwrap();
        assert_eq!(at.duration_since(UNIX_EPOCH).unwrap().as_secs(), 1_706_120_318);
        assert_eq!(parse_expiry_time("2024-01-24T18:18:38Z"), Some(at));
        assert_eq!(
            parse_expiry_time("2024-01-24 18:18:38.250"),
            Some(at + Duration::from_millis(250))
        );
        assert_eq!(
            parse_expiry_time("1970-01-01 00:00:00").unwrap().duration_since(UNIX_EPOCH).unwrap(),
            Duration::ZERO
        );
        assert_eq!(
            parse_expiry_time("2024-02-29 00:00:00").unwrap().duration_since(UNIX_EPOCH).unwrap(),
            Duration::from_secs(1_709_164_800)
        );
        for bad in [
            "",
            "2024-01-24",
            "2023-02-29 00:00:00",
            "2024-13-01 00:00:00",
            "2024-01-24 24:00:00",
            "24-01-2024 18:18:38",
            "1706120318",
            "2024-01-24 18:18:38+05:30",
        ] {
            assert_eq!(parse_expiry_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn body_writes_exact_numbers_in_page_order() {
        let amount = Money::parse("79.10", Currency::Inr).unwrap();
        let request =
            WalletRefundRequest::builder("bcdc", amount).note("Refund Money").build().unwrap();
        let body = RefundBody::new(&request, &("MR / CR", 2));
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"initial_txn_id":"bcdc","txn_amount":79.1,"txn_code":"MR / CR","payment_mode":2,"note":"Refund Money"}"#
        );
    }

    /// Whatever the text needs escaped and whichever optional objects are set, the body reads
    /// back as given, and the amount is its exact shortest decimal, never through `f64`.
    #[test]
    fn body_reads_back_exactly() {
        let texts = [
            "",
            "bcdc063cf4844eea82e1c0e68a2360e8",
            "MR / CR",
            "a\"b",
            "back\\slash",
            "tab\tnew\n",
            "\u{0}\u{1f}",
            "\u{7f}",
            "₹ रिफंड",
            "emoji 🎉",
            "</script>",
        ];
        let user = UserInfo::new().user_id("u-1").username("a\"sha").extra("n", 7);
        let device = DeviceInfo::new().device_id("pos-7");
        let charges = ChargesInfo::new()
            .total_charges(Money::parse("2.50", Currency::Inr).unwrap())
            .charge(serde_json::json!({"fee": 1.5}));
        let meta = serde_json::json!({"k": [1, "two", null], "\"q": {}});
        for (i, text) in texts.iter().enumerate() {
            for amount in ["0.01", "79.10", "100", "90071992547409.91"] {
                let full = i % 2 == 0;
                let money = Money::parse(amount, Currency::Inr).unwrap();
                let body = RefundBody {
                    initial_txn_id: text,
                    txn_amount: json_number(money),
                    txn_code: texts[(i + 3) % texts.len()],
                    payment_mode: [0, 2, u32::MAX][i % 3],
                    note: (i % 3 != 1).then_some(texts[(i + 5) % texts.len()]),
                    charges_info: full.then(|| (&charges).into()),
                    debit_user_info: full.then(|| (&user).into()),
                    credit_user_info: (i % 3 == 0).then(|| (&user).into()),
                    company_admin_user_info: full.then(|| (&user).into()),
                    txn_device_info: (!full).then(|| (&device).into()),
                    payment_response: full.then_some(&meta),
                    card_info: (!full).then_some(&meta),
                    meta_data: full.then_some(&meta),
                };
                let written = serde_json::to_string(&body).unwrap();
                let number = format!(r#""txn_amount":{},"#, money.to_shortest_string());
                assert!(written.contains(&number), "{written}");
                let back: Value = serde_json::from_str(&written).unwrap();
                assert_eq!(back["initial_txn_id"], *text, "{written}");
                assert_eq!(back["txn_code"], texts[(i + 3) % texts.len()]);
                assert_eq!(back.get("debit_user_info").is_some(), full);
                assert_eq!(back.get("txn_device_info").is_some(), !full);
                if full {
                    assert_eq!(
                        back["debit_user_info"],
                        serde_json::json!({"user_id": "u-1", "username": "a\"sha", "n": 7})
                    );
                    assert_eq!(
                        back["charges_info"],
                        serde_json::json!({"total_charges": 2.5, "charges": [{"fee": 1.5}]})
                    );
                    assert_eq!(back["meta_data"], meta);
                }
            }
        }
    }

    #[test]
    fn a_message_is_found_in_a_body_that_is_not_json() {
        let page = include_str!("../tests/fixtures/refund_bad_request_page.txt");
        assert_eq!(scan_message(page.as_bytes()).as_deref(), Some("BAD_REQUEST"));
        let odd = br#"{"message": 1, "data": {"message" :"say \"no\"\u0021", }"#;
        assert_eq!(scan_message(odd).as_deref(), Some("say \"no\"!"));
        for none in [&b"<html>"[..], br#""message":"#, br#""message": "open"#] {
            assert_eq!(scan_message(none), None);
        }
        // The documented malformed 400 is not JSON.
        assert!(serde_json::from_str::<RefundReply>(page).is_err());
    }

    #[test]
    fn documented_success_reply() {
        let reply: RefundReply =
            serde_json::from_str(include_str!("../tests/fixtures/refund_success.json")).unwrap();
        assert_eq!(reply.success(), Success::Yes);
        assert!(reply.error_codes().is_empty());
        assert_eq!(reply.message().as_deref(), Some("Money successfully refunded"));
        let txn = reply.transaction().unwrap();
        assert_eq!(txn.txn_status_code(), Some(1));
        assert_eq!(
            text_of(txn.txn_id.as_ref().unwrap()).unwrap(),
            "bcdc063cf4844eea82e1c0e68a2360e8"
        );
    }

    #[test]
    fn lenient_shapes() {
        let reply: RefundReply =
            serde_json::from_str(r#"{"success":"0","error":["E12", 3],"data":[]}"#).unwrap();
        assert_eq!(reply.success(), Success::No);
        assert_eq!(reply.error_codes(), ["E12", "3"]);
        assert!(reply.message().is_none());
        let reply: RefundReply =
            serde_json::from_str(r#"{"success":true,"error":null,"data":{"transaction":{"txn_id":42,"txn_status":"3"}}}"#)
                .unwrap();
        assert_eq!(reply.success(), Success::Yes);
        assert!(reply.error_codes().is_empty());
        assert_eq!(reply.transaction().unwrap().txn_status_code(), Some(3));
        let reply: RefundReply = serde_json::from_str(r#"{"success":"yes"}"#).unwrap();
        assert_eq!(reply.success(), Success::Unreadable);
    }

    #[test]
    fn data_and_transaction_read_in_one_pass_whatever_their_shape() {
        let read = |text: &str| serde_json::from_str::<RefundReply>(text).unwrap();
        let reply = read(r#"{"success":1,"data":{"message":"m","transaction":"x"}}"#);
        assert_eq!(reply.message().as_deref(), Some("m"));
        assert!(reply.transaction().is_none());
        for data in ["[1, {\"a\": 2}, [3]]", "null", "\"\"", "0", "-1", "1.5", "true", "{}"] {
            let reply = read(&format!(r#"{{"success":1,"data":{data},"error":[]}}"#));
            assert!(reply.transaction().is_none(), "{data}");
            assert_eq!(reply.success(), Success::Yes, "{data}");
        }
        // Unknown and oddly typed fields inside the objects change nothing else.
        let reply = read(
            r#"{"data":{"extra":{"deep":[1,2]},"transaction":{"txn_id":"T","txn_amount":true,"x":null}},"success":"1"}"#,
        );
        let txn = reply.transaction().unwrap();
        assert_eq!(text_of(txn.txn_id.as_ref().unwrap()).as_deref(), Some("T"));
        assert!(txn.txn_amount.is_none());
        assert_eq!(reply.success(), Success::Yes);
        let reply = read(r#"{"success":1,"data":{"transaction":{"txn_amount":"79.10"}}}"#);
        assert_eq!(reply.transaction().unwrap().txn_amount.as_ref().unwrap().as_str(), "79.10");
        // Not JSON is still not JSON.
        assert!(
            serde_json::from_str::<RefundReply>(r#"{"success":1,"data":{"transaction":}"#).is_err()
        );
    }
}
