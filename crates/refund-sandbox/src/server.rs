//! The axum router: provider routes wrapped in fault injection, and the `/_sandbox` control routes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use crate::fault::{Fault, Provider, Route, Trigger};
use crate::original::{self, OriginalTransaction, TransactionError};
use crate::state::{Answer, Config, Reply, State};
use crate::{aoc, bos, digipay, eko};

/// State shared by every request.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    state: Mutex<State>,
}

pub(crate) type App = Arc<Shared>;

impl Shared {
    /// `Err` when one of the builder's original transactions cannot be added.
    pub(crate) fn new(mut config: Config) -> Result<App, TransactionError> {
        // The state keeps the added transactions (a reset needs them); the config need not hold a
        // copy.
        let originals = std::mem::take(&mut config.originals);
        let state = Mutex::new(State::new(&config, originals)?);
        Ok(Arc::new(Shared { config, state }))
    }

    /// The books stay consistent even if a handler panicked: every update is one short critical section.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn reset(&self) {
        self.lock().reset(&self.config);
    }

    pub(crate) fn add_transaction(&self, tx: OriginalTransaction) -> Result<(), TransactionError> {
        self.lock().add_original(tx)
    }

    /// The current OTP (text, reference id) of a BOS `referenceid` or an Eko `tid`.
    pub(crate) fn otp(&self, provider: Provider, id: &str) -> Option<(String, String)> {
        let st = self.lock();
        let otp = match provider {
            Provider::Bos => st.bos.get(&id.parse::<u64>().ok()?)?.otp.as_ref(),
            Provider::Eko => st.eko.get(id)?.otp.as_ref(),
            _ => None,
        }?;
        Some((otp.text(), otp.ref_id.clone()))
    }

    /// Makes the current OTP expire now; false when there is none.
    pub(crate) fn expire_otp(&self, provider: Provider, id: &str) -> bool {
        let mut st = self.lock();
        let otp = match provider {
            Provider::Bos => {
                id.parse::<u64>().ok().and_then(|n| st.bos.get_mut(&n)).and_then(|t| t.otp.as_mut())
            }
            Provider::Eko => st.eko.get_mut(id).and_then(|t| t.otp.as_mut()),
            _ => None,
        };
        match otp {
            Some(o) => {
                o.expires = Instant::now();
                true
            }
            None => false,
        }
    }
}

