//! A TCP forwarder that a test can cut, to make a real service unreachable for one test.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Forwards a local port to a real service (Postgres, Redis) until [`sever`](Self::sever)
/// cuts every connection and refuses new ones; [`restore`](Self::restore) lets them in
/// again. Only the clients of the test that points at the proxy see the outage, so tests
/// that run in parallel are not disturbed.
///
/// # Example
///
/// ```no_run
/// # async fn example() {
/// let proxy = auren_testing::TcpProxy::start("127.0.0.1:6379".parse().unwrap()).await;
/// let url = format!("redis://{}", proxy.address());
/// proxy.sever();   // the service is "down" for clients of `url`
/// proxy.restore(); // and back
/// # }
/// ```
#[derive(Debug)]
pub struct TcpProxy {
    address: SocketAddr,
    up: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    /// Listens on an ephemeral loopback port and forwards to `upstream`.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let address = listener.local_addr().expect("local address");
        let up = Arc::new(AtomicBool::new(true));
        let (generation, _) = watch::channel(0_u64);

        let task = tokio::spawn(accept_loop(
            listener,
            upstream,
            up.clone(),
            generation.clone(),
        ));
        Self {
            address,
            up,
            generation,
            task,
        }
    }

    /// The local address clients connect to instead of the service.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Closes every open connection and refuses new ones.
    pub fn sever(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|generation| *generation += 1);
    }

    /// Accepts and forwards connections again.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.sever();
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    up: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
) {
    while let Ok((client, _)) = listener.accept().await {
        if !up.load(Ordering::SeqCst) {
            drop(client);
            continue;
        }
        let severed = generation.subscribe();
        tokio::spawn(forward(client, upstream, severed));
    }
}

async fn forward(mut client: TcpStream, upstream: SocketAddr, mut severed: watch::Receiver<u64>) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    // The cut is looked at first: bytes a client wrote after `sever` must never reach the
    // service, or a test could not tell a refused request from one the service applied.
    tokio::select! {
        biased;
        _ = severed.changed() => {}
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn forwards_until_severed_and_again_after_restore() {
        let echo = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let echo_address = echo.local_addr().expect("address");
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let mut buffer = [0_u8; 64];
                    while let Ok(n) = socket.read(&mut buffer).await {
                        if n == 0 || socket.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });

        let proxy = TcpProxy::start(echo_address).await;
        let mut stream = TcpStream::connect(proxy.address()).await.expect("connect");
        stream.write_all(b"ping").await.expect("write");
        let mut reply = [0_u8; 4];
        stream.read_exact(&mut reply).await.expect("read");
        assert_eq!(&reply, b"ping");

        proxy.sever();
        let mut rest = Vec::new();
        let read = stream.read_to_end(&mut rest).await;
        assert!(
            read.is_err() || rest.is_empty(),
            "the open connection is closed"
        );
        let mut refused = TcpStream::connect(proxy.address())
            .await
            .expect("accepted, then closed");
        let mut byte = [0_u8; 1];
        assert_eq!(refused.read(&mut byte).await.unwrap_or(0), 0);

        proxy.restore();
        let mut again = TcpStream::connect(proxy.address()).await.expect("connect");
        again.write_all(b"pong").await.expect("write");
        again.read_exact(&mut reply).await.expect("read");
        assert_eq!(&reply, b"pong");
    }
}
