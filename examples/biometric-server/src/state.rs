//! What every readings handler shares.

use std::sync::Arc;

use crate::store::ReadingStore;

/// The state behind the readings and webhook routes.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) readings: Arc<dyn ReadingStore>,
}
