//! The Assets Author API client against a small scripted HTTP/1.1 server on a
//! real socket: the headers every request carries, conditional requests,
//! problem details, retries, the one refresh after a 401, jobs, and ids.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aem_upload_engine::assets::{AssetId, AssetsClient, AssetsErrorCode, AssetsOptions, Deleted, JobRef, MetadataRead};
use aem_upload_engine::credentials::{Credentials, StaticCredentials};
use aem_upload_engine::events::LogLevel;
use futures_util::future::BoxFuture;
use reqwest::header::HeaderValue;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const ID: &str = "urn:aaid:aem:1b4e28ba-2fa1-11d2-883f-0016d3cca427";
const CANARY: &str = "Bearer canary-7f3c-token";

#[derive(Clone, Debug)]
struct Req {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

struct Resp {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    /// Close the connection without answering.
    reset: bool,
}

fn resp(status: u16, body: Value) -> Resp {
    let body = if body.is_null() { String::new() } else { body.to_string() };
    Resp { status, headers: vec![("content-type", "application/json".into())], body, reset: false }
}

fn problem(status: u16, detail: &str) -> Resp {
    let body = json!({"title": "Problem", "status": status, "detail": detail}).to_string();
    Resp { status, headers: vec![("content-type", "application/problem+json".into())], body, reset: false }
}

impl Resp {
    fn with(mut self, name: &'static str, value: &str) -> Resp {
        self.headers.push((name, value.to_string()));
        self
    }
}

type Handler = Arc<dyn Fn(&Req) -> Resp + Send + Sync>;

/// Serves `handler` on a real socket; returns the origin and the request log.
async fn serve(handler: impl Fn(&Req) -> Resp + Send + Sync + 'static) -> (String, Arc<Mutex<Vec<Req>>>) {
    let handler: Handler = Arc::new(handler);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let server_log = Arc::clone(&log);
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { return };
            let (handler, log) = (Arc::clone(&handler), Arc::clone(&server_log));
            tokio::spawn(async move {
                let mut reader = BufReader::new(socket);
                loop {
                    let mut lines = Vec::new();
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        lines.push(line.trim_end().to_string());
                    }
                    let mut parts = lines[0].split(' ');
                    let (method, path) = (parts.next().unwrap().to_string(), parts.next().unwrap().to_string());
                    let headers: Vec<(String, String)> = lines[1..]
                        .iter()
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                        .collect();
                    let length =
                        headers.iter().find(|(k, _)| k == "content-length").map_or(0, |(_, v)| v.parse().unwrap_or(0));
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let req = Req { method, path, headers, body };
                    log.lock().unwrap().push(req.clone());
                    let answer = handler(&req);
                    if answer.reset {
                        return;
                    }
                    let mut head = format!("HTTP/1.1 {} X\r\ncontent-length: {}\r\n", answer.status, answer.body.len());
                    for (k, v) in &answer.headers {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                    head.push_str("\r\n");
                    let socket = reader.get_mut();
                    let mut out = head.into_bytes();
                    if req.method != "HEAD" {
                        out.extend_from_slice(answer.body.as_bytes());
                    }
                    if socket.write_all(&out).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (origin, log)
}

fn doc(title: &str) -> Value {
    json!({
        "assetId": ID,
        "assetMetadata": {"dc:title": title},
        "repositoryMetadata": {"repo:name": "a.jpg", "repo:path": "/content/dam/a.jpg"}
    })
}

fn options(origin: &str, credentials: Arc<dyn Credentials>) -> AssetsOptions {
    let mut options = AssetsOptions::new(origin, credentials);
    options.api_key = Some("client-1".into());
    options.retry_delay = Duration::from_millis(10);
    options
}

fn client(origin: &str) -> AssetsClient {
    let auth = StaticCredentials::new(HeaderValue::from_static(CANARY));
    AssetsClient::new(options(origin, Arc::new(auth))).unwrap()
}

fn id() -> AssetId {
    AssetId::parse(ID).unwrap()
}

#[tokio::test]
async fn every_request_carries_the_author_api_headers_and_reads_tags() {
    let (origin, log) = serve(|req| match req.header("if-none-match") {
        Some("\"t1\"") => resp(304, Value::Null).with("etag", "\"t1\""),
        _ => resp(200, doc("A")).with("etag", "\"t1\""),
    })
    .await;
    let client = client(&origin);
    let MetadataRead::Document(read) = client.get_metadata(&id(), None).await.unwrap() else { panic!() };
    assert_eq!(read.etag.as_deref(), Some("\"t1\""));
    assert_eq!(read.asset_metadata["dc:title"], "A");
    assert_eq!(read.repository_metadata["repo:name"], "a.jpg");
    let again = client.get_metadata(&id(), Some("\"t1\"")).await.unwrap();
    assert_eq!(again, MetadataRead::NotModified { etag: Some("\"t1\"".into()) });
    assert_eq!(client.head_metadata(&id()).await.unwrap().as_deref(), Some("\"t1\""));
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 3);
    for req in log.iter() {
        assert_eq!(req.path, format!("/adobe/assets/{ID}/metadata"));
        assert_eq!(req.header("authorization"), Some(CANARY));
        assert_eq!(req.header("x-api-key"), Some("client-1"));
        assert_eq!(req.header("x-adobe-accept-experimental"), Some("1"));
    }
    assert_eq!(log[2].method, "HEAD");
}

#[tokio::test]
async fn the_tag_falls_back_to_repo_etag() {
    let (origin, _) = serve(|_| {
        let mut body = doc("A");
        body["repositoryMetadata"]["repo:etag"] = json!("\"r9\"");
        resp(200, body)
    })
    .await;
    let MetadataRead::Document(read) = client(&origin).get_metadata(&id(), None).await.unwrap() else { panic!() };
    assert_eq!(read.etag.as_deref(), Some("\"r9\""));
}

#[tokio::test]
async fn a_bad_id_or_path_never_reaches_the_server() {
    let (origin, log) = serve(|_| resp(200, doc("A"))).await;
    let client = client(&origin);
    for bad in ["urn:aaid:aem:../../x", "urn:aaid:aem:1b4e28ba-2fa1-11d2-883f-0016d3cca427?x=1"] {
        assert_eq!(AssetId::parse(bad).unwrap_err().code(), AssetsErrorCode::InvalidOptions);
    }
    assert_eq!(
        client.asset_id_for_path("/content/dam/../etc/passwd").await.unwrap_err().code(),
        AssetsErrorCode::InvalidOptions
    );
    let ops = json!([{"op": "replace", "path": "/repositoryMetadata/repo:name", "value": "b.jpg"}]);
    let err = client.patch_metadata(&id(), &ops, Some("*")).await.unwrap_err();
    assert_eq!(err.code(), AssetsErrorCode::InvalidOptions);
    assert!(err.message().contains("read-only"), "{}", err.message());
    let elsewhere = JobRef::parse("https://other.test/adobe/assets/jobs/j/status").unwrap();
    assert_eq!(client.job_status(&elsewhere).await.unwrap_err().code(), AssetsErrorCode::InvalidOptions);
    assert!(log.lock().unwrap().is_empty());
}

#[tokio::test]
async fn problem_details_become_errors_with_codes() {
    let (origin, _) = serve(|req| match req.method.as_str() {
        "GET" => problem(404, "Asset not found"),
        "PATCH" if req.header("if-match").is_none() => problem(428, "If-Match required"),
        "PATCH" => problem(412, "tag mismatch").with("etag", "\"now\""),
        _ => resp(406, json!({})),
    })
    .await;
    let client = client(&origin);
    let err = client.get_metadata(&id(), None).await.unwrap_err();
    assert_eq!((err.code(), err.status()), (AssetsErrorCode::NotFound, Some(404)));
    assert_eq!(err.problem().unwrap().detail.as_deref(), Some("Asset not found"));
    assert!(err.message().contains(ID) && err.message().contains("Asset not found"), "{}", err.message());
    let ops = json!([{"op": "add", "path": "/dc:title", "value": "B"}]);
    let err = client.patch_metadata(&id(), &ops, None).await.unwrap_err();
    assert_eq!(err.code(), AssetsErrorCode::PreconditionRequired);
    let err = client.patch_metadata(&id(), &ops, Some("\"old\"")).await.unwrap_err();
    assert_eq!((err.code(), err.current_etag()), (AssetsErrorCode::PreconditionFailed, Some("\"now\"")));
    let err = client.delete_asset(&id(), false).await.unwrap_err();
    assert_eq!(err.code(), AssetsErrorCode::NotSupported);
}

#[tokio::test]
async fn patch_sends_normalised_ops_with_if_match() {
    let (origin, log) = serve(|req| {
        assert_eq!(req.header("content-type"), Some("application/json-patch+json"));
        resp(200, doc("B")).with("etag", "\"t2\"")
    })
    .await;
    let ops = json!([{"op": "add", "path": "/dc:title", "value": "B"}, {"op": "set", "path": "pim:sku", "value": "S"}]);
    let out = client(&origin).patch_metadata(&id(), &ops, Some("\"t1\"")).await.unwrap();
    assert_eq!((out.asset_metadata["dc:title"].as_str(), out.etag.as_deref()), (Some("B"), Some("\"t2\"")));
    let sent = log.lock().unwrap()[0].clone();
    assert_eq!(sent.header("if-match"), Some("\"t1\""));
    assert_eq!(sent.json()[0]["path"], "/assetMetadata/dc:title");
    assert_eq!(sent.json()[1]["path"], "/assetMetadata/pim:sku");
}

#[tokio::test]
async fn update_rereads_on_412_and_patches_only_differences() {
    let patches = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&patches);
    let (origin, log) = serve(move |req| match req.method.as_str() {
        "GET" if seen.load(Ordering::SeqCst) == 0 => resp(200, doc("A")).with("etag", "\"t1\""),
        "GET" => {
            let mut body = doc("Other");
            body["assetMetadata"]["gone"] = json!(1);
            resp(200, body).with("etag", "\"t2\"")
        }
        _ if seen.fetch_add(1, Ordering::SeqCst) == 0 => problem(412, "changed").with("etag", "\"t2\""),
        _ => resp(200, doc("B")).with("etag", "\"t3\""),
    })
    .await;
    let values = json!({"dc:title": "B", "gone": null, "absent": null});
    let out = client(&origin).update_metadata(&id(), values.as_object().unwrap(), 3).await.unwrap();
    assert_eq!(out.etag.as_deref(), Some("\"t3\""));
    let log = log.lock().unwrap();
    let methods: Vec<&str> = log.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["GET", "PATCH", "GET", "PATCH"]);
    assert_eq!(log[1].header("if-match"), Some("\"t1\""));
    assert_eq!(log[1].json(), json!([{"op": "add", "path": "/assetMetadata/dc:title", "value": "B"}]));
    assert_eq!(log[3].header("if-match"), Some("\"t2\""));
    assert_eq!(
        log[3].json(),
        json!([{"op": "add", "path": "/assetMetadata/dc:title", "value": "B"}, {"op": "remove", "path": "/assetMetadata/gone"}])
    );
}

#[tokio::test]
async fn update_gives_up_after_its_retries_and_skips_a_no_op() {
    let (origin, log) = serve(|req| match req.method.as_str() {
        "GET" => resp(200, doc("A")).with("etag", "\"t1\""),
        _ => problem(412, "changed"),
    })
    .await;
    let client = client(&origin);
    let err = client.update_metadata(&id(), json!({"dc:title": "B"}).as_object().unwrap(), 2).await.unwrap_err();
    assert_eq!(err.code(), AssetsErrorCode::PreconditionFailed);
    assert!(err.message().contains("gave up after 3 attempts"), "{}", err.message());
    assert_eq!(log.lock().unwrap().len(), 6);
    let same = client.update_metadata(&id(), json!({"dc:title": "A"}).as_object().unwrap(), 2).await.unwrap();
    assert_eq!(same.etag.as_deref(), Some("\"t1\""));
    assert_eq!(log.lock().unwrap().len(), 7);
}

#[tokio::test]
async fn retries_survive_503_429_and_resets() {
    let count = Arc::new(AtomicUsize::new(0));
    let n = Arc::clone(&count);
    let (origin, _) = serve(move |_| match n.fetch_add(1, Ordering::SeqCst) {
        0 => problem(503, "busy").with("retry-after", "0"),
        1 => problem(429, "slow down").with("retry-after", "0"),
        2 => Resp { status: 0, headers: vec![], body: String::new(), reset: true },
        _ => resp(200, doc("A")).with("etag", "\"t1\""),
    })
    .await;
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let mut options = options(&origin, Arc::new(StaticCredentials::new(HeaderValue::from_static(CANARY))));
    options.log =
        Some(Arc::new(move |level: LogLevel, line: &str| sink.lock().unwrap().push(format!("{level:?} {line}"))));
    let client = AssetsClient::new(options).unwrap();
    assert!(matches!(client.get_metadata(&id(), None).await.unwrap(), MetadataRead::Document(_)));
    assert_eq!(count.load(Ordering::SeqCst), 4);
    let lines = lines.lock().unwrap().clone();
    assert_eq!(lines.iter().filter(|l| l.starts_with("Warn") && l.contains("retrying")).count(), 3, "{lines:?}");
    assert!(lines.iter().all(|l| !l.contains("canary")), "{lines:?}");

    // Out of retries: the last answer's error.
    let (origin, log) = serve(|_| problem(503, "down").with("retry-after", "0")).await;
    let err = client_with_retries(&origin, 1).get_metadata(&id(), None).await.unwrap_err();
    assert_eq!((err.code(), err.status()), (AssetsErrorCode::Unknown, Some(503)));
    assert_eq!(log.lock().unwrap().len(), 2);
}

fn client_with_retries(origin: &str, retries: u32) -> AssetsClient {
    let mut options = options(origin, Arc::new(StaticCredentials::new(HeaderValue::from_static(CANARY))));
    options.retry_count = retries;
    AssetsClient::new(options).unwrap()
}

/// Tokens `Bearer t1`, `Bearer t2`, …; a 401 moves to the next one.
#[derive(Debug, Default)]
struct Rotating {
    current: AtomicUsize,
    refreshes: AtomicUsize,
}

impl Credentials for Rotating {
    fn authorization(&self) -> BoxFuture<'_, aem_upload_engine::Result<Option<HeaderValue>>> {
        let n = self.current.load(Ordering::SeqCst) + 1;
        Box::pin(async move { Ok(Some(HeaderValue::from_str(&format!("Bearer t{n}")).unwrap())) })
    }

