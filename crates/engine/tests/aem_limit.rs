//! The adaptive AEM limit against the emulator's throttle: a call that
//! starts above what AEM serves backs off instead of failing files, and
//! meets few 429s. Counts only, no timings.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aem_emulator::{Config, Emulator};
use aem_upload_engine::events::Event;
use aem_upload_engine::http::{Client, ClientOptions};
use aem_upload_engine::session::AemSession;
use aem_upload_engine::source::Source;
use aem_upload_engine::upload::{Cancel, Upload, UploadFile, UploadOptions};
use bytes::Bytes;
use serde_json::json;

const AUTH: &str = "Basic YWRtaW46YWRtaW4=";

/// Uploads `count` small files over `session`; returns the ended and failed counts.
async fn upload(emulator: &Emulator, session: Arc<AemSession>, count: usize) -> (usize, Vec<String>) {
    let files: Vec<UploadFile> = (0..count)
        .map(|i| {
            let data = Bytes::from(format!("file {i}").into_bytes());
            let url = format!("{}/content/dam/f{}/file-{i}.txt", emulator.url(), i % 2);
            UploadFile::new(url, data.len() as u64, Source::Bytes(data))
        })
        .collect();
    let ended = Arc::new(Mutex::new((0usize, Vec::new())));
    let sink = Arc::clone(&ended);
    let options = UploadOptions { retry_delay: Duration::from_millis(5), ..UploadOptions::default() };
    let upload = Upload::new(
        session,
        files,
        options,
        Arc::new(move |e: Event| match e {
            Event::FileEnd { .. } => sink.lock().unwrap().0 += 1,
            Event::FileError { error, .. } => sink.lock().unwrap().1.push(error.message().to_string()),
            _ => {}
        }),
        Cancel::new(count),
    );
    upload.run().await;
    let out = ended.lock().unwrap().clone();
    out
}

/// The two folders the files go to, created before any throttle.
async fn make_folders(emulator: &Emulator) {
    for folder in ["f0", "f1"] {
        let res = reqwest::Client::new()
            .post(format!("{}/api/assets/{folder}", emulator.url()))
            .header("authorization", AUTH)
            .header("content-type", "application/json")
            .body(r#"{"class":"assetFolder","properties":{"jcr:title":"f"}}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
}

fn session() -> AemSession {
    AemSession::new(Client::new(&ClientOptions::default()).unwrap(), &[("Authorization".into(), AUTH.into())])
}

#[tokio::test]
async fn the_adaptive_limit_lands_every_file_under_a_throttle_with_few_429s() {
    // AEM serves 4 requests at once; the engine starts at 8 and grows.
    let emulator = Emulator::start(
        Config::from_json(json!({
            "faults": {"routes": {"complete": {"latencyMs": 20}, "initiate": {"latencyMs": 20}}},
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    make_folders(&emulator).await;
    emulator.configure(&json!({"throttle": {"maxConcurrentAemRequests": 4, "retryAfterSeconds": 1}})).unwrap();

    let session = Arc::new(session());
    let files = 300;
    let (ended, failed) = upload(&emulator, Arc::clone(&session), files).await;
    assert_eq!((ended, failed), (files, Vec::<String>::new()));
    let state = emulator.state();
    assert_eq!(state["assets"].as_array().unwrap().len(), files);
    let throttled = state["limits"]["throttledAemRequests"].as_u64().unwrap();
    let admitted = state["limits"]["admittedAemRequests"].as_u64().unwrap();
    // Every 429 was retried, invisibly; the limit saw them all.
    assert_eq!(session.aem_limit().throttled(), throttled);
    // A client that kept 8 in flight would meet a 429 for about every
    // other request; the adaptive one backs off to what AEM serves.
    assert!(throttled * 10 <= admitted, "{throttled} 429s for {admitted} requests served");
}

#[tokio::test]
async fn a_fixed_limit_is_kept() {
    let emulator =
        Emulator::start(Config::from_json(json!({"faults": {"routes": {"complete": {"latencyMs": 20}}}})).unwrap())
            .await
            .unwrap();
    make_folders(&emulator).await;
    let session = Arc::new(session().with_max_aem_requests(3));
    let (ended, failed) = upload(&emulator, Arc::clone(&session), 60).await;
    assert_eq!((ended, failed.len()), (60, 0));
    let peak = emulator.state()["limits"]["peakAemInFlight"].as_u64().unwrap();
    assert!(peak <= 3, "peak {peak} with a fixed limit of 3");
    assert_eq!(session.aem_limit().limit(), 3);
}
