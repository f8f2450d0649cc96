//! The money parsers must never panic, and whatever they accept must format back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use refund_core::{Currency, Money};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for currency in [Currency::Inr, Currency::Myr] {
        if let Ok(money) = Money::parse(text, currency) {
            assert!(!money.is_zero());
            assert_eq!(Money::parse(&money.to_fixed_string(), currency), Ok(money));
            assert_eq!(Money::parse(&money.to_shortest_string(), currency), Ok(money));
        }
        if let Ok(money) = Money::from_provider_text(text, currency) {
            assert_eq!(Money::from_provider_text(&money.to_shortest_string(), currency), Ok(money));
        }
    }
});