async fn wait(ms: Option<u64>) {
    match ms {
        Some(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
        None => std::future::pending::<()>().await,
    }
}

fn into_response(reply: Reply, body: Body) -> Response {
    let mut resp = Response::new(body);
    *resp.status_mut() = reply.status;
    for (k, v) in reply.headers {
        resp.headers_mut().append(k, v);
    }
    resp
}

fn plain(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// Runs one provider operation under the route's fault, if one fires.
async fn run(app: App, route: Route, op: impl FnOnce(&mut State, &Config) -> Answer) -> Response {
    let fault = app.lock().on_request(route);
    if let Some(f) = &fault {
        tracing::info!(route = %route, fault = ?f, "sandbox fault fires");
    }
    match fault {
        Some(Fault::Latency { ms }) => tokio::time::sleep(Duration::from_millis(ms)).await,
        Some(Fault::TooManyRequests { retry_after_secs }) => {
            let mut r = plain(
                StatusCode::TOO_MANY_REQUESTS,
                "application/json",
                json!({"message": "Too Many Requests"}).to_string(),
            );
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            return r;
        }
        Some(Fault::ServiceUnavailable) => {
            let mut r = plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "application/json",
                json!({"message": "Service Unavailable"}).to_string(),
            );
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return r;
        }
        Some(Fault::InternalError) => {
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "application/json",
                json!({"message": "Internal Server Error"}).to_string(),
            );
        }
        Some(Fault::BadGatewayHtml) => {
            return plain(
                StatusCode::BAD_GATEWAY,
                "text/html",
                "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n".to_owned(),
            );
        }
        Some(Fault::TimeoutBeforeActing { ms }) => {
            wait(ms).await;
            return plain(
                StatusCode::GATEWAY_TIMEOUT,
                "text/html",
                "<html><body><h1>504 Gateway Time-out</h1></body></html>\n".to_owned(),
            );
        }
        _ => {}
    }
    let reply = {
        let mut st = app.lock();
        op(&mut st, &app.config).unwrap_or_else(|refusal| refusal)
    };
    match fault {
        Some(Fault::CommitThenTimeout { ms }) => {
            wait(ms).await;
            let body = Body::from(reply.body.clone());
            into_response(reply, body)
        }
        Some(Fault::DropMidResponse) => {
            let half = Bytes::from(reply.body[..reply.body.len() / 2].to_vec());
            let stream = futures_util::stream::unfold(0u8, move |step| {
                let half = half.clone();
                async move {
                    match step {
                        0 => Some((Ok(half), 1)),
                        1 => {
                            tokio::time::sleep(Duration::from_millis(30)).await;
                            Some((
                                Err(std::io::Error::other(
                                    "sandbox: connection dropped mid-response",
                                )),
                                2,
                            ))
                        }
                        _ => None,
                    }
                }
            });
            let mut reply = reply;
            reply.headers.retain(|(k, _)| k != header::CONTENT_LENGTH);
            into_response(reply, Body::from_stream(stream))
        }
        Some(Fault::MalformedBody) => {
            let cut = (reply.body.len() / 2).max(1).min(reply.body.len());
            let mut body = reply.body[..cut].to_vec();
            body.extend_from_slice(b"<!-- truncated");
            let mut reply = reply;
            reply.status = StatusCode::OK;
            into_response(reply, Body::from(body))
        }
        Some(Fault::OversizedBody { bytes }) => {
            // `{"padding":""}` is 14 bytes: the body is exactly `bytes` long.
            let pad = bytes.saturating_sub(14).max(1);
            let body = format!("{{\"padding\":\"{}\"}}", "x".repeat(pad));
            let mut reply = reply;
            reply.status = StatusCode::OK;
            into_response(reply, Body::from(body))
        }
        Some(Fault::Trickle { chunk_bytes, delay_ms }) => {
            let chunks: Vec<Bytes> =
                reply.body.chunks(chunk_bytes.max(1)).map(|c| Bytes::from(c.to_vec())).collect();
            let stream = futures_util::stream::unfold(0usize, move |i| {
                let next = chunks.get(i).cloned();
                async move {
                    let chunk = next?;
                    if i > 0 {
                        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                    }
                    Some((Ok::<_, std::io::Error>(chunk), i + 1))
                }
            });
            into_response(reply, Body::from_stream(stream))
        }
        _ => {
            let body = Body::from(reply.body.clone());
            into_response(reply, body)
        }
    }
}

macro_rules! handler {
    ($name:ident, $route:expr, |$st:ident, $cfg:ident, $h:ident, $b:ident| $call:expr) => {
        async fn $name(AxState(app): AxState<App>, $h: HeaderMap, $b: Bytes) -> Response {
            run(app, $route, move |$st, $cfg| {
                let _ = &$cfg;
                $call
            })
            .await
        }
    };
    // A route with the transfer id in its path.
    ($name:ident, $route:expr, |$st:ident, $cfg:ident, $h:ident, $id:ident, $b:ident| $call:expr) => {
        async fn $name(
            AxState(app): AxState<App>,
            Path($id): Path<String>,
            $h: HeaderMap,
            $b: Bytes,
        ) -> Response {
            run(app, $route, move |$st, $cfg| $call).await
        }
    };
}

