//! The engine against an AEM that answers nonsense: a small HTTP/1.1 server
//! on a real socket serves canned initiate and complete answers (bad JSON,
//! wrong types, missing fields, absurd part sizes, 50,000 upload URIs, a
//! completeURI on another scheme). Every file must end failed with a code and
//! a reason, or landed; nothing panics, and no part goes anywhere but an
//! absolute http(s) URL.

use std::sync::{Arc, Mutex};

use aem_upload_engine::events::Event;
use aem_upload_engine::http::{Client, ClientOptions};
use aem_upload_engine::session::AemSession;
use aem_upload_engine::source::Source;
use aem_upload_engine::upload::{Cancel, Upload, UploadFile, UploadOptions};
use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Answers `*.initiateUpload.json` with `initiate` (with `{origin}` replaced),
/// `*.completeUpload.json` with `complete`, and anything else with 201.
/// Returns the origin and the log of `METHOD path` lines.
async fn canned(initiate: String, complete: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let (server_origin, server_log) = (origin.clone(), Arc::clone(&log));
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { return };
            let (initiate, origin, log) = (initiate.clone(), server_origin.clone(), Arc::clone(&server_log));
            tokio::spawn(async move {
                let mut reader = BufReader::new(socket);
                loop {
                    let mut head = String::new();
                    let mut length = 0usize;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                        if line == "\r\n" {
                            break;
                        }
                        head.push_str(&line);
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let request_line = head.lines().next().unwrap_or("").to_string();
                    let path = request_line.split(' ').nth(1).unwrap_or("").to_string();
                    log.lock()
                        .unwrap()
                        .push(request_line.rsplit_once(' ').map(|(a, _)| a.to_string()).unwrap_or_default());
                    let (status, answer) = if path.ends_with(".initiateUpload.json") {
                        ("201 Created", initiate.replace("{origin}", &origin))
                    } else if path.ends_with(".completeUpload.json") {
                        ("200 OK", complete.to_string())
                    } else {
                        ("201 Created", String::new())
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
                        answer.len()
                    );
                    if reader.get_mut().write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (origin, log)
}

/// Uploads one 10,000-byte file; returns its terminal event as text.
async fn upload_one(origin: &str) -> String {
    let data = Bytes::from(vec![7u8; 10_000]);
    let file = UploadFile::new(format!("{origin}/content/dam/x.bin"), data.len() as u64, Source::Bytes(data));
    let terminal = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&terminal);
    let options = UploadOptions { retry_count: 0, ..UploadOptions::default() };
    let upload = Upload::new(
        Arc::new(AemSession::new(Client::new(&ClientOptions::default()).unwrap(), &[])),
        vec![file],
        options,
        Arc::new(move |e: Event| match e {
            Event::FileEnd { .. } => sink.lock().unwrap().push("end".to_string()),
            Event::FileError { error, .. } => {
                sink.lock().unwrap().push(format!("{} {}", error.code(), error.message()))
            }
            Event::FileCancelled { .. } => sink.lock().unwrap().push("cancelled".to_string()),
            _ => {}
        }),
        Cancel::new(1),
    );
    upload.run().await;
    let events = terminal.lock().unwrap().clone();
    assert_eq!(events.len(), 1, "exactly one terminal event: {events:?}");
    events[0].clone()
}

fn initiate_with(file: &str) -> String {
    format!(r#"{{"completeURI": "/content/dam.completeUpload.json", "files": [{file}]}}"#)
}

const URI: &str = r#"["{origin}/blob/p1"]"#;

#[tokio::test]
async fn malformed_initiate_answers_fail_the_file_cleanly() {
    let cases: Vec<(String, &str)> = vec![
        ("not json at all".into(), "Initiate answer is not JSON"),
        (r#"{"files": "#.into(), "Initiate answer is not JSON"),
        (initiate_with(&format!(r#"{{"uploadURIs": {URI}, "minPartSize": "10", "maxPartSize": 100000, "uploadToken": "t"}}"#)), "minPartSize/maxPartSize missing"),
        (initiate_with(&format!(r#"{{"uploadURIs": {URI}, "minPartSize": 0, "maxPartSize": 100000, "uploadToken": "t"}}"#)), "part sizes"),
        (initiate_with(&format!(r#"{{"uploadURIs": {URI}, "minPartSize": 100, "maxPartSize": 10, "uploadToken": "t"}}"#)), "part sizes"),
        (initiate_with(&format!(r#"{{"uploadURIs": {URI}, "minPartSize": -5, "maxPartSize": 1e308, "uploadToken": "t"}}"#)), "part sizes"),
        (initiate_with(&format!(r#"{{"uploadURIs": {URI}, "minPartSize": 10, "maxPartSize": 100, "uploadToken": "t"}}"#)), "File is too large to upload"),
        (initiate_with(r#"{"uploadURIs": [], "minPartSize": 10, "maxPartSize": 100000, "uploadToken": "t"}"#), "no uploadURIs"),
        (initiate_with(r#"{"uploadURIs": "{origin}/blob/p1", "minPartSize": 10, "maxPartSize": 100000, "uploadToken": "t"}"#), "no uploadURIs"),
        (initiate_with(r#"{"uploadURIs": ["file:///etc/passwd"], "minPartSize": 10, "maxPartSize": 100000, "uploadToken": "t"}"#), "not an absolute http(s) URL"),
        (initiate_with(&format!(r#"{{"uploadURIs": {URI}, "minPartSize": 10, "maxPartSize": 100000}}"#)), "no uploadToken"),
        (initiate_with(&format!(r#"{{"uploadURIs": {URI}, "minPartSize": 10, "maxPartSize": 100000, "uploadToken": "t", "mimeType": ["x"]}}"#)), "mimeType is not a string"),
        (r#"{"completeURI": "ftp://elsewhere/c", "files": [{"uploadURIs": ["{origin}/blob/p1"], "minPartSize": 10, "maxPartSize": 100000, "uploadToken": "t"}]}"#.into(), "completeURI is not http(s)"),
        (r#"{"completeURI": "/c", "files": [{}, {}]}"#.into(), "2 files for 1 requested"),
    ];
    for (answer, expected) in cases {
        let (origin, log) = canned(answer.clone(), "{}").await;
        let outcome = upload_one(&origin).await;
        assert!(outcome.starts_with("EUNKNOWN") && outcome.contains(expected), "{answer} -> {outcome}");
        let sent = log.lock().unwrap().clone();
        assert!(sent.iter().all(|l| !l.starts_with("PUT") && !l.contains("completeUpload")), "{answer}: {sent:?}");
    }
}

#[tokio::test]
async fn a_complete_answer_that_is_not_json_fails_the_file() {
    let (origin, _) = canned(
        initiate_with(&format!(
            r#"{{"uploadURIs": {URI}, "minPartSize": 10, "maxPartSize": 100000, "uploadToken": "t"}}"#
        )),
        "<html>oops</html>",
    )
    .await;
    let outcome = upload_one(&origin).await;
    assert!(outcome.starts_with("EUNKNOWN Complete answer is not JSON"), "{outcome}");
}

#[tokio::test]
async fn fifty_thousand_upload_uris_use_only_the_parts_needed() {
    let uris: Vec<String> = (0..50_000).map(|i| format!("\"{{origin}}/blob/p{i}\"")).collect();
    let file = format!(
        r#"{{"uploadURIs": [{}], "minPartSize": 1000, "maxPartSize": 100000, "uploadToken": "t"}}"#,
        uris.join(",")
    );
    let (origin, log) = canned(initiate_with(&file), "{}").await;
    assert_eq!(upload_one(&origin).await, "end");
    let puts = log.lock().unwrap().iter().filter(|l| l.starts_with("PUT")).count();
    assert_eq!(puts, 10, "10,000 bytes in parts of the 1,000-byte minimum");
}
