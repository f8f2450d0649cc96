//! Log capture and the secret check of the secrets tests: whatever the SDK logs, prints or
//! returns must hold none of the secrets it was given.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// The process's log output since the first [`Logs::capture`], as written by a plain-text `fmt`
/// subscriber at TRACE.
#[derive(Clone, Debug, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// Installs one global TRACE subscriber writing into a buffer (once per process) and returns
    /// that buffer.
    ///
    /// Global rather than per thread: a thread-local subscriber misses the events of a runtime's
    /// worker threads. It also sees every other test's logs, which must be just as clean.
    /// httpmock's own logs are left out: they are the provider's side, which must see the
    /// secrets.
    pub fn capture() -> Logs {
        static LOGS: OnceLock<Logs> = OnceLock::new();
        LOGS.get_or_init(|| {
            let logs = Logs::default();
            let writer = logs.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new("trace,httpmock=off"))
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .finish();
            if tracing::subscriber::set_global_default(subscriber).is_err() {
                panic!("another global subscriber is installed: the logs would not be captured");
            }
            logs
        })
        .clone()
    }

    /// Everything captured so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Values that must never appear in what the SDK prints, logs or returns.
#[derive(Clone, Debug)]
pub struct Secrets(Vec<String>);

impl Secrets {
    /// The values to look for.
    pub fn new<S: Into<String>>(values: impl IntoIterator<Item = S>) -> Secrets {
        Secrets(values.into_iter().map(Into::into).collect())
    }

    /// Panics, naming `what`, if `text` holds any of the values.
    pub fn assert_absent(&self, what: &str, text: &str) {
        for secret in &self.0 {
            assert!(!text.contains(secret.as_str()), "{what} leaks {secret:?}: {text}");
        }
    }
}
