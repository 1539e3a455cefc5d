//! The order in which batches in flight may commit.

use tokio::sync::watch;

/// When a batch may commit: once the batch sealed before it in the same chain is stored.
///
/// The writer hands one to
/// [`AuditSink::write_batch_in_turn`](crate::AuditSink::write_batch_in_turn) with each
/// batch; the batch before it holds the matching [`TurnDone`]. Waiting is cheap and may be
/// repeated: once the turn has come, [`wait`](Self::wait) returns at once.
///
/// # Example
///
/// ```
/// use auren_audit::CommitTurn;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// // A turn that has already come, as for a chain's first batch.
/// CommitTurn::now().wait().await;
/// # });
/// ```
#[derive(Debug, Clone, Default)]
pub struct CommitTurn {
    previous: Option<watch::Receiver<bool>>,
}

impl CommitTurn {
    /// A turn that has already come, as for a chain's first batch.
    pub fn now() -> Self {
        Self::default()
    }

    /// Whether the turn has come, without waiting.
    pub fn has_come(&self) -> bool {
        self.previous
            .as_ref()
            .is_none_or(|previous| *previous.borrow() || previous.has_changed().is_err())
    }

    /// Waits until every earlier batch of the chain is stored.
    ///
    /// A predecessor whose task ended without storing its batch (it panicked) no longer
    /// holds the turn back: its events are lost either way, and waiting would stop the
    /// writer.
    pub async fn wait(&self) {
        if let Some(previous) = &self.previous {
            let mut previous = previous.clone();
            if previous.wait_for(|stored| *stored).await.is_err() {
                tracing::error!("an earlier audit batch was abandoned; committing after it");
            }
        }
    }
}

/// Marks a batch stored, so that the [`CommitTurn`] of the batch after it comes.
///
/// ```
/// use auren_audit::TurnDone;
///
/// let first = TurnDone::new();
/// let second = first.next_turn();
/// assert!(!second.has_come());
/// first.mark();
/// assert!(second.has_come());
/// ```
#[derive(Debug)]
pub struct TurnDone {
    sender: watch::Sender<bool>,
}

impl TurnDone {
    /// A batch not stored yet.
    pub fn new() -> Self {
        Self {
            sender: watch::Sender::new(false),
        }
    }

    /// The turn of the batch after this one: it comes when this one is marked stored.
    pub fn next_turn(&self) -> CommitTurn {
        CommitTurn {
            previous: Some(self.sender.subscribe()),
        }
    }

    /// The batch is stored.
    pub fn mark(self) {
        self.sender.send_replace(true);
    }
}

impl Default for TurnDone {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_turn_comes_when_its_predecessor_is_stored() {
        let first_done = TurnDone::new();
        let second = first_done.next_turn();
        CommitTurn::now().wait().await;

        let waiting = tokio::spawn(async move { second.wait().await });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());

        first_done.mark();
        waiting.await.expect("the second turn comes");
    }

    #[tokio::test]
    async fn an_abandoned_predecessor_does_not_block() {
        let first_done = TurnDone::new();
        let second = first_done.next_turn();
        drop(first_done);
        assert!(second.has_come());
        second.wait().await;
    }
}
