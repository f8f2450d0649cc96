//! Every provider client's main flows against the sandbox, through the concrete clients and through
//! the core traits as trait objects (issue #7, "End-to-end").

use std::sync::Arc;
use std::time::Duration;

use refund::Otp;
use refund::aoc::AocRefundRequest;
use refund::digipay::WalletRefundRequest;
use refund::otp::TxStatus;
use refund::{
    DeclineReason, DirectRefund, OtpRefund, OtpRefundTarget, RefundReference, RefundRequest,
    RefundStatus, RefundStatusRead, StatusQuery, TransactionId,
};
use refund_sandbox::{Provider, Route, RunningSandbox, seed};
use refund_testkit::sandbox::start;

use crate::{
    aoc_client, bos_client, digipay_cc_client, digipay_client, eko_client, inr, myr, wrong_otp,
};

/// End-to-end calls get a comfortable timeout: nothing here is about timing.
const E2E_TIMEOUT: Duration = Duration::from_secs(5);

fn refunded_minor(sb: &RunningSandbox, id: &str) -> (i64, u32) {
    let books = sb.books();
    let entry = books.entry(id).unwrap();
    (entry.refunded_minor, entry.refund_count)
}

#[tokio::test]
async fn aoc_partial_refund_status_over_refund_and_duplicate_reference() {
    let sb = start().await;
    let client = aoc_client(&sb.base_url(), E2E_TIMEOUT);
    let charge = TransactionId::new(seed::AOC_CHARGE_1001).unwrap();

    let request = AocRefundRequest::new(charge.clone(), myr("1.00"))
        .with_sp_trans_id(RefundReference::new("e2e-aoc-1").unwrap());
    let record = client.refund(&request).await.unwrap();
    assert_eq!(record.status, RefundStatus::Succeeded);
    assert_eq!(record.amount, Some(myr("1.00")));
    assert_eq!(record.reference.as_deref(), Some("e2e-aoc-1"));
    assert_eq!(record.original_transaction_id.as_deref(), Some(seed::AOC_CHARGE_1001));
    assert!(record.refund_id.is_some(), "AOC's clientCorrelator is kept");
    assert_eq!(refunded_minor(&sb, seed::AOC_CHARGE_1001), (100, 1));

    let status = client.refund_status(request.sp_trans_id()).await.unwrap();
    assert_eq!(status.status, RefundStatus::Succeeded);
    assert_eq!(status.amount, Some(myr("1.00")));

    // 9.50 more of a 10.00 charge with 1.00 already refunded: over-refund, AOC1015.
    let over = AocRefundRequest::new(charge.clone(), myr("9.50"));
    let err = client.refund(&over).await.unwrap_err();
    assert_eq!(err.kind(), "declined", "{err}");
    assert_eq!(err.decline_reason(), Some(&DeclineReason::LimitExceeded));
    assert_eq!(err.reply().and_then(|r| r.code()), Some("AOC1015"));
    assert_eq!(refunded_minor(&sb, seed::AOC_CHARGE_1001), (100, 1));

    // The same spTransID again: AOC answers AOC1001, the client reads the status and returns the
    // first refund's outcome; nothing is refunded twice.
    let again = client.refund(&request).await.unwrap();
    assert_eq!(again.status, RefundStatus::Succeeded);
    assert_eq!(again.amount, Some(myr("1.00")));
    assert_eq!(refunded_minor(&sb, seed::AOC_CHARGE_1001), (100, 1));
    assert_eq!(sb.requests_seen(Route::AocRefund), 3);

    // The same spTransID for another charge: the caller reused a reference; declined, not refunded.
    let reused =
        AocRefundRequest::new(TransactionId::new(seed::AOC_CHARGE_1003).unwrap(), myr("1.00"))
            .with_sp_trans_id(RefundReference::new("e2e-aoc-1").unwrap());
    let err = client.refund(&reused).await.unwrap_err();
    assert_eq!(err.kind(), "declined", "{err}");
    assert_eq!(err.decline_reason(), Some(&DeclineReason::InvalidRequest));
    assert_eq!(refunded_minor(&sb, seed::AOC_CHARGE_1003), (0, 0));
}

