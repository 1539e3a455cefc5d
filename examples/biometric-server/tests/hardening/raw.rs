//! A raw HTTP/1.1 exchange over a `TcpStream`: send exactly these bytes, read the answer.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::HANG_DETECTOR;

/// A parsed HTTP/1.1 answer.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What came back for one raw request.
#[derive(Debug)]
pub enum Outcome {
    /// An HTTP answer.
    Answered(RawResponse),
    /// The server closed the connection without answering (allowed for broken framing).
    Closed,
}

/// Sends `request` (complete, with `Connection: close`) and reads the answer to EOF.
///
/// # Panics
///
/// When nothing is decided within [`HANG_DETECTOR`]: that is a hang.
pub async fn exchange(address: SocketAddr, request: &[u8]) -> Outcome {
    let work = async {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        // The server may answer (and close) before reading a huge body: ignore write errors.
        let _ = stream.write_all(request).await;
        let _ = stream.flush().await;
        read_answer(&mut stream).await
    };
    match tokio::time::timeout(HANG_DETECTOR, work).await {
        Ok(outcome) => outcome,
        Err(_) => panic!(
            "hang: no answer within {HANG_DETECTOR:?} to {:?}",
            preview(request)
        ),
    }
}

/// Reads to EOF (or a reset) and parses what arrived.
pub async fn read_answer(stream: &mut TcpStream) -> Outcome {
    let mut bytes = Vec::new();
    let mut chunk = vec![0_u8; 16 * 1024];
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
        }
    }
    if bytes.is_empty() {
        return Outcome::Closed;
    }
    Outcome::Answered(parse(&bytes).unwrap_or_else(|| {
        panic!(
            "an answer that is not HTTP: {:?}",
            String::from_utf8_lossy(&bytes)
        )
    }))
}

/// A short, printable form of a request for failure messages.
pub fn preview(request: &[u8]) -> String {
    let end = request.len().min(200);
    String::from_utf8_lossy(&request[..end]).into_owned()
}

fn parse(bytes: &[u8]) -> Option<RawResponse> {
    let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&bytes[..head_end]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status = status_line.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();

    let rest = &bytes[head_end + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Some(RawResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}
