//! bos: every response decoder of the provider crate (see `refund_fuzz::decoders_target`).
#![no_main]

refund_fuzz::decoders_target!(
    refund_bos::fuzzing::envelope_response,
    refund_bos::fuzzing::status_response,
    refund_bos::fuzzing::qr_response,
);