handler!(aoc_refund, Route::AocRefund, |st, cfg, h, b| aoc::refund(st, &h, &b));
handler!(aoc_refund_status, Route::AocRefundStatus, |st, cfg, h, b| aoc::refund_status(st, &h, &b));
handler!(bos_refund_otp, Route::BosRefundOtp, |st, cfg, h, b| bos::refund_otp(st, cfg, &h, &b));
handler!(bos_claim, Route::BosClaimRefund, |st, cfg, h, b| bos::claim_refund(st, cfg, &h, &b));
handler!(bos_status, Route::BosStatus, |st, cfg, h, b| bos::status(st, cfg, &h, &b));
handler!(bos_qr, Route::BosQr, |st, cfg, h, b| bos::qr(st, cfg, &h, &b));
handler!(digipay_refund, Route::DigipayRefund, |st, cfg, h, b| digipay::refund(st, &h, &b));
handler!(digipay_auth, Route::DigipayAuthenticate, |st, cfg, h, b| {
    let _ = &b;
    digipay::authenticate(st, &h)
});

handler!(eko_send_otp, Route::EkoSendOtp, |st, cfg, h, tid, b| {
    eko::send_otp(st, cfg, &tid, &eko::signed_json_object(cfg, &h, &b)?)
});
handler!(eko_refund, Route::EkoRefund, |st, cfg, h, tid, b| {
    eko::refund(st, &tid, &eko::signed_json_object(cfg, &h, &b)?)
});

async fn eko_transaction(
    AxState(app): AxState<App>,
    Path(tid): Path<String>,
    RawQuery(q): RawQuery,
    h: HeaderMap,
) -> Response {
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(q.unwrap_or_default().as_bytes()).into_owned().collect();
    run(app, Route::EkoTransaction, move |st, cfg| eko::transaction(st, cfg, &h, &tid, &query))
        .await
}

fn control_json(status: StatusCode, v: &serde_json::Value) -> Response {
    plain(status, "application/json", v.to_string())
}

async fn ctl_otp(
    AxState(app): AxState<App>,
    Path((provider, id)): Path<(String, String)>,
) -> Response {
    let Ok(p) = provider.parse::<Provider>() else {
        return control_json(StatusCode::NOT_FOUND, &json!({"error": "unknown provider"}));
    };
    match app.otp(p, &id) {
        Some((otp, ref_id)) => control_json(
            StatusCode::OK,
            &json!({"provider": p.as_str(), "id": id, "otp": otp, "otp_ref_id": ref_id}),
        ),
        None => control_json(StatusCode::NOT_FOUND, &json!({"error": "no OTP issued for this id"})),
    }
}

async fn ctl_expire_otp(
    AxState(app): AxState<App>,
    Path((provider, id)): Path<(String, String)>,
) -> Response {
    let expired = provider.parse::<Provider>().is_ok_and(|p| app.expire_otp(p, &id));
    if expired {
        control_json(StatusCode::OK, &json!({"expired": true}))
    } else {
        control_json(StatusCode::NOT_FOUND, &json!({"error": "no OTP issued for this id"}))
    }
}

fn default_trigger() -> Trigger {
    Trigger::Always
}

#[derive(Deserialize)]
struct SetFault {
    route: Route,
    fault: Fault,
    #[serde(default = "default_trigger")]
    trigger: Trigger,
}

async fn ctl_set_fault(AxState(app): AxState<App>, body: Bytes) -> Response {
    match serde_json::from_slice::<SetFault>(&body) {
        Ok(f) => {
            let trigger = match f.trigger {
                Trigger::Rate(r) => Trigger::Rate(r.clamp(0.0, 1.0)),
                t => t,
            };
            app.lock().set_fault(f.route, crate::FaultSpec { fault: f.fault, trigger });
            control_json(StatusCode::OK, &json!({"ok": true}))
        }
        Err(e) => control_json(StatusCode::BAD_REQUEST, &json!({"error": e.to_string()})),
    }
}

