//! The layer: configuration shared by every service it makes.

use std::sync::Arc;

use tower::Layer;

use super::Auth;
use crate::ApiKeys;

/// Wraps a service in [`Auth`]. Cheap to clone.
///
/// See the [module docs](crate::auth_layer) for the behaviour and examples.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    pub(super) keys: Arc<ApiKeys>,
    pub(super) public: Arc<PublicPaths>,
}

/// Paths that need no key.
#[derive(Debug, Clone, Default)]
pub(super) struct PublicPaths {
    exact: Vec<String>,
    prefixes: Vec<String>,
}

impl PublicPaths {
    pub(super) fn contains(&self, path: &str) -> bool {
        self.exact.iter().any(|exact| exact == path)
            || self.prefixes.iter().any(|prefix| path.starts_with(prefix))
    }
}

impl AuthLayer {
    /// Every request needs a key verified by `keys`.
    pub fn new(keys: Arc<ApiKeys>) -> Self {
        Self {
            keys,
            public: Arc::new(PublicPaths::default()),
        }
    }

    /// Lets requests for exactly `path` (such as `/health`) through without a key.
    pub fn public_path(mut self, path: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.public).exact.push(path.into());
        self
    }

    /// Lets requests for every path starting with `prefix` through without a key.
    ///
    /// End the prefix with `/` unless a match inside a segment is meant: `/docs` also
    /// matches `/docsecret`.
    pub fn public_prefix(mut self, prefix: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.public).prefixes.push(prefix.into());
        self
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth::new(inner, self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_paths_match_exactly_or_by_prefix() {
        let mut public = PublicPaths::default();
        public.exact.push("/health".into());
        public.prefixes.push("/docs/".into());
        assert!(public.contains("/health"));
        assert!(!public.contains("/health/x"));
        assert!(public.contains("/docs/a"));
        assert!(!public.contains("/docs"));
        assert!(!public.contains("/api"));
    }
}
