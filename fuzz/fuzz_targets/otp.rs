//! otp: every response decoder of the provider crate must classify any status and body
//! without panicking. Input: byte 0 picks the decoder, byte 1 the HTTP status, the rest is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;

const STATUSES: [u16; 12] = [200, 201, 204, 400, 401, 403, 404, 409, 422, 429, 500, 503];

fuzz_target!(|data: &[u8]| {
    let [which, status, body @ ..] = data else { return };
    let status = STATUSES[usize::from(*status) % STATUSES.len()];
    let _ = match which % 3 {
        0 => refund_otp::fuzzing::send_otp_response(status, body),
        1 => refund_otp::fuzzing::refund_response(status, body),
        2 => refund_otp::fuzzing::transaction_response(status, body),
        _ => false,
    };
});