#[tokio::test]
async fn bos_otp_wrong_then_right_status_and_qr() {
    let sb = start().await;
    let client = bos_client(&sb.base_url(), E2E_TIMEOUT);
    let reference = seed::BOS_REFERENCE_1.to_string();
    let ackno = seed::BOS_ACKNO_1.to_string();

    let before = client.status(&reference).await.unwrap();
    assert_eq!(before.refund_status(), RefundStatus::NotRefunded);
    assert_eq!(before.amount, Some(inr("500")));

    client.send_refund_otp(&reference, &ackno).await.unwrap();
    let real = sb.otp(Provider::Bos, &reference).unwrap();

    let wrong = Otp::new(wrong_otp(&real)).unwrap();
    let err = client.claim_refund(&reference, &ackno, &wrong).await.unwrap_err();
    assert_eq!(err.kind(), "declined", "{err}");
    assert_eq!(err.decline_reason(), Some(&DeclineReason::InvalidOtp));
    assert_eq!(refunded_minor(&sb, &reference), (0, 0));

    let record = client.claim_refund(&reference, &ackno, &Otp::new(real).unwrap()).await.unwrap();
    assert_eq!(record.status, RefundStatus::Succeeded);
    assert_eq!(refunded_minor(&sb, &reference), (50_000, 1));

    let after = client.status(&reference).await.unwrap();
    assert_eq!(after.refund_status(), RefundStatus::Succeeded);
    assert!(after.refund_txn_id.is_some());

    let amount = inr("10.50");
    let qr = client.dynamic_qr(amount).await.unwrap();
    assert_eq!(qr.amount, amount);
    assert_eq!(qr.upi_intent.amount().unwrap(), Some(amount));
    assert!(qr.upi_intent.as_str().starts_with("upi://"), "{}", qr.upi_intent.as_str());
}

#[tokio::test]
async fn digipay_refund_with_static_token_and_with_client_credentials() {
    let sb = start().await;

    // 79.10 must arrive as exactly 7910 paise, never 79.09999.
    let client = digipay_client(&sb.base_url(), E2E_TIMEOUT);
    let request = WalletRefundRequest::builder(seed::DIGIPAY_TXN_2002, inr("79.10"))
        .txn_code("MR / CR")
        .payment_mode(2)
        .note("e2e")
        .build()
        .unwrap();
    let refund = client.refund_money(&request).await.unwrap();
    assert_eq!(refund.record.status, RefundStatus::Succeeded);
    assert!(refund.txn_id.is_some());
    assert_eq!(refunded_minor(&sb, seed::DIGIPAY_TXN_2002), (7910, 1));
    assert_eq!(sb.requests_seen(Route::DigipayAuthenticate), 0);

    // Client credentials: one token exchange, then the refund.
    let client = digipay_cc_client(&sb.base_url(), E2E_TIMEOUT);
    let request =
        WalletRefundRequest::builder(seed::DIGIPAY_TXN_2001, inr("10.00")).build().unwrap();
    let refund = client.refund_money(&request).await.unwrap();
    assert_eq!(refund.record.status, RefundStatus::Succeeded);
    assert_eq!(refunded_minor(&sb, seed::DIGIPAY_TXN_2001), (1000, 1));
    let second = WalletRefundRequest::builder(seed::DIGIPAY_TXN_2001, inr("5")).build().unwrap();
    client.refund_money(&second).await.unwrap();
    assert_eq!(sb.requests_seen(Route::DigipayAuthenticate), 1, "the token is cached");
    assert_eq!(refunded_minor(&sb, seed::DIGIPAY_TXN_2001), (1500, 2));

    // 90.00 more of 100.00 with 15.00 refunded: declined, books unchanged.
    let over = WalletRefundRequest::builder(seed::DIGIPAY_TXN_2001, inr("90")).build().unwrap();
    let err = client.refund_money(&over).await.unwrap_err();
    assert_eq!(err.kind(), "declined", "{err}");
    assert_eq!(refunded_minor(&sb, seed::DIGIPAY_TXN_2001), (1500, 2));
}

