//! API keys: issue, hash, verify in O(1), roles, expiry and revocation.
