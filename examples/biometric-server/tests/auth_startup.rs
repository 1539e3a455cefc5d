//! Start-up of the binary: the bootstrap admin key and a malformed `AUREN_ADMIN_KEY`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn a_malformed_admin_key_stops_start_up_with_exit_code_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_biometric-server"))
        .env_clear()
        .env("AUREN_LISTEN", "127.0.0.1:0")
        .env("AUREN_ADMIN_KEY", "auren_hunter2hunter2")
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("AUREN_ADMIN_KEY"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

/// Without `AUREN_ADMIN_KEY` and without any admin key, the server creates one and prints
/// it once on stdout, as `AUREN_ADMIN_KEY=auren_…`.
#[test]
fn without_an_admin_key_one_is_created_and_printed_once() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_biometric-server"))
        .env_clear()
        .env("AUREN_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    let read = BufReader::new(stdout).read_line(&mut line);
    let _ = child.kill();
    let _ = child.wait();

    read.expect("a line on stdout");
    let key = line
        .trim_end()
        .strip_prefix("AUREN_ADMIN_KEY=")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    assert!(auren::auth::KeyFormat::default().parse(key).is_ok());
}
