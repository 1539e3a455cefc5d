//! The binary as an operator runs it: JSON logs, and a clean stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn sigterm_stops_the_server_cleanly_after_serving() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_biometric-server"))
        .env_clear()
        .env("AUREN_LISTEN", "127.0.0.1:0")
        .env("AUREN_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");

    // Every log line is JSON; the `listening` one names the ephemeral port.
    let stderr = child.stderr.take().expect("piped stderr");
    let (lines_tx, lines) = mpsc::channel::<serde_json::Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let value = serde_json::from_str(&line).expect("every log line is JSON");
            if lines_tx.send(value).is_err() {
                break;
            }
        }
    });
    let address = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("a listening line");
        if line["message"] == "listening" {
            break line["address"].as_str().expect("address").to_owned();
        }
    };

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let status = runtime.block_on(async {
        reqwest::get(format!("http://{address}/health"))
            .await
            .expect("the server answers")
            .status()
    });
    assert_eq!(status, 200);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());

    let exit = child.wait().expect("the server exits");
    assert!(exit.success(), "exit status {exit:?}");
    let messages: Vec<String> = lines
        .iter()
        .filter_map(|line| line["message"].as_str().map(str::to_owned))
        .collect();
    assert!(
        messages.iter().any(|m| m == "server stopped"),
        "{messages:?}"
    );
}
