//! aoc: every response decoder of the provider crate (see `refund_fuzz::decoders_target`).
#![no_main]

refund_fuzz::decoders_target!(
    refund_aoc::fuzzing::refund_response,
    refund_aoc::fuzzing::status_response,
);
