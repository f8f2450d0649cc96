//! otp: every response decoder of the provider crate (see `refund_fuzz::decoders_target`).
#![no_main]

refund_fuzz::decoders_target!(
    refund_otp::fuzzing::send_otp_response,
    refund_otp::fuzzing::refund_response,
    refund_otp::fuzzing::transaction_response,
);
