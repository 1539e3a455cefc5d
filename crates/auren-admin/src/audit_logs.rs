//! Audit log queries (`/admin/audit-logs`).
