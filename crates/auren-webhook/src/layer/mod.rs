//! [`WebhookLayer`]: only signed, fresh, never-seen webhooks reach the handler.
//!
//! For each request the service, in order:
//!
//! 1. refuses a `Content-Length` over the limit, then reads the body up to the limit
//!    (default 1 MiB, larger is `413 payload_too_large`);
//! 2. parses the scheme's headers and checks the timestamp against the tolerance;
//! 3. computes the HMAC of the signed content under each secret and compares it in
//!    constant time with each presented signature;
//! 4. records the message in the [`ReplayStore`](crate::replay::ReplayStore) and refuses
//!    a second delivery (`401 replayed`), or a failed store (`503`);
//! 5. passes the request on with the same bytes as its body and a
//!    [`VerifiedWebhook`](crate::VerifiedWebhook) in its extensions;
//! 6. when the route answers `5xx`, forgets the message again, so the sender's retry is
//!    not refused as a replay.
//!
//! Every refusal is the shared JSON error body with its own code.

mod future;
#[allow(clippy::module_inception)]
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::{WebhookLayer, DEFAULT_BODY_LIMIT};
pub use service::Webhook;
