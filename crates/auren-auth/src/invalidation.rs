//! Cache invalidation on every instance through Postgres `LISTEN/NOTIFY`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::store::NOTIFY_CHANNEL;
use crate::{KeyDigest, VerificationCache};

/// The first wait before reconnecting; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// The longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A background task that listens on channel `auren_api_keys` and drops the changed keys
/// from a [`VerificationCache`].
///
/// It holds one dedicated connection (not from the pool). When that connection breaks, the
/// cache is switched off (emptied, caching nothing, so every verification asks the database)
/// until the listener has reconnected with backoff and is listening again: notices sent in
/// between are lost, so nothing cached before can be trusted.
///
/// The task stops when the listener is dropped.
///
/// # Example
///
/// ```no_run
/// use std::sync::Arc;
/// use auren_auth::{InvalidationListener, VerificationCache};
///
/// # async fn example() -> Result<(), tokio_postgres::Error> {
/// let cache = Arc::new(VerificationCache::new());
/// let listener = InvalidationListener::spawn("postgres://postgres@127.0.0.1/auren", cache)?;
/// # drop(listener);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct InvalidationListener {
    task: JoinHandle<()>,
}

impl InvalidationListener {
    /// Starts listening on the database at `url`. Must be called within a Tokio runtime.
    ///
    /// The cache is off until the first `LISTEN` succeeds.
    ///
    /// # Errors
    ///
    /// The parse error when `url` is not a Postgres connection string.
    pub fn spawn(url: &str, cache: Arc<VerificationCache>) -> Result<Self, tokio_postgres::Error> {
        let config: tokio_postgres::Config = url.parse()?;
        cache.set_live(false);
        let task = tokio::spawn(listen_forever(config, cache));
        Ok(Self { task })
    }
}

impl Drop for InvalidationListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn listen_forever(config: tokio_postgres::Config, cache: Arc<VerificationCache>) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let outcome = listen_once(&config, &cache).await;

        cache.set_live(false);
        match outcome {
            Ok(()) => {
                tracing::warn!("the key invalidation connection closed; reconnecting");
                backoff = FIRST_BACKOFF;
            }
            Err(error) => {
                tracing::warn!(
                    error = %error,
                    retry_in_ms = backoff.as_millis() as u64,
                    "the key invalidation listener is down; keys are verified against the \
                     database until it is back",
                );
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Listens until the connection ends; returns `Ok` when it ended after listening.
async fn listen_once(
    config: &tokio_postgres::Config,
    cache: &VerificationCache,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;

    let (notices, mut received) = mpsc::unbounded_channel::<String>();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(notice)) => {
                    if notices.send(notice.payload().to_owned()).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::debug!(error = %error, "the key invalidation connection failed");
                    return;
                }
            }
        }
    });

    let listening = client
        .batch_execute(&format!("LISTEN {NOTIFY_CHANNEL}"))
        .await;
    if let Err(error) = listening {
        driver.abort();
        return Err(error);
    }
    cache.set_live(true);
    tracing::debug!("listening for key changes");

    while let Some(payload) = received.recv().await {
        match KeyDigest::from_hex(&payload) {
            Some(digest) => cache.invalidate(&digest),
            None => cache.invalidate_all(),
        }
    }

    drop(client);
    Ok(())
}
