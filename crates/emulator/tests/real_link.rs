//! The real-link settings over real sockets: AEM's throttle of concurrent
//! requests and the blob link's per-connection cap. Counts, not timings:
//! requests are held in flight by bodies left unfinished, not by sleeping.

use aem_emulator::{Config, Emulator};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const AUTH: &str = "Basic YWRtaW46YWRtaW4="; // admin:admin

async fn start(config: Value) -> Emulator {
    Emulator::start(Config::from_json(config).unwrap()).await.unwrap()
}

/// A folder POST whose body is sent all but its last byte: AEM has it in
/// flight until [`Held::finish`].
struct Held {
    stream: TcpStream,
    last: u8,
}

async fn hold_folder_post(emulator: &Emulator, name: &str) -> Held {
    let body = format!(r#"{{"class":"assetFolder","properties":{{"jcr:title":"{name}"}}}}"#);
    let addr = emulator.url().trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/assets/{name} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {AUTH}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..body.len() - 1]).await.unwrap();
    Held { stream, last: *body.as_bytes().last().unwrap() }
}

impl Held {
    /// Sends the last byte and reads the status line.
    async fn finish(mut self) -> u16 {
        self.stream.write_all(&[self.last]).await.unwrap();
        let mut answer = Vec::new();
        let mut buf = [0u8; 1024];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = self.stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "connection closed before an answer");
            answer.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&answer[9..12]).parse().unwrap()
    }
}

/// Waits (without a deadline) until the emulator has `n` AEM requests in flight.
async fn until_in_flight(emulator: &Emulator, n: u64) {
    while emulator.state()["limits"]["aemInFlight"].as_u64() != Some(n) {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

fn form_post(client: &reqwest::Client, url: String, body: String) -> reqwest::RequestBuilder {
    client
        .post(url)
        .header("authorization", AUTH)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
}

#[tokio::test]
async fn beyond_the_limit_aem_answers_429_with_retry_after_and_blob_puts_are_not_counted() {
    let emulator = start(json!({"throttle": {"maxConcurrentAemRequests": 2, "retryAfterSeconds": 3}})).await;
    let client = reqwest::Client::new();
    // An initiate, while nothing else is in flight, goes through.
    let res = form_post(
        &client,
        format!("{}/content/dam.initiateUpload.json", emulator.url()),
        "fileName=a.bin&fileSize=3".into(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 201);
    let answer: Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();

    // Two folder POSTs held in flight fill the limit.
    let first = hold_folder_post(&emulator, "one").await;
    let second = hold_folder_post(&emulator, "two").await;
    until_in_flight(&emulator, 2).await;

    // The third AEM request of any route is throttled, with Retry-After.
    let res = form_post(
        &client,
        format!("{}/content/dam.initiateUpload.json", emulator.url()),
        "fileName=b.bin&fileSize=3".into(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "3");
    let res = client
        .post(format!("{}/api/assets/three", emulator.url()))
        .header("authorization", AUTH)
        .header("content-type", "application/json")
        .body(r#"{"class":"assetFolder","properties":{"jcr:title":"three"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);

    // A part PUT goes to blob storage, which AEM's throttle does not see.
    let uri = answer["files"][0]["uploadURIs"][0].as_str().unwrap();
    assert_eq!(client.put(uri).body("abc").send().await.unwrap().status(), 201);

    // Once the held requests are answered, AEM takes requests again.
    assert_eq!(first.finish().await, 201);
    assert_eq!(second.finish().await, 201);
    until_in_flight(&emulator, 0).await;
    let complete = format!(
        "fileName=a.bin&fileSize=3&mimeType=application%2Foctet-stream&createVersion=false&replace=false&uploadToken={}&uploadDuration=1",
        form_urlencoded::byte_serialize(answer["files"][0]["uploadToken"].as_str().unwrap().as_bytes()).collect::<String>()
    );
    let res = form_post(&client, format!("{}{}", emulator.url(), answer["completeURI"].as_str().unwrap()), complete)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let state = emulator.state();
    assert_eq!(state["limits"]["throttledAemRequests"], 2);
    assert_eq!(state["limits"]["admittedAemRequests"], 4, "initiate, two folders, complete");
    assert_eq!(state["limits"]["peakAemInFlight"], 2);
    assert_eq!(state["counters"]["initiate"]["statuses"]["429"], 1);
    assert_eq!(state["counters"]["folder"]["statuses"]["429"], 1);
    assert_eq!(state["assets"].as_array().unwrap().len(), 1);
    // The request log says when each request came, for shares over time.
    let log = emulator.requests();
    assert!(log["requests"].as_array().unwrap().iter().all(|r| r["at"].as_f64().unwrap() > 0.0));
}

#[tokio::test]
async fn the_link_cap_applies_to_every_part_put() {
    let emulator =
        start(json!({"minPartSize": 100, "storage": "digest", "link": {"blobBytesPerSecond": 1_000_000}})).await;
    let client = reqwest::Client::new();
    let res = form_post(
        &client,
        format!("{}/content/dam.initiateUpload.json", emulator.url()),
        "fileName=c.bin&fileSize=1000".into(),
    )
    .send()
    .await
    .unwrap();
    let answer: Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
    let uris = answer["files"][0]["uploadURIs"].as_array().unwrap();
    assert_eq!(uris.len(), 10);
    for uri in uris {
        assert_eq!(client.put(uri.as_str().unwrap()).body(vec![7u8; 100]).send().await.unwrap().status(), 201);
    }
    assert_eq!(emulator.state()["limits"]["cappedPuts"], 10);
    emulator.reset();
    assert_eq!(emulator.state()["limits"]["cappedPuts"], 0);
}

#[tokio::test]
async fn the_profiles_are_configuration() {
    let emulator = start(json!({"profile": "real-link-throttled"})).await;
    let config = emulator.config();
    assert_eq!(config.throttle.max_concurrent_aem_requests, 16);
    assert_eq!(config.link.blob_bytes_per_second, 25_000_000);
    assert_eq!(config.faults.routes["initiate"].latency_ms, 125);
    // Switched off at run time, as any setting.
    emulator.configure(&json!({"throttle": {"maxConcurrentAemRequests": 0}})).unwrap();
    assert_eq!(emulator.config().throttle.max_concurrent_aem_requests, 0);
}
