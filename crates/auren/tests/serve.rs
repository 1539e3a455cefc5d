//! `auren::serve` over real TCP: a client that stalls while sending its request line,
//! headers or an HTTP/2 preface loses its connection; HTTP/1 clients are served and
//! HTTP/2 ones turned away; graceful shutdown lets a request in flight finish; handlers see `ConnectInfo`.

use auren_testing::read_until_closed;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use axum::routing::get;
use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;

/// The header read timeout of the servers under test: short, so stalled clients are
/// dropped quickly.
const HEADER_READ_TIMEOUT: Duration = Duration::from_millis(200);

/// Far longer than any of these tests needs: only there to turn a hang into a failure.
const HANG: Duration = Duration::from_secs(30);

/// The start of the HTTP/2 connection preface.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// A handler that holds its request until the test releases it.
#[derive(Default)]
struct Gate {
    entered: Notify,
    release: Notify,
}

struct RunningServer {
    address: SocketAddr,
    gate: Arc<Gate>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    async fn start() -> Self {
        let gate = Arc::new(Gate::default());
        let router = Router::new()
            .route("/hello", get(|| async { "hello" }))
            .route(
                "/peer",
                get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
            )
            .route("/held", get(held))
            .with_state(Arc::clone(&gate));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("local address");

        let (stop, stopped) = oneshot::channel::<()>();
        let server = auren::serve(listener, router)
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .with_graceful_shutdown(async { drop(stopped.await) });
        let task = tokio::spawn(server.into_future());
        Self {
            address,
            gate,
            stop,
            task,
        }
    }

    async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.address).await.expect("connect")
    }

    /// Signals shutdown and waits, within the hang detector, for the server to stop.
    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(HANG, self.task)
            .await
            .expect("the server stops")
            .expect("server task")
            .expect("the server ends without an error");
    }
}

async fn held(State(gate): State<Arc<Gate>>) -> &'static str {
    gate.entered.notify_one();
    gate.release.notified().await;
    "released"
}

/// Sends `partial`, stalls, and checks that the server closes the connection, answering
/// at most a `408`.
async fn assert_stalled_client_is_dropped(server: &RunningServer, partial: &[u8]) {
    let mut stream = server.connect().await;
    stream.write_all(partial).await.expect("send");

    let received = read_until_closed(&mut stream, HANG).await;
    assert!(
        received.is_empty() || received.starts_with(b"HTTP/1.1 408"),
        "unexpected answer to a stalled request: {:?}",
        String::from_utf8_lossy(&received)
    );
}

/// Sends one HTTP/1.1 request that closes the connection; returns the whole response.
async fn http1_get(server: &RunningServer, path: &str) -> String {
    let mut stream = server.connect().await;
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    String::from_utf8(read_until_closed(&mut stream, HANG).await).expect("utf-8")
}

#[tokio::test]
async fn a_half_sent_request_line_is_dropped() {
    let server = RunningServer::start().await;

    assert_stalled_client_is_dropped(&server, b"GET /hel").await;

    server.stop().await;
}

#[tokio::test]
async fn half_sent_headers_are_dropped() {
    let server = RunningServer::start().await;

    assert_stalled_client_is_dropped(&server, b"GET /hello HTTP/1.1\r\nHost: te").await;

    server.stop().await;
}

#[tokio::test]
async fn a_client_that_sends_nothing_is_dropped() {
    let server = RunningServer::start().await;

    assert_stalled_client_is_dropped(&server, b"").await;

    server.stop().await;
}

#[tokio::test]
async fn a_half_sent_http2_preface_is_dropped() {
    let server = RunningServer::start().await;

    assert_stalled_client_is_dropped(&server, &H2_PREFACE[..10]).await;

    server.stop().await;
}

#[tokio::test]
async fn an_http2_connection_with_no_request_is_dropped() {
    let server = RunningServer::start().await;
    let mut stream = server.connect().await;
    stream.write_all(H2_PREFACE).await.expect("send");
    stream.write_all(&EMPTY_SETTINGS_FRAME).await.expect("send");

    // The server's SETTINGS and our SETTINGS acknowledged, then the connection ends.
    read_until_closed(&mut stream, HANG).await;

    server.stop().await;
}

#[tokio::test]
async fn a_stall_on_the_second_request_of_a_keep_alive_connection_is_dropped() {
    let server = RunningServer::start().await;
    let mut stream = server.connect().await;
    let first = b"GET /hello HTTP/1.1\r\nHost: test\r\n\r\n";
    stream.write_all(first).await.expect("send");
    let mut buffer = [0_u8; 4096];
    let read = tokio::time::timeout(HANG, stream.read(&mut buffer))
        .await
        .expect("the first response arrives")
        .expect("read");
    assert!(buffer[..read].starts_with(b"HTTP/1.1 200"));

    stream
        .write_all(b"GET /hello HTTP/1.1\r\nHo")
        .await
        .expect("send");
    let rest = read_until_closed(&mut stream, HANG).await;
    assert!(
        !String::from_utf8_lossy(&rest).contains("HTTP/1.1 200"),
        "the stalled second request must not be answered"
    );

    server.stop().await;
}

#[tokio::test]
async fn a_complete_http1_request_is_answered() {
    let server = RunningServer::start().await;

    let response = http1_get(&server, "/hello").await;

    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("hello"), "{response}");
    server.stop().await;
}

/// An empty SETTINGS frame: length 0, type 4, no flags, stream 0.
const EMPTY_SETTINGS_FRAME: [u8; 9] = [0, 0, 0, 4, 0, 0, 0, 0, 0];

#[tokio::test]
async fn an_http2_client_is_turned_away() {
    let server = RunningServer::start().await;
    let mut stream = server.connect().await;
    stream.write_all(H2_PREFACE).await.expect("send");
    stream.write_all(&EMPTY_SETTINGS_FRAME).await.expect("send");

    let answer = read_until_closed(&mut stream, HANG).await;
    assert!(
        !answer.starts_with(&[0, 0]),
        "no HTTP/2 frame comes back: {answer:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn handlers_see_the_client_address() {
    let server = RunningServer::start().await;
    let mut stream = server.connect().await;
    let client = stream.local_addr().expect("client address");
    let request = b"GET /peer HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
    stream.write_all(request).await.expect("send");

    let response = String::from_utf8(read_until_closed(&mut stream, HANG).await).expect("utf-8");

    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with(&client.to_string()), "{response}");
    server.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_lets_a_request_in_flight_finish() {
    let server = RunningServer::start().await;
    let address = server.address;
    let gate = Arc::clone(&server.gate);
    let mut stream = server.connect().await;
    let request = b"GET /held HTTP/1.1\r\nHost: test\r\n\r\n";
    stream.write_all(request).await.expect("send");
    tokio::time::timeout(HANG, gate.entered.notified())
        .await
        .expect("the handler starts");

    let stopping = tokio::spawn(server.stop());
    // Shutdown waits for the held request: only then is the listener surely closed.
    while TcpStream::connect(address).await.is_ok() {
        tokio::task::yield_now().await;
    }
    gate.release.notify_one();
    let response = String::from_utf8(read_until_closed(&mut stream, HANG).await).expect("utf-8");

    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("released"), "{response}");
    tokio::time::timeout(HANG, stopping)
        .await
        .expect("the server stops once the request is done")
        .expect("stop task");
}
