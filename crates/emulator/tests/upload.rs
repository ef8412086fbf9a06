//! The emulator over real sockets, driven by reqwest: a whole direct binary
//! upload, a strict check and a seeded fault, with no Node involved.

use aem_emulator::{Config, Emulator};
use serde_json::{json, Value};

const AUTH: &str = "Basic YWRtaW46YWRtaW4="; // admin:admin

async fn start(config: Value) -> Emulator {
    Emulator::start(Config::from_json(config).unwrap()).await.unwrap()
}

async fn initiate(client: &reqwest::Client, emulator: &Emulator, name: &str, size: usize) -> Value {
    let body = format!("fileName={}&fileSize={size}", form(name));
    let res = client
        .post(format!("{}/content/dam.initiateUpload.json", emulator.url()))
        .header("authorization", AUTH)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    serde_json::from_slice(&res.bytes().await.unwrap()).unwrap()
}

fn form(s: &str) -> String {
    s.replace(' ', "+")
}

#[tokio::test]
async fn a_whole_upload_lands_exact_bytes() {
    let emulator = start(json!({"minPartSize": 100, "storage": "digest"})).await;
    let client = reqwest::Client::new();
    let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
    let answer = initiate(&client, &emulator, "a file.bin", data.len()).await;
    let file = &answer["files"][0];
    let uris = file["uploadURIs"].as_array().unwrap();
    assert_eq!(uris.len(), 10);
    // Reverse order: every part but the last waits for the gap to close.
    for (k, uri) in uris.iter().enumerate().rev() {
        let res = client.put(uri.as_str().unwrap()).body(data[k * 100..(k + 1) * 100].to_vec()).send().await.unwrap();
        assert_eq!(res.status(), 201);
    }
    let complete = format!(
        "fileName=a+file.bin&fileSize=1000&mimeType=application%2Foctet-stream&createVersion=false&replace=false&uploadToken={}&uploadDuration=1",
        urlencode(file["uploadToken"].as_str().unwrap())
    );
    let res = client
        .post(format!("{}{}", emulator.url(), answer["completeURI"].as_str().unwrap()))
        .header("authorization", AUTH)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(complete)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let state = emulator.state();
    assert_eq!(state["assets"][0]["path"], "/content/dam/a file.bin");
    assert_eq!(state["assets"][0]["sha256"], aem_emulator::storage::sha256_hex(&data));
    assert_eq!(state["violations"], json!([]));
    emulator.stop().await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn credentials_on_a_part_put_are_a_violation() {
    let emulator = start(json!({})).await;
    let client = reqwest::Client::new();
    let answer = initiate(&client, &emulator, "c.txt", 3).await;
    let uri = answer["files"][0]["uploadURIs"][0].as_str().unwrap();
    let res = client.put(uri).header("authorization", AUTH).body("abc").send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(emulator.state()["violations"][0]["kind"], "credentials-to-blob");
    // The log names the header but keeps no query string (signatures).
    let log = emulator.requests();
    let put = &log["requests"][1];
    assert!(put["headers"].as_array().unwrap().contains(&json!("authorization")));
    assert!(!put["path"].as_str().unwrap().contains('?'));
    emulator.stop().await;
}

#[tokio::test]
async fn a_seeded_fault_is_reproducible_and_changeable_at_run_time() {
    let emulator =
        start(json!({"faults": {"seed": 1, "routes": {"initiate": {"status503": 1.0, "maxAttempt": 1}}}})).await;
    let client = reqwest::Client::new();
    let url = format!("{}/content/dam.initiateUpload.json", emulator.url());
    let send = || client.post(&url).header("authorization", AUTH).body("fileName=x&fileSize=1").send();
    assert_eq!(send().await.unwrap().status(), 503);
    assert_eq!(send().await.unwrap().status(), 201);
    emulator
        .configure(&json!({"faults": {"routes": {"initiate": {"status429": 1.0, "status503": 0.0, "maxAttempt": 0}}}}))
        .unwrap();
    let res = send().await.unwrap();
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "1");
    emulator.stop().await;
}
