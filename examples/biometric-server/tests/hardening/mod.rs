//! Support for the hardening tests: a raw HTTP/1.1 client for what reqwest cannot send,
//! and the checks every answer must pass.

#![allow(dead_code, unreachable_pub)]

pub mod process;
pub mod raw;

use std::time::Duration;

/// The hang detector: no single request may take longer than this. Generous, because the
/// machine is small and shared; it detects hangs, it does not measure latency.
pub const HANG_DETECTOR: Duration = Duration::from_secs(20);
