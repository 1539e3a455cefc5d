//! Serving a router over TCP with a deadline on request headers.
//!
//! `axum::serve` gives hyper no timer, so a client that sends its request line and headers
//! one byte at a time (slowloris), or nothing at all, holds its connection for as long as
//! it likes. [`serve`] serves the same router over HTTP/1 and closes such a
//! connection once [`DEFAULT_HEADER_READ_TIMEOUT`] (or the configured time) has passed.
//!
//! ```
//! use std::time::Duration;
//!
//! use axum::{routing::get, Router};
//! use tokio::net::TcpListener;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let app: Router = Router::new().route("/health", get(|| async { "ok" }));
//! let listener = TcpListener::bind("127.0.0.1:0").await?;
//!
//! // The shutdown signal: here at once; usually `tokio::signal::ctrl_c()`.
//! auren::serve(listener, app)
//!     .header_read_timeout(Duration::from_secs(5))
//!     .with_graceful_shutdown(async {})
//!     .await?;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::{Future, IntoFuture, Pending};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1::Builder;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

/// How long a client may take to send the request line and headers, unless
/// [`Server::header_read_timeout`] says otherwise: 10 seconds.
///
/// # Example
///
/// ```
/// assert_eq!(auren::DEFAULT_HEADER_READ_TIMEOUT.as_secs(), 10);
/// ```
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the accept loop waits after an error such as running out of file descriptors,
/// so that it does not spin while the process has none to give.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// Serves `router` on `listener` over HTTP/1, with a deadline on request headers.
///
/// Handlers can extract [`ConnectInfo<SocketAddr>`] (the client's address) as with
/// `into_make_service_with_connect_info::<SocketAddr>()`; the audit layer records it.
/// Await the returned [`Server`] to run it; configure it first if needed.
///
/// # Example
///
/// ```no_run
/// use axum::{routing::get, Router};
///
/// # async fn example() -> std::io::Result<()> {
/// let app: Router = Router::new().route("/health", get(|| async { "ok" }));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// auren::serve(listener, app)
///     .with_graceful_shutdown(async { drop(tokio::signal::ctrl_c().await) })
///     .await?;
/// # Ok(())
/// # }
/// ```
pub fn serve(listener: TcpListener, router: Router) -> Server {
    Server {
        listener,
        router,
        header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
        shutdown: std::future::pending(),
    }
}

/// A server about to run, from [`serve`]; `.await` it to serve until the shutdown signal.
///
/// A connection is closed when its first request's headers have not all arrived within
/// the header read timeout of its opening, and when a later request's headers,
/// or the next request on an idle keep-alive connection, take longer than that.
///
/// Errors while accepting (too many open files, say) are logged and retried after a
/// short pause; they never stop the server.
///
/// # Example
///
/// ```
/// use std::time::Duration;
///
/// use axum::Router;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let server = auren::serve(listener, Router::new())
///     .header_read_timeout(Duration::from_millis(500))
///     .with_graceful_shutdown(async {});
/// server.await?;
/// # Ok(())
/// # }
/// ```
#[must_use = "a server does nothing until it is awaited"]
pub struct Server<S = Pending<()>> {
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: S,
}

impl<S> Server<S> {
    /// Sets how long a client may take to send a request's line and headers (default
    /// [`DEFAULT_HEADER_READ_TIMEOUT`]). A zero duration closes every connection before
    /// its first request.
    ///
    /// # Example
    ///
    /// ```
    /// # async fn example(listener: tokio::net::TcpListener) {
    /// use std::time::Duration;
    ///
    /// let server = auren::serve(listener, axum::Router::new())
    ///     .header_read_timeout(Duration::from_secs(5));
    /// # drop(server);
    /// # }
    /// ```
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Stops the server when `signal` completes: no new connection is accepted, idle
    /// connections are closed, and requests in flight finish before the server's future
    /// completes. Without it the server runs until it is dropped.
    ///
    /// # Example
    ///
    /// ```
    /// # async fn example(listener: tokio::net::TcpListener) {
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// let server = auren::serve(listener, axum::Router::new())
    ///     .with_graceful_shutdown(async { drop(stopped.await) });
    /// # drop((server, stop));
    /// # }
    /// ```
    pub fn with_graceful_shutdown<F>(self, signal: F) -> Server<F>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        Server {
            listener: self.listener,
            router: self.router,
            header_read_timeout: self.header_read_timeout,
            shutdown: signal,
        }
    }
}

impl<S> fmt::Debug for Server<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("listener", &self.listener)
            .field("header_read_timeout", &self.header_read_timeout)
            .finish_non_exhaustive()
    }
}

impl<S> IntoFuture for Server<S>
where
    S: Future<Output = ()> + Send + 'static,
{
    /// Never an error today: accept errors are retried. The `io::Result` keeps the shape
    /// of `axum::serve`, so a host can swap one for the other.
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

impl<S> Server<S>
where
    S: Future<Output = ()> + Send + 'static,
{
    async fn run(self) -> io::Result<()> {
        let Self {
            listener,
            router,
            header_read_timeout,
            shutdown,
        } = self;
        let connections = Arc::new(connection_builder(header_read_timeout));
        let graceful = GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);

        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = &mut shutdown => break,
            };
            match accepted {
                Ok((stream, remote)) => {
                    let connection = serve_connection(
                        Arc::clone(&connections),
                        graceful.watcher(),
                        (stream, remote),
                        router.clone(),
                        header_read_timeout,
                    );
                    tokio::spawn(connection);
                }
                Err(error) if is_connection_error(&error) => {
                    tracing::trace!(error = %error, "a connection failed while accepted");
                }
                Err(error) => {
                    tracing::warn!(error = %error, "accepting connections failed; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => {}
                        () = &mut shutdown => break,
                    }
                }
            }
        }

        // Stop accepting first, so clients see a refused connection, not a silent one.
        drop(listener);
        tracing::debug!(
            open = graceful.count(),
            "shutting down; waiting for connections"
        );
        graceful.shutdown().await;
        Ok(())
    }
}

/// HTTP/1 only, with hyper's timer running. HTTP/2 without TLS (prior knowledge) is
/// turned away: no client of a health-data API needs it, and it would bring a second
/// protocol engine and its own idle rules to defend.
fn connection_builder(header_read_timeout: Duration) -> Builder {
    let mut builder = Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    builder
}

/// Serves one connection until it ends, is shut down, or sends no complete request in
/// time.
async fn serve_connection(
    connections: Arc<Builder>,
    watcher: Watcher,
    (stream, remote): (TcpStream, SocketAddr),
    router: Router,
    header_read_timeout: Duration,
) {
    // hyper's timer starts once it has read the first bytes: this deadline also covers a
    // client that connects and sends nothing.
    let request_arrived = Arc::new(AtomicBool::new(false));
    let service = service_fn({
        let request_arrived = Arc::clone(&request_arrived);
        move |mut request: http::Request<Incoming>| {
            request_arrived.store(true, Ordering::Relaxed);
            request.extensions_mut().insert(ConnectInfo(remote));
            router.clone().oneshot(request)
        }
    });

    let connection = connections.serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(watcher.watch(connection));
    let ended = tokio::select! {
        ended = &mut connection => ended,
        () = tokio::time::sleep(header_read_timeout) => {
            if !request_arrived.load(Ordering::Relaxed) {
                tracing::debug!(%remote, "closing a connection with no request in time");
                return;
            }
            connection.await
        }
    };

    if let Err(error) = ended {
        tracing::debug!(%remote, error = %error, "connection closed with an error");
    }
}

/// Errors that concern one connection, not the listener: the next accept is fine.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