    fn unauthorized<'a>(&'a self, _used: &'a HeaderValue) -> BoxFuture<'a, aem_upload_engine::Result<bool>> {
        self.current.fetch_add(1, Ordering::SeqCst);
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(true) })
    }
}

#[tokio::test]
async fn a_401_refreshes_once_and_resends_once() {
    let (origin, log) = serve(|req| match req.header("authorization") {
        Some("Bearer t2") => resp(200, doc("A")),
        _ => problem(401, "expired"),
    })
    .await;
    let auth = Arc::new(Rotating::default());
    let client = AssetsClient::new(options(&origin, auth.clone())).unwrap();
    client.get_metadata(&id(), None).await.unwrap();
    assert_eq!(auth.refreshes.load(Ordering::SeqCst), 1);
    assert_eq!(log.lock().unwrap().len(), 2);

    // A token that stays refused: one refresh, one resend, then ENOTAUTHORIZED.
    let (origin, log) = serve(|_| problem(401, "no")).await;
    let auth = Arc::new(Rotating::default());
    let err = AssetsClient::new(options(&origin, auth.clone())).unwrap().head_metadata(&id()).await.unwrap_err();
    assert_eq!(err.code(), AssetsErrorCode::NotAuthorized);
    assert_eq!((auth.refreshes.load(Ordering::SeqCst), log.lock().unwrap().len()), (1, 2));

    // Fixed credentials cannot refresh: one request.
    let (origin, log) = serve(|_| problem(401, "no")).await;
    assert_eq!(
        client_with_retries(&origin, 3).head_metadata(&id()).await.unwrap_err().code(),
        AssetsErrorCode::NotAuthorized
    );
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_token_echoed_by_the_server_is_redacted_from_errors() {
    let (origin, _) = serve(|req| {
        let echoed = format!("you sent Authorization: {}", req.header("authorization").unwrap_or(""));
        problem(400, &echoed)
    })
    .await;
    let err = client(&origin).get_metadata(&id(), None).await.unwrap_err();
    let shown = format!("{err:?} {err}");
    assert!(!shown.contains("canary"), "{shown}");
}

#[tokio::test]
async fn delete_follows_a_job_to_its_end_without_following_the_303() {
    let polls = Arc::new(AtomicUsize::new(0));
    let n = Arc::clone(&polls);
    let (origin, log) = serve(move |req| match (req.method.as_str(), req.path.as_str()) {
        ("DELETE", p) if p.ends_with("force=true") => resp(204, Value::Null),
        ("DELETE", _) => resp(202, json!({"jobId": "j1", "state": "PROCESSING"}))
            .with("location", "/adobe/assets/jobs/j1/status")
            .with("retry-after", "0"),
        ("GET", "/adobe/assets/jobs/j1/status") if n.fetch_add(1, Ordering::SeqCst) < 2 => {
            resp(200, json!({"jobId": "j1", "state": "PROCESSING"})).with("retry-after", "0")
        }
        ("GET", "/adobe/assets/jobs/j1/status") => {
            resp(303, json!({"jobId": "j1", "state": "COMPLETED"})).with("location", "/adobe/assets/jobs/j1/result")
        }
        _ => problem(500, "unexpected"),
    })
    .await;
    let client = client(&origin);
    assert_eq!(client.delete_asset(&id(), true).await.unwrap(), Deleted::Deleted { job_id: None, location: None });
    let Deleted::Accepted { job_id, location, .. } = client.delete_asset(&id(), false).await.unwrap() else { panic!() };
    assert_eq!(job_id, "j1");
    assert_eq!(location, format!("{origin}/adobe/assets/jobs/j1/status"));
    let first = client.job_status(&JobRef::parse("j1").unwrap()).await.unwrap();
    assert_eq!((first.state.as_str(), first.done), ("PROCESSING", false));
    let done = client.wait_for_job(&JobRef::parse(&location).unwrap(), None).await.unwrap();
    assert!(done.done && !done.failed);
    assert_eq!(done.location.as_deref(), Some(format!("{origin}/adobe/assets/jobs/j1/result").as_str()));
    polls.store(0, Ordering::SeqCst);
    let waited = client.delete_asset_and_wait(&id(), false, None).await.unwrap();
    assert_eq!(waited, Deleted::Deleted { job_id: Some("j1".into()), location: Some(location) });
    assert!(log.lock().unwrap().iter().all(|r| !r.path.ends_with("/result")), "the 303 is never followed");
    assert!(log.lock().unwrap().iter().any(|r| r.path.ends_with("?force=false")));
}

#[tokio::test]
async fn a_failed_job_rejects_and_a_slow_one_times_out() {
    let (origin, _) = serve(|req| match req.path.as_str() {
        "/adobe/assets/jobs/bad/status" => {
            resp(200, json!({"jobId": "bad", "state": "FAILED", "errors": [{"message": "reference update failed"}]}))
        }
        _ => resp(200, json!({"jobId": "slow", "state": "PROCESSING"})).with("retry-after", "0"),
    })
    .await;
    let client = client(&origin);
    let err = client.wait_for_job(&JobRef::parse("bad").unwrap(), None).await.unwrap_err();
    assert_eq!(err.code(), AssetsErrorCode::JobFailed);
    assert!(err.message().contains("reference update failed"), "{}", err.message());
    assert_eq!(err.job().unwrap().state, "FAILED");
    let err = client.wait_for_job(&JobRef::parse("slow").unwrap(), Some(Duration::from_millis(300))).await.unwrap_err();
    assert_eq!(err.code(), AssetsErrorCode::TimedOut);
    assert_eq!(err.job().unwrap().state, "PROCESSING");
}

#[tokio::test]
async fn asset_ids_come_from_the_nodes_json() {
    let (origin, log) = serve(|req| match req.path.as_str() {
        "/content/dam/a%20b/x.jpg.json" => {
            resp(200, json!({"jcr:primaryType": "dam:Asset", "jcr:uuid": "1b4e28ba-2fa1-11d2-883f-0016d3cca427"}))
        }
        "/content/dam/folder.json" => resp(200, json!({"jcr:primaryType": "sling:Folder"})),
        _ => resp(404, Value::Null),
    })
    .await;
    let client = client(&origin);
    assert_eq!(client.asset_id_for_path("/content/dam/a b/x.jpg").await.unwrap().as_str(), ID);
    assert_eq!(client.asset_id_for_path("/content/dam/folder").await.unwrap_err().code(), AssetsErrorCode::Unknown);
    assert_eq!(client.asset_id_for_path("/content/dam/none.jpg").await.unwrap_err().code(), AssetsErrorCode::NotFound);
    assert_eq!(log.lock().unwrap()[0].header("authorization"), Some(CANARY));
}

#[tokio::test]
async fn a_delete_whose_answer_was_lost_says_so_on_the_404_of_its_retry() {
    let count = Arc::new(AtomicUsize::new(0));
    let n = Arc::clone(&count);
    let (origin, _) = serve(move |_| match n.fetch_add(1, Ordering::SeqCst) {
        0 => Resp { status: 0, headers: vec![], body: String::new(), reset: true },
        _ => problem(404, "Asset not found"),
    })
    .await;
    let err = client(&origin).delete_asset(&id(), false).await.unwrap_err();
    assert_eq!(err.code(), AssetsErrorCode::NotFound);
    assert!(err.message().contains("may have deleted it"), "{}", err.message());
    let (origin, _) = serve(|_| problem(404, "Asset not found")).await;
    let err = client(&origin).delete_asset(&id(), false).await.unwrap_err();
    assert!(!err.message().contains("may have deleted it"), "{}", err.message());
}
