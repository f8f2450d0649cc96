//! `refund sandbox [--port N]`: the simulator in the foreground until Ctrl-C.

use std::net::{Ipv4Addr, SocketAddr};

use refund_sandbox::{Sandbox, seed};
use serde_json::json;

use crate::cli::{Global, SandboxArgs};
use crate::error::CliError;

pub(crate) async fn run(args: SandboxArgs, global: &Global) -> Result<(), CliError> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let sandbox = Sandbox::builder().build().start_on(addr).await.map_err(|e| {
        CliError::Internal(format!(
            "cannot listen on {addr}: {e} (is the port in use? try --port 0)"
        ))
    })?;
    if global.json {
        let value = json!({
            "sandbox": {
                "base_url": sandbox.base_url(),
                "aoc_base_url": sandbox.aoc_base_url(),
                "bos_base_url": sandbox.bos_base_url(),
                "digipay_base_url": sandbox.digipay_base_url(),
                "otp_refund_base_url": sandbox.eko_base_url(),
            }
        });
        println!("{value}");
    } else {
        println!("{}", sandbox.describe());
        println!("For the refund command in another shell:");
        println!(
            "  export AOC_BASE_URL={} AOC_USERNAME={} AOC_API_KEY={}",
            sandbox.aoc_base_url(),
            seed::AOC_USERNAME,
            seed::AOC_API_KEY
        );
        println!(
            "  export BOS_BASE_URL={} BOS_TOKEN={} BOS_REGISTRATION_ID={}",
            sandbox.bos_base_url(),
            seed::BOS_TOKEN,
            seed::BOS_REGISTRATION_ID
        );
        println!(
            "  export DIGIPAY_BASE_URL={} DIGIPAY_TOKEN={} DIGIPAY_COMPANY_ID={}",
            sandbox.digipay_base_url(),
            seed::DIGIPAY_TOKEN,
            seed::DIGIPAY_COMPANY_ID
        );
        println!(
            "  export OTP_REFUND_BASE_URL={} OTP_REFUND_DEVELOPER_KEY={} OTP_REFUND_ACCESS_KEY={}",
            sandbox.eko_base_url(),
            seed::EKO_DEVELOPER_KEY,
            seed::EKO_ACCESS_KEY
        );
        println!(
            "  export OTP_REFUND_INITIATOR_ID={} OTP_REFUND_USER_CODE={}",
            seed::EKO_INITIATOR_ID,
            seed::EKO_USER_CODE
        );
        println!();
        println!("Running until Ctrl-C. OTPs are logged on stderr as they are issued.");
    }
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| CliError::Internal(format!("cannot wait for Ctrl-C: {e}")))?;
    eprintln!("stopping the sandbox");
    sandbox.shutdown().await;
    Ok(())
}
