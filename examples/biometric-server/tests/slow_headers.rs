//! Slowloris on the headers: the example server closes a connection whose request line and
//! headers do not arrive within `auren::DEFAULT_HEADER_READ_TIMEOUT` (10 s), and keeps
//! serving other clients meanwhile.

mod common;

use auren_testing::read_until_closed;
use std::time::Duration;

use common::TestServer;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Far longer than the 10 s header deadline: only there to turn a hang into a failure.
const HANG: Duration = Duration::from_secs(60);

/// Sends `partial` on a new connection and leaves it there.
async fn stalled_connection(server: &TestServer, partial: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(server.address).await.expect("connect");
    stream.write_all(partial).await.expect("send");
    stream
}

#[tokio::test]
async fn connections_with_unfinished_headers_are_closed() {
    let server = TestServer::in_memory().await;
    let half_headers = stalled_connection(&server, b"GET /health HTTP/1.1\r\nHost: te").await;
    let silent = stalled_connection(&server, b"").await;

    let response = server
        .client
        .get(server.url("/health"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200, "other clients are served meanwhile");

    for mut stalled in [half_headers, silent] {
        let received = read_until_closed(&mut stalled, HANG).await;
        assert!(
            received.is_empty() || received.starts_with(b"HTTP/1.1 408"),
            "unexpected answer to unfinished headers: {:?}",
            String::from_utf8_lossy(&received)
        );
    }
    server.stop().await;
}
