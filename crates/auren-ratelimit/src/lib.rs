//! Per-key rate limits, exact under concurrency, in Redis or in memory.