async fn ctl_clear_faults(AxState(app): AxState<App>) -> Response {
    app.lock().clear_faults();
    control_json(StatusCode::OK, &json!({"ok": true}))
}

async fn ctl_books(AxState(app): AxState<App>) -> Response {
    let books = app.lock().books();
    control_json(StatusCode::OK, &serde_json::to_value(books).unwrap_or_default())
}

async fn ctl_requests(AxState(app): AxState<App>) -> Response {
    let counts = app.lock().request_counts();
    control_json(StatusCode::OK, &json!(counts))
}

async fn ctl_add_transaction(AxState(app): AxState<App>, body: Bytes) -> Response {
    let added = original::from_json(&body).and_then(|tx| {
        let answer = json!({
            "ok": true,
            "provider": tx.provider().as_str(),
            "id": tx.id(),
            "amount_minor": tx.amount_minor(),
            "currency": tx.currency(),
        });
        app.add_transaction(tx).map(|()| answer).map_err(|e| e.to_string())
    });
    match added {
        Ok(answer) => control_json(StatusCode::OK, &answer),
        Err(e) => control_json(StatusCode::BAD_REQUEST, &json!({"error": e})),
    }
}

async fn ctl_refunds(AxState(app): AxState<App>) -> Response {
    let refunds = app.lock().executed_refunds();
    // Straight to text: the log of a long test run can hold many thousands of entries.
    let text = serde_json::to_string(&refunds).unwrap_or_else(|_| "[]".to_owned());
    plain(StatusCode::OK, "application/json", text)
}

async fn ctl_reset(AxState(app): AxState<App>) -> Response {
    app.reset();
    control_json(StatusCode::OK, &json!({"ok": true}))
}

async fn not_found() -> Response {
    control_json(StatusCode::NOT_FOUND, &json!({"error": "not found"}))
}

pub(crate) fn router(app: App) -> Router {
    Router::new()
        .route("/aoc/api/refund", post(aoc_refund))
        .route("/aoc/api/refundStatus", post(aoc_refund_status))
        .route("/bos/api/BOS/RefundOTP", post(bos_refund_otp))
        .route("/bos/api/BOS/ClaimRefund", post(bos_claim))
        .route("/bos/api/BOS/TransactStatus", post(bos_status))
        .route("/bos/api/BOS/V4/DynamicQRCode", post(bos_qr))
        .route("/digipay/digipay/v3/transaction/wallet_refund_money", post(digipay_refund))
        .route("/digipay/digipay/v3/auth/authenticate", post(digipay_auth))
        .route("/eko/v3/customer/payment/refund/{tid}/otp", post(eko_send_otp))
        .route("/eko/v3/customer/payment/refund/{tid}", post(eko_refund))
        .route("/eko/v3/tools/reference/transaction/{tid}", get(eko_transaction))
        .route("/_sandbox/otp/{provider}/{id}", get(ctl_otp))
        .route("/_sandbox/otp/{provider}/{id}/expire", post(ctl_expire_otp))
        .route("/_sandbox/faults", post(ctl_set_fault).delete(ctl_clear_faults))
        .route("/_sandbox/books", get(ctl_books))
        .route("/_sandbox/requests", get(ctl_requests))
        .route("/_sandbox/reset", post(ctl_reset))
        .route("/_sandbox/transactions", post(ctl_add_transaction))
        .route("/_sandbox/refunds", get(ctl_refunds))
        .merge(control_extra(Router::new()))
        .fallback(not_found)
        .with_state(app)
}

async fn ctl_describe(AxState(app): AxState<App>, h: HeaderMap) -> Response {
    let host = h.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("127.0.0.1");
    let text = crate::describe_text(&format!("http://{host}"), &app.lock());
    plain(StatusCode::OK, "text/plain; charset=utf-8", text)
}

pub(crate) fn control_extra(r: Router<App>) -> Router<App> {
    r.route("/_sandbox/describe", get(ctl_describe))
}
