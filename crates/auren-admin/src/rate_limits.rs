//! Rate-limit status (`/admin/rate-limits`).
