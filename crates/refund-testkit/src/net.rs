//! Addresses for the failure paths: nothing listening, or a peer that never answers.

use std::net::TcpListener;

/// A loopback port that was just free and is closed again: connecting is refused.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("a bound address").port()
}

/// `http://127.0.0.1:PORT` of a [`closed_port`].
pub fn closed_url() -> String {
    format!("http://127.0.0.1:{}", closed_port())
}

/// A loopback port that accepts connections and never answers (a provider that hangs): its
/// listener thread keeps every connection open until the process ends.
pub fn black_hole_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().expect("a bound address").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}
