//! The binary stops with exit code 2 and one clear line on invalid configuration.

use std::process::Command;

#[test]
fn invalid_configuration_exits_2_naming_the_variable() {
    for (variable, value) in [
        ("AUREN_LISTEN", "not-an-address"),
        ("DATABASE_URL", "postgres://user:hunter2@host:notaport/db"),
        ("AUREN_LOG_FORMAT", "xml"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_biometric-server"))
            .env_clear()
            .env(variable, value)
            .output()
            .expect("the binary runs");
        assert_eq!(output.status.code(), Some(2), "{variable}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{variable}: {stderr}");
        assert!(stderr.contains(variable), "{stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
