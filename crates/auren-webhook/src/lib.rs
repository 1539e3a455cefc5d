//! Signature, freshness and replay checks for device providers' webhooks.
