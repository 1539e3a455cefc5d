//! What every handler shares.

use std::sync::Arc;

use crate::health::Dependencies;
use crate::store::ReadingStore;

/// The state behind the router.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) readings: Arc<dyn ReadingStore>,
    pub(crate) dependencies: Dependencies,
}
