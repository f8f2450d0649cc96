//! Clients built from the environment alone, for the commands that serve every provider at once
//! (`batch`, `reconcile`) and so have no provider flags.

use refund::aoc::AocClient;
use refund::bos::BosClient;
use refund::digipay::DigiPayClient;
use refund::otp::OtpRefundClient;
use refund::{DirectRefund, Provider};

use crate::cli::{AocSettings, BosSettings, DigipaySettings, Global, OtpSettings, Secret};
use crate::error::CliError;
use crate::settings::env;
use crate::{aoc, bos, digipay, otp};

/// One client per provider, or why it could not be built (a missing setting, as words).
pub(crate) struct EnvClients {
    pub(crate) aoc: Result<AocClient, String>,
    pub(crate) digipay: Result<DigiPayClient, String>,
    pub(crate) bos: Result<BosClient, String>,
    pub(crate) eko: Result<OtpRefundClient, String>,
    /// Whether DigiPay refunds can be sent: they need a txn code and payment mode, which batch
    /// rows do not carry (`DIGIPAY_TXN_CODE`, `DIGIPAY_PAYMENT_MODE`). Status reads do not.
    digipay_refunds: Result<(), String>,
}

impl EnvClients {
    pub(crate) fn from_env(global: &Global) -> EnvClients {
        let aoc = AocSettings {
            base_url: env("AOC_BASE_URL"),
            username: env("AOC_USERNAME"),
            api_key: env("AOC_API_KEY").map(Secret),
        };
        let digipay = DigipaySettings {
            base_url: env("DIGIPAY_BASE_URL"),
            token: env("DIGIPAY_TOKEN").map(Secret),
            company_id: env("DIGIPAY_COMPANY_ID"),
        };
        let bos =
            BosSettings { base_url: env("BOS_BASE_URL"), token: env("BOS_TOKEN").map(Secret) };
        let eko = OtpSettings {
            base_url: env("OTP_REFUND_BASE_URL"),
            developer_key: env("OTP_REFUND_DEVELOPER_KEY").map(Secret),
            access_key: env("OTP_REFUND_ACCESS_KEY").map(Secret),
            initiator_id: env("OTP_REFUND_INITIATOR_ID"),
            user_code: env("OTP_REFUND_USER_CODE"),
        };
        let words = |e: CliError| e.to_string();
        let defaults = digipay_defaults();
        EnvClients {
            aoc: aoc::client(&aoc, global).map_err(words),
            digipay_refunds: match &defaults {
                Ok(Some(_)) => Ok(()),
                Ok(None) => {
                    Err("missing the txn code and payment mode of DigiPay batch rows: set \
                                 DIGIPAY_TXN_CODE and DIGIPAY_PAYMENT_MODE"
                        .to_owned())
                }
                Err(e) => Err(e.to_string()),
            },
            digipay: defaults
                .and_then(|defaults| {
                    let defaults = defaults.as_ref().map(|(code, mode)| (code.as_str(), *mode));
                    digipay::client(&digipay, defaults, global)
                })
                .map_err(words),
            // BOS and Eko have default base URLs: only settings someone gave count as a wish
            // to reach them.
            bos: if bos.base_url.is_some() || bos.token.is_some() {
                bos::client(&bos, None, global).map_err(words)
            } else {
                Err("no BOS settings (BOS_BASE_URL, BOS_TOKEN)".to_owned())
            },
            eko: if eko.developer_key.is_some() || eko.base_url.is_some() {
                otp::client(&eko, global).map_err(words)
            } else {
                Err("no Eko settings (OTP_REFUND_BASE_URL, OTP_REFUND_DEVELOPER_KEY, ...)"
                    .to_owned())
            },
        }
    }

    /// The clients given (the demo's, pointed at its sandbox); the others are "not configured".
    pub(crate) fn of(aoc: Option<AocClient>, eko: Option<OtpRefundClient>) -> EnvClients {
        let missing = || "not configured".to_owned();
        EnvClients {
            aoc: aoc.ok_or_else(missing),
            digipay: Err(missing()),
            bos: Err(missing()),
            eko: eko.ok_or_else(missing),
            digipay_refunds: Err(missing()),
        }
    }

    /// The client of a provider that refunds in one call, by its name (`aoc`, `digipay`).
    pub(crate) fn direct(&self, provider: &str) -> Result<&dyn DirectRefund, CliError> {
        let client: Result<&dyn DirectRefund, &String> = match provider {
            "aoc" => self.aoc.as_ref().map(|c| c as &dyn DirectRefund),
            "digipay" => match &self.digipay_refunds {
                Ok(()) => self.digipay.as_ref().map(|c| c as &dyn DirectRefund),
                Err(why) => Err(why),
            },
            other => {
                return Err(CliError::invalid(
                    "provider",
                    format!("{other:?} has no direct refund"),
                ));
            }
        };
        client.map_err(|e| CliError::config(e.clone()))
    }

    /// Every client that could be built, with its provider name; or, for `only`, that one
    /// (a configuration error when it cannot be built).
    pub(crate) fn available(&self, only: Option<&str>) -> Result<Vec<&dyn Provider>, CliError> {
        let all: [(&str, Result<&dyn Provider, &String>); 4] = [
            ("aoc", self.aoc.as_ref().map(|c| c as &dyn Provider)),
            ("bos", self.bos.as_ref().map(|c| c as &dyn Provider)),
            ("digipay", self.digipay.as_ref().map(|c| c as &dyn Provider)),
            ("otp-refund", self.eko.as_ref().map(|c| c as &dyn Provider)),
        ];
        let mut out = Vec::new();
        for (name, client) in all {
            match (client, only) {
                (Ok(client), None) => out.push(client),
                (Ok(client), Some(wanted)) if wanted == name => out.push(client),
                (Err(why), Some(wanted)) if wanted == name => {
                    return Err(CliError::config(why.clone()));
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

/// `DIGIPAY_TXN_CODE` and `DIGIPAY_PAYMENT_MODE`, the txn code and payment mode of batch rows:
/// both or neither.
fn digipay_defaults() -> Result<Option<(String, u32)>, CliError> {
    match (env("DIGIPAY_TXN_CODE"), env("DIGIPAY_PAYMENT_MODE")) {
        (Some(code), Some(mode)) => {
            let mode = mode.trim().parse::<u32>().map_err(|_| {
                CliError::config(format!("DIGIPAY_PAYMENT_MODE must be a number, not {mode:?}"))
            })?;
            Ok(Some((code, mode)))
        }
        (None, None) => Ok(None),
        _ => Err(CliError::config(
            "set both DIGIPAY_TXN_CODE and DIGIPAY_PAYMENT_MODE (the txn code and payment mode of batch rows)",
        )),
    }
}
