//! OTP refunds (Eko, BOS) through the ledger: one intent covers the OTP and its confirmation,
//! and a confirmation that may have arrived never goes out again.

use refund_core::{Fate, Otp, OtpRefundTarget, TransactionId};
use refund_ledger::{IntentState, LedgerError, OtpRefundIntent};
use refund_sandbox::{Provider, Route, seed};

use crate::common::{ANSWER_LOST, Env, NEVER_ARRIVES, TestDb, on_both_backends};

on_both_backends!(
    an_eko_refund_whose_answer_is_lost_is_settled_not_confirmed_again,
    a_wrong_otp_leaves_the_intent_open_for_the_right_one,
    a_bos_refund_runs_through_the_ledger,
    a_bos_claim_that_never_took_effect_is_declined_by_its_status,
);

fn eko_intent(key: &str, tid: &str) -> OtpRefundIntent {
    OtpRefundIntent::new(key, OtpRefundTarget::new(TransactionId::new(tid).unwrap()))
}

/// The intent of a refund of the seeded BOS transfer `reference`, `ackno`.
fn bos_intent(key: &str, reference: u64, ackno: u64) -> OtpRefundIntent {
    let id = TransactionId::new(reference.to_string()).unwrap();
    OtpRefundIntent::new(key, OtpRefundTarget::new(id).with_acknowledgement(ackno.to_string()))
}

fn otp_of(env: &Env, provider: Provider, id: &str) -> Otp {
    Otp::new(env.sandbox.otp(provider, id).expect("an OTP was sent")).unwrap()
}

async fn an_eko_refund_whose_answer_is_lost_is_settled_not_confirmed_again(db: TestDb) {
    let (env, ledger) = db.start().await;
    let intent = eko_intent("eko-1", seed::EKO_TID_REFUNDABLE_1);
    let reserved = ledger.send_otp(&env.eko, &intent).await.unwrap();
    assert_eq!(reserved.state, IntentState::Reserved);
    assert!(reserved.otp_ref_id.is_some(), "Eko's otp_ref_id is recorded");
    let otp = otp_of(&env, Provider::Eko, seed::EKO_TID_REFUNDABLE_1);

    env.fail_next(Route::EkoRefund, ANSWER_LOST);
    let err = ledger.confirm_otp(&env.eko, "eko-1", &otp).await.unwrap_err();
    assert_eq!((err.fate(), err.record().unwrap().state), (Fate::Unknown, IntentState::Unknown));

    let report = ledger.reconcile(&[&env.eko]).await.unwrap();
    assert_eq!(report.changed[0].record.state, IntentState::Succeeded, "{report:?}");
    // Confirming again answers from the ledger; the OTP is not sent to Eko a second time.
    let again = ledger.confirm_otp(&env.eko, "eko-1", &otp).await.unwrap();
    assert!(again.replayed);
    // And asking for an OTP for a refunded intent sends none.
    assert!(ledger.send_otp(&env.eko, &intent).await.unwrap().replayed);
    assert_eq!(env.sandbox.requests_seen(Route::EkoRefund), 1);
    assert_eq!(env.sandbox.requests_seen(Route::EkoSendOtp), 1);
    assert!(env.repeated().is_empty());
    // No OTP anywhere in the ledger: not in the record, not in its events.
    let text = format!(
        "{:?}{:?}",
        ledger.by_key("eko-1").await.unwrap(),
        ledger.events(again.id).await.unwrap()
    );
    assert!(!text.contains(otp.expose()), "the OTP leaked into the ledger");
}

async fn a_wrong_otp_leaves_the_intent_open_for_the_right_one(db: TestDb) {
    let (env, ledger) = db.start().await;
    ledger.send_otp(&env.eko, &eko_intent("eko-2", seed::EKO_TID_REFUNDABLE_2)).await.unwrap();
    let right = otp_of(&env, Provider::Eko, seed::EKO_TID_REFUNDABLE_2);
    let wrong = Otp::new(if right.expose() == "111111" { "222222" } else { "111111" }).unwrap();

    let err = ledger.confirm_otp(&env.eko, "eko-2", &wrong).await.unwrap_err();
    assert_eq!(err.fate(), Fate::Declined, "{err}");
    assert_eq!(err.record().unwrap().state, IntentState::NotProcessed);
    let done = ledger.confirm_otp(&env.eko, "eko-2", &right).await.unwrap();
    assert_eq!((done.state, done.attempts), (IntentState::Succeeded, 2));
    assert_eq!(env.sandbox.executed_refunds().len(), 1);
    // A confirmation under a key the ledger does not know, or of the wrong kind, is refused.
    assert_eq!(ledger.confirm_otp(&env.eko, "nope", &right).await.unwrap_err().kind(), "not_found");
}

async fn a_bos_refund_runs_through_the_ledger(db: TestDb) {
    let (env, ledger) = db.start().await;
    let intent = bos_intent("bos-1", seed::BOS_REFERENCE_1, seed::BOS_ACKNO_1);
    assert_eq!(ledger.send_otp(&env.bos, &intent).await.unwrap().state, IntentState::Reserved);
    let otp = otp_of(&env, Provider::Bos, &seed::BOS_REFERENCE_1.to_string());
    let done = ledger.confirm_otp(&env.bos, "bos-1", &otp).await.unwrap();
    assert_eq!(done.state, IntentState::Succeeded);
    assert_eq!(done.acknowledgement.as_deref(), Some("133"));
    assert!(ledger.confirm_otp(&env.bos, "bos-1", &otp).await.unwrap().replayed);
    // The Eko client cannot confirm a BOS intent.
    let err = ledger.confirm_otp(&env.eko, "bos-1", &otp).await.unwrap_err();
    assert!(matches!(err, LedgerError::InvalidInput { .. }), "{err}");
    assert_eq!(env.sandbox.requests_seen(Route::BosClaimRefund), 1);
}

async fn a_bos_claim_that_never_took_effect_is_declined_by_its_status(db: TestDb) {
    let (env, ledger) = db.start().await;
    let intent = bos_intent("bos-2", seed::BOS_REFERENCE_2, seed::BOS_ACKNO_2);
    ledger.send_otp(&env.bos, &intent).await.unwrap();
    let otp = otp_of(&env, Provider::Bos, &seed::BOS_REFERENCE_2.to_string());
    env.fail_next(Route::BosClaimRefund, NEVER_ARRIVES);
    assert_eq!(
        ledger.confirm_otp(&env.bos, "bos-2", &otp).await.unwrap_err().fate(),
        Fate::Unknown
    );

    // Confirming again reads the status first: the transfer still awaits its refund, so the
    // claim did not take effect. The claim is not sent again under this intent.
    let err = ledger.confirm_otp(&env.bos, "bos-2", &otp).await.unwrap_err();
    assert_eq!(err.record().unwrap().state, IntentState::Declined, "{err}");
    assert_eq!(err.fate(), Fate::Declined);
    assert_eq!(env.sandbox.requests_seen(Route::BosClaimRefund), 1);
    assert!(env.sandbox.executed_refunds().is_empty());
}
