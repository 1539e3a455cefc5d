//! What the private servers share: a port to run on and the end of a log to show.

use std::net::TcpListener;
use std::path::Path;

/// The lowest port [`free_loopback_port`] hands out.
const LOWEST_PORT: u16 = 15_000;

/// A loopback port that nothing listens on now, for a server the test starts.
///
/// It is taken below the kernel's range of ephemeral ports when there is room: outgoing
/// connections of parallel tests are given ports from that range, and one of them could
/// otherwise take the port while a stopped server is down, so it could not start again.
pub(crate) fn free_loopback_port() -> u16 {
    let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(0);

    if ephemeral_start > LOWEST_PORT + 1_000 {
        let span = u128::from(ephemeral_start - LOWEST_PORT);
        for _ in 0..100 {
            let offset = ulid::Ulid::new().random() % span;
            // The offset is below `span`, which came from a u16.
            let port = LOWEST_PORT + u16::try_from(offset).unwrap_or(0);
            if TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return port;
            }
        }
    }

    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// The end of a server's log file, for an error message.
pub(crate) fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let start = text
        .char_indices()
        .rev()
        .nth(1_500)
        .map_or(0, |(index, _)| index);
    format!("log {}:\n{}", log.display(), &text[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_port_can_be_bound() {
        let port = free_loopback_port();
        assert!(TcpListener::bind(("127.0.0.1", port)).is_ok());
    }

    #[test]
    fn a_log_tail_names_the_file_and_keeps_the_end() {
        let log = std::env::temp_dir().join(crate::unique_name("auren_log_tail"));
        std::fs::write(&log, format!("{}the end", "x".repeat(5_000))).expect("write a log");

        let tail = log_tail(&log);
        std::fs::remove_file(&log).expect("remove the log");
        assert!(tail.starts_with(&format!("log {}:", log.display())));
        assert!(tail.ends_with("the end"));
        assert!(tail.len() < 2_000);
    }
}
