//! Stand-ins for a service that is not the one expected, for the tests of what users read when keyroll is
//! pointed at the wrong place: a loopback server that answers every request with a fixed status and body, and
//! a loopback port nothing listens on.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener};

/// A loopback HTTP server answering every request with `status` and `body` (as `application/json`, whatever
/// the body is), each connection on its own thread; it lives as long as the test process. Works for
/// synchronous and async tests alike.
pub fn fixed_answer(status: u16, body: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("its address");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 65536];
                let _ = s.read(&mut buf);
                let _ = write!(
                    s,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.shutdown(Shutdown::Write);
            });
        }
    });
    addr
}

/// A loopback address nothing listens on (bound, then released).
pub fn unused_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
}
