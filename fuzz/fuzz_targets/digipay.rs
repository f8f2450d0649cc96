//! digipay: every response decoder of the provider crate (see `refund_fuzz::decoders_target`).
#![no_main]

refund_fuzz::decoders_target!(
    refund_digipay::fuzzing::refund_response,
    refund_digipay::fuzzing::token_response,
);