#[tokio::test]
async fn eko_otp_wrong_then_right_and_transaction_inquiry() {
    let sb = start().await;
    let client = eko_client(&sb.base_url(), E2E_TIMEOUT);
    let tid = seed::EKO_TID_REFUNDABLE_1;

    let before = client.transaction(tid).await.unwrap();
    assert_eq!(before.tx_status, TxStatus::RefundPending);

    let challenge = client.send_otp(tid).await.unwrap();
    assert_eq!(challenge.tid(), tid);
    let real = sb.otp(Provider::Eko, tid).unwrap();
    assert_eq!(Some(challenge.otp_ref_id().to_owned()), sb.otp_ref_id(Provider::Eko, tid));

    let wrong = Otp::new(wrong_otp(&real)).unwrap();
    let err = client.confirm(&challenge, &wrong).await.unwrap_err();
    assert_eq!(err.kind(), "declined", "{err}");
    assert_eq!(err.decline_reason(), Some(&DeclineReason::InvalidOtp));
    assert_eq!(refunded_minor(&sb, tid), (0, 0));

    let refund = client.confirm(&challenge, &Otp::new(real).unwrap()).await.unwrap();
    assert!(!refund.refund_tid.is_empty());
    assert_eq!(refund.tid, tid);
    assert_eq!(refunded_minor(&sb, tid).1, 1);

    let after = client.transaction(tid).await.unwrap();
    assert_eq!(after.tx_status, TxStatus::Refunded);
    assert_eq!(after.to_record().status, RefundStatus::Succeeded);

    // A transfer that succeeded is not refundable.
    let done = client.transaction(seed::EKO_TID_SUCCESS).await.unwrap();
    assert_eq!(done.tx_status, TxStatus::Success);
}

/// An OTP provider as both trait objects, the target and the sandbox's name for it.
type OtpCase = (Arc<dyn OtpRefund>, Arc<dyn RefundStatusRead>, OtpRefundTarget, Provider);

/// The core traits as trait objects, end to end: object safety is not just a compile-time claim.
#[tokio::test]
async fn core_traits_as_trait_objects() {
    let sb = start().await;
    let root = sb.base_url();
    let aoc = Arc::new(aoc_client(&root, E2E_TIMEOUT));
    let bos = Arc::new(bos_client(&root, E2E_TIMEOUT));
    let eko = Arc::new(eko_client(&root, E2E_TIMEOUT));

    let direct: Vec<(Arc<dyn DirectRefund>, RefundRequest)> = vec![
        (
            aoc.clone(),
            RefundRequest::new(TransactionId::new(seed::AOC_CHARGE_1003).unwrap())
                .with_amount(myr("2.50")),
        ),
        (
            Arc::new(digipay_client(&root, E2E_TIMEOUT)),
            RefundRequest::new(TransactionId::new(seed::DIGIPAY_TXN_2001).unwrap())
                .with_amount(inr("12.34")),
        ),
    ];
    for (provider, request) in &direct {
        let record = provider.refund(request).await.unwrap();
        assert_eq!(record.status, RefundStatus::Succeeded, "{}", provider.capabilities().provider);
    }
    assert_eq!(refunded_minor(&sb, seed::AOC_CHARGE_1003), (250, 1));
    assert_eq!(refunded_minor(&sb, seed::DIGIPAY_TXN_2001), (1234, 1));

    let status: Arc<dyn RefundStatusRead> = aoc;
    let record = status
        .refund_status(&StatusQuery::Reference(direct[0].1.reference().clone()))
        .await
        .unwrap();
    assert_eq!(record.status, RefundStatus::Succeeded);
    assert_eq!(record.amount, Some(myr("2.50")));

    let otp_providers: Vec<OtpCase> = vec![
        (
            bos.clone(),
            bos,
            OtpRefundTarget::new(TransactionId::new(seed::BOS_REFERENCE_2.to_string()).unwrap())
                .with_acknowledgement(seed::BOS_ACKNO_2.to_string()),
            Provider::Bos,
        ),
        (
            eko.clone(),
            eko,
            OtpRefundTarget::new(TransactionId::new(seed::EKO_TID_REFUNDABLE_2).unwrap()),
            Provider::Eko,
        ),
    ];
    for (otp_refund, status, target, which) in otp_providers {
        let id = target.transaction_id().as_str().to_owned();
        let challenge = otp_refund.send_otp(&target).await.unwrap();
        let real = sb.otp(which, &id).unwrap();
        let err = otp_refund
            .confirm_otp(&challenge, &Otp::new(wrong_otp(&real)).unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.decline_reason(), Some(&DeclineReason::InvalidOtp), "{which}: {err}");
        let record = otp_refund.confirm_otp(&challenge, &Otp::new(real).unwrap()).await.unwrap();
        assert_eq!(record.status, RefundStatus::Succeeded, "{which}");
        let read = status
            .refund_status(&StatusQuery::OriginalTransaction(
                TransactionId::new(id.clone()).unwrap(),
            ))
            .await
            .unwrap();
        assert_eq!(read.status, RefundStatus::Succeeded, "{which}");
        assert_eq!(refunded_minor(&sb, &id).1, 1, "{which}");
    }
}
