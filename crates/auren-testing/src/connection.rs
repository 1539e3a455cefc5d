//! Reading a raw TCP connection until the server closes it, for tests of stalled clients.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Reads `stream` until the server closes it (end of stream or a reset) and returns what
/// arrived before. Panics when nothing closes it within `hang`: a hang detector, not a
/// measured duration.
///
/// # Example
///
/// ```no_run
/// # async fn example(address: std::net::SocketAddr) {
/// use std::time::Duration;
///
/// let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
/// let answer = auren_testing::read_until_closed(&mut stream, Duration::from_secs(30)).await;
/// assert!(answer.is_empty() || answer.starts_with(b"HTTP/1.1 408"));
/// # }
/// ```
pub async fn read_until_closed(stream: &mut TcpStream, hang: Duration) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        let read = tokio::time::timeout(hang, stream.read(&mut buffer))
            .await
            .expect("the server closes the connection instead of waiting forever");
        match read {
            Ok(0) | Err(_) => return received,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
        }
    }
}
