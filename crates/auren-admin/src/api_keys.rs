//! API key management (`/admin/api-keys`).
