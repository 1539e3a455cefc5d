//! Driving the server binary as a child process: its address, load, and SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc;
use std::time::Duration;

/// Reads the JSON log lines of `child` until the `listening` one; returns its address.
///
/// # Panics
///
/// When no such line comes within a minute.
pub fn listening_address(child: &mut Child) -> String {
    let stderr = child.stderr.take().expect("piped stderr");
    let (lines_tx, lines) = mpsc::channel::<serde_json::Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let Ok(value) = serde_json::from_str(&line) else {
                continue;
            };
            // The reader keeps draining after the address is known, so the child never
            // blocks on a full pipe.
            let _ = lines_tx.send(value);
        }
    });
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("a listening line");
        if line["message"] == "listening" {
            return line["address"].as_str().expect("address").to_owned();
        }
    }
}

/// Sends SIGTERM to `child`.
pub fn sigterm(child: &Child) {
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
}

/// Eight workers send audited requests until the server stops answering; returns the
/// request id of every request that got an answer.
pub async fn load(client: reqwest::Client, address: String, admin_key: String) -> Vec<String> {
    let workers: Vec<_> = (0..8)
        .map(|worker| {
            let client = client.clone();
            let url = format!("http://{address}/admin/api-keys");
            let admin_key = admin_key.to_owned();
            tokio::spawn(async move {
                let mut answered = Vec::new();
                for round in 0..10_000 {
                    let body = serde_json::json!({
                        "user_id": format!("load-{worker}-{round}"),
                        "role": "user",
                    });
                    let send = client.post(&url).bearer_auth(&admin_key).json(&body).send();
                    let Ok(Ok(response)) = tokio::time::timeout(super::HANG_DETECTOR, send).await
                    else {
                        break;
                    };
                    if let Some(id) = response.headers().get("x-request-id") {
                        answered.push(id.to_str().expect("ASCII").to_owned());
                    }
                }
                answered
            })
        })
        .collect();
    let mut answered = Vec::new();
    for worker in workers {
        answered.extend(worker.await.expect("a worker"));
    }
    answered
}
