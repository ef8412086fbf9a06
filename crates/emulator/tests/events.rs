//! The emulator's asset-event webhooks over real sockets, received by a tiny
//! hyper server written here: the challenge handshake, CloudEvents bodies
//! whose two signatures verify (with the `rsa` crate, not the emulator's own
//! code) against the PEMs the emulator serves at the paths it names, retries
//! with `x-adobe-retry-count`, given-up events, duplicates, reordering, a key
//! rotation, and uploads unaffected by a dead receiver.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use aem_emulator::{Config, Emulator};
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use serde_json::{json, Value};
use sha2::Sha256;

mod common;

use common::{upload, urlencode, JsonBody, AUTH};
const KEY: &str = "client-1";
const CLIENT_ID: &str = "receiver-client";

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    method: String,
    query: Option<String>,
    headers: hyper::HeaderMap,
    body: Bytes,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn challenge(&self) -> Option<String> {
        let query = self.query.as_deref()?;
        query.split('&').find_map(|pair| pair.strip_prefix("challenge=")).map(String::from)
    }
}

/// How the receiver answers: status and body, given the request and how
/// many requests with its `x-adobe-event-id` came before it.
type Answer = dyn Fn(&Received, usize) -> (u16, String) + Send + Sync;

struct Receiver {
    url: String,
    log: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn posts(&self) -> Vec<Received> {
        self.log.lock().unwrap().iter().filter(|r| r.method == "POST").cloned().collect()
    }

    fn challenges(&self) -> Vec<Received> {
        self.log.lock().unwrap().iter().filter(|r| r.method == "GET").cloned().collect()
    }
}

/// A webhook that echoes challenges as `{"challenge": …}` and answers
/// deliveries with `answer`.
async fn receiver(answer: impl Fn(&Received, usize) -> (u16, String) + Send + Sync + 'static) -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let log: Arc<Mutex<Vec<Received>>> = Arc::default();
    let answer: Arc<Answer> = Arc::new(answer);
    let shared = Arc::clone(&log);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let (log, answer) = (Arc::clone(&shared), Arc::clone(&answer));
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (log, answer) = (Arc::clone(&log), Arc::clone(&answer));
                    async move {
                        let (parts, body) = req.into_parts();
                        let received = Received {
                            method: parts.method.to_string(),
                            query: parts.uri.query().map(String::from),
                            headers: parts.headers,
                            body: body.collect().await.map(|b| b.to_bytes()).unwrap_or_default(),
                        };
                        let (status, body) = {
                            let mut log = log.lock().unwrap();
                            let id = received.header("x-adobe-event-id").map(String::from);
                            let before = log
                                .iter()
                                .filter(|r| id.is_some() && r.header("x-adobe-event-id") == id.as_deref())
                                .count();
                            log.push(received.clone());
                            match received.challenge() {
                                Some(challenge) if received.method == "GET" => {
                                    (200, json!({ "challenge": challenge }).to_string())
                                }
                                _ => answer(&received, before),
                            }
                        };
                        let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
                        *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                        response.headers_mut().insert("content-type", "application/json".parse().unwrap());
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Receiver { url, log }
}

fn ok(_: &Received, _: usize) -> (u16, String) {
    (200, String::new())
}

async fn start(config: Value) -> Emulator {
    let mut config = config;
    config["author"] = json!({"apiKeys": [KEY]});
    Emulator::start(Config::from_json(config).unwrap()).await.unwrap()
}

fn events_config(webhook: &str, extra: Value) -> Value {
    let mut events = json!({
        "webhookUrl": webhook,
        "clientId": CLIENT_ID,
        "processingDelayMs": 20,
        "retryBackoffMs": 5,
    });
    for (key, value) in extra.as_object().unwrap() {
        events[key] = value.clone();
    }
    json!({ "events": events })
}

fn author(
    client: &reqwest::Client,
    emulator: &Emulator,
    method: reqwest::Method,
    path: &str,
) -> reqwest::RequestBuilder {
    client
        .request(method, format!("{}{path}", emulator.url()))
        .header("authorization", AUTH)
        .header("x-api-key", KEY)
        .header("x-adobe-accept-experimental", "1")
}

async fn metadata(client: &reqwest::Client, emulator: &Emulator, id: &str) -> Value {
    let res = author(client, emulator, reqwest::Method::GET, &format!("/adobe/assets/{id}/metadata")).send().await;
    res.unwrap().json_value().await
}

/// The public key the emulator serves at a key path, read with the `rsa` crate.
async fn served_key(client: &reqwest::Client, emulator: &Emulator, path: &str) -> rsa::PublicKey {
    let res = client.get(format!("{}{path}", emulator.url())).send().await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    let pem = String::from_utf8(res.bytes().await.unwrap().to_vec()).unwrap();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    rsa::PublicKey::from_public_key_pem(&pem).unwrap()
}

fn signature_verifies(key: &rsa::PublicKey, body: &[u8], signature: &str) -> bool {
    let bytes = base64::engine::general_purpose::STANDARD.decode(signature).unwrap();
    let signature = Signature::try_from(bytes.as_slice()).unwrap();
    VerifyingKey::<Sha256>::new(key.clone()).verify(body, &signature).is_ok()
}

/// Whether signature `n` (1 or 2) of a delivery verifies with the key its path names.
async fn verifies(client: &reqwest::Client, emulator: &Emulator, delivery: &Received, n: u8) -> bool {
    let path = delivery.header(&format!("x-adobe-public-key{n}-path")).unwrap();
    let key = served_key(client, emulator, path).await;
    signature_verifies(&key, &delivery.body, delivery.header(&format!("x-adobe-digital-signature-{n}")).unwrap())
}

fn of_type<'a>(posts: &'a [Received], kind: &str) -> Vec<&'a Received> {
    posts.iter().filter(|r| r.header("x-adobe-event-code") == Some(kind)).collect()
}

#[tokio::test]
async fn processing_completed_metadata_updated_and_deleted_arrive_signed_as_io_events_sends_them() {
    let hook = receiver(ok).await;
    let mut config = events_config(&hook.url, json!({}));
    config["programId"] = json!(142461);
    config["environmentId"] = json!(1463137);
    let emulator = start(config).await;
    let client = reqwest::Client::new();

    let id = upload(&client, &emulator, "shoe.jpg", b"jpeg bytes").await;
    emulator.events_idle().await;

    // The handshake came first, and the registration is active.
    let challenges = hook.challenges();
    assert_eq!(challenges.len(), 1);
    assert!(challenges[0].challenge().is_some());
    assert_eq!(challenges[0].header("user-agent"), Some("Adobe/1.0"));
    let state = emulator.state()["events"].clone();
    assert_eq!(state["registration"]["status"], "active", "{state}");
    assert_eq!(state["registration"]["webhookUrl"], hook.url.as_str());

    let posts = hook.posts();
    assert_eq!(posts.len(), 1);
    let delivery = &posts[0];
    assert_eq!(delivery.header("content-type"), Some("application/cloudevents+json; charset=UTF-8"));
    assert_eq!(delivery.header("x-adobe-event-code"), Some("aem.assets.asset.processing_completed"));
    assert!(delivery.header("x-adobe-retry-count").is_none());
    assert!(delivery.header("x-adobe-delivery-id").is_some());
    let event = delivery.json();
    assert_eq!(event["specversion"], "1.0");
    assert_eq!(event["type"], "aem.assets.asset.processing_completed");
    assert_eq!(event["source"], "acct:aem-p142461-e1463137@adobe.com");
    assert_eq!(event["datacontenttype"], "application/json");
    assert_eq!(event["event_id"], delivery.header("x-adobe-event-id").unwrap());
    assert_eq!(event["eventid"], event["event_id"]);
    assert_ne!(event["id"], event["event_id"]);
    assert_eq!(event["recipient_client_id"], CLIENT_ID);
    assert_eq!(event["recipientclientid"], CLIENT_ID);
    assert!(event["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(event["data"]["assetId"], id.as_str());
    let repo = &event["data"]["repositoryMetadata"];
    assert_eq!(repo["repo:path"], "/content/dam/shoe.jpg");
    assert_eq!(repo["repo:size"], "10");
    assert_eq!(repo["aem:assetState"], "processed");

    // Both signatures verify with the two distinct keys served where the headers say.
    let (path1, path2) =
        (delivery.header("x-adobe-public-key1-path").unwrap(), delivery.header("x-adobe-public-key2-path").unwrap());
    assert!(path1.starts_with("/prod/keys/pub-key-") && path1.ends_with(".pem"));
    assert_ne!(path1, path2);
    assert_ne!(served_key(&client, &emulator, path1).await, served_key(&client, &emulator, path2).await);
    assert!(verifies(&client, &emulator, delivery, 1).await);
    assert!(verifies(&client, &emulator, delivery, 2).await);
    let mut forged = delivery.clone();
    forged.body = Bytes::from(String::from_utf8(delivery.body.to_vec()).unwrap().replace("shoe", "shoo"));
    assert!(!verifies(&client, &emulator, &forged, 1).await && !verifies(&client, &emulator, &forged, 2).await);
    let unknown = client.get(format!("{}/prod/keys/pub-key-nope.pem", emulator.url())).send().await.unwrap();
    assert_eq!(unknown.status(), 404);

    // The event came once processing had ended: the Author API says so too.
    assert_eq!(metadata(&client, &emulator, &id).await["repositoryMetadata"]["aem:assetState"], "processed");

    // A metadata change, then a delete.
    let res = author(&client, &emulator, reqwest::Method::PATCH, &format!("/adobe/assets/{id}/metadata"))
        .header("content-type", "application/json-patch+json")
        .header("if-match", "*")
        .body(json!([{"op": "add", "path": "/assetMetadata/dc:title", "value": "Shoe"}]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = author(&client, &emulator, reqwest::Method::DELETE, &format!("/adobe/assets/{id}")).send().await.unwrap();
    assert_eq!(res.status(), 204);
    emulator.events_idle().await;

    let posts = hook.posts();
    let updated = of_type(&posts, "aem.assets.asset.metadata_updated");
    assert_eq!(updated.len(), 1);
    let event = updated[0].json();
    assert_eq!(event["data"]["assetId"], id.as_str());
    assert_eq!(event["data"]["assetMetadata"]["dc:title"], "Shoe");
    assert_eq!(event["data"]["assetMetadata"]["event:created"], json!(["dc:title"]));
    assert!(verifies(&client, &emulator, updated[0], 1).await);
    let deleted = of_type(&posts, "aem.assets.asset.deleted");
    assert_eq!(deleted.len(), 1);
    let event = deleted[0].json();
    assert_eq!(event["data"]["assetId"], id.as_str());
    assert_eq!(event["data"]["repositoryMetadata"]["repo:path"], "/content/dam/shoe.jpg");
    assert!(verifies(&client, &emulator, deleted[0], 2).await);

    let state = emulator.state()["events"].clone();
    assert_eq!((state["published"].as_u64(), state["delivered"].as_u64()), (Some(3), Some(3)), "{state}");
    assert_eq!((state["failed"].as_u64(), state["pending"].as_u64()), (Some(0), Some(0)));
    assert_eq!(state["deliveries"].as_array().unwrap().len(), 3);
    emulator.stop().await;
}

#[tokio::test]
async fn an_asset_is_processing_until_its_delay_has_passed() {
    // No webhook: the state changes all the same.
    let emulator = start(json!({"events": {"processingDelayMs": 3_600_000}})).await;
    let client = reqwest::Client::new();
    let id = upload(&client, &emulator, "slow.jpg", b"bytes").await;
    assert_eq!(metadata(&client, &emulator, &id).await["repositoryMetadata"]["aem:assetState"], "processing");
    let res = client.get(format!("{}/content/dam/slow.jpg.json", emulator.url())).header("authorization", AUTH);
    let node = res.send().await.unwrap().json_value().await;
    assert_eq!(node["aem:assetState"], "processing");
    assert_eq!(node["jcr:content"]["dam:assetState"], "processing");
    assert_eq!(emulator.state()["assets"][0]["assetState"], "processing");
    // Without a webhook nothing waits for it.
    emulator.events_idle().await;
    assert_eq!(emulator.state()["events"]["registration"]["status"], "none");

    emulator.configure(&json!({"events": {"processingDelayMs": 0}})).unwrap();
    let id = upload(&client, &emulator, "fast.jpg", b"bytes").await;
    assert_eq!(metadata(&client, &emulator, &id).await["repositoryMetadata"]["aem:assetState"], "processed");
    emulator.stop().await;
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_a_retry_count_and_given_up_when_refused_or_exhausted() {
    // "flaky" fails twice then succeeds; "refused" gets a 400 (not retried);
    // "down" always gets a 503 (retried until maxAttempts).
    let hook = receiver(|r, before| {
        let path = r.json()["data"]["repositoryMetadata"]["repo:path"].as_str().unwrap_or_default().to_string();
        match () {
            _ if path.contains("flaky") && before < 2 => (500, String::new()),
            _ if path.contains("refused") => (400, String::new()),
            _ if path.contains("down") => (503, String::new()),
            _ => (200, String::new()),
        }
    })
    .await;
    let emulator = start(events_config(&hook.url, json!({"maxAttempts": 4}))).await;
    let client = reqwest::Client::new();
    for name in ["flaky.jpg", "refused.jpg", "down.jpg"] {
        upload(&client, &emulator, name, b"bytes").await;
    }
    emulator.events_idle().await;

    let posts = hook.posts();
    let attempts_of = |name: &str| -> Vec<Option<String>> {
        posts
            .iter()
            .filter(|r| r.json()["data"]["repositoryMetadata"]["repo:path"].as_str().unwrap().contains(name))
            .map(|r| r.header("x-adobe-retry-count").map(String::from))
            .collect()
    };
    let counts = |n: usize| -> Vec<Option<String>> { (0..n).map(|i| (i > 0).then(|| i.to_string())).collect() };
    assert_eq!(attempts_of("flaky"), counts(3));
    assert_eq!(attempts_of("refused"), counts(1));
    assert_eq!(attempts_of("down"), counts(4));
    // Every attempt of an event carries the same id and the same bytes.
    let flaky: Vec<&Received> = posts
        .iter()
        .filter(|r| r.json()["data"]["repositoryMetadata"]["repo:path"] == "/content/dam/flaky.jpg")
        .collect();
    assert!(flaky.windows(2).all(|w| w[0].body == w[1].body
        && w[0].header("x-adobe-event-id") == w[1].header("x-adobe-event-id")
        && w[0].header("x-adobe-delivery-id") != w[1].header("x-adobe-delivery-id")));

    let state = emulator.state()["events"].clone();
    assert_eq!(state["published"], 3, "{state}");
    assert_eq!(state["delivered"], 1);
    assert_eq!(state["failed"], 2);
    assert_eq!(state["attempts"], 8);
    assert_eq!(state["retries"], 5);
    assert_eq!(state["pending"], 0);
    let statuses: Vec<u64> =
        state["deliveries"].as_array().unwrap().iter().map(|d| d["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1);
    emulator.stop().await;
}

#[tokio::test]
async fn a_dead_receiver_costs_only_retries() {
    // A port nothing listens on: the handshake fails, the registration is
    // disabled, uploads land all the same and their events are dropped.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let emulator = start(events_config(&url, json!({"maxAttempts": 3}))).await;
    let client = reqwest::Client::new();
    for i in 0..5 {
        upload(&client, &emulator, &format!("f{i}.jpg"), b"bytes").await;
    }
    emulator.events_idle().await;
    assert_eq!(emulator.state()["assets"].as_array().unwrap().len(), 5);
    let state = emulator.state()["events"].clone();
    assert_eq!(state["registration"]["status"], "disabled", "{state}");
    assert_eq!(state["registration"]["challenges"], 3);
    let error = state["registration"]["error"].as_str().unwrap();
    assert!(error.contains("could not connect"), "{error}");
    assert_eq!((state["dropped"].as_u64(), state["delivered"].as_u64()), (Some(5), Some(0)));

    // Registered again (a receiver that answers now), later events flow.
    let hook = receiver(ok).await;
    emulator.configure(&json!({"events": {"webhookUrl": hook.url}})).unwrap();
    upload(&client, &emulator, "after.jpg", b"bytes").await;
    emulator.events_idle().await;
    let state = emulator.state()["events"].clone();
    assert_eq!(state["registration"]["status"], "active", "{state}");
    assert_eq!(state["delivered"], 1);
    assert_eq!(hook.posts().len(), 1);
    emulator.stop().await;
}

#[tokio::test]
async fn a_handshake_that_is_not_echoed_disables_the_registration() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/silent", listener.local_addr().unwrap());
    // A server that answers every request 200 with an empty body.
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            tokio::spawn(async move {
                let service = service_fn(|_req| async {
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(b"ok"))))
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    let emulator = start(events_config(&url, json!({}))).await;
    emulator.events_idle().await;
    let registration = emulator.state()["events"]["registration"].clone();
    assert_eq!(registration["status"], "disabled");
    assert_eq!(registration["challenges"], 1, "not echoed is not retried");
    assert!(registration["error"].as_str().unwrap().contains("without echoing"), "{registration}");
    emulator.stop().await;
}

#[tokio::test]
async fn duplicates_resend_a_delivered_event_and_reordering_holds_events_back() {
    let hook = receiver(ok).await;
    let emulator = start(events_config(&hook.url, json!({"duplicateRate": 1.0, "reorderRate": 0.5, "seed": 11}))).await;
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(upload(&client, &emulator, &format!("d{i}.jpg"), b"bytes").await);
    }
    emulator.events_idle().await;

    let posts = hook.posts();
    assert_eq!(posts.len(), 24);
    let state = emulator.state()["events"].clone();
    assert_eq!(state["published"], 12, "{state}");
    assert_eq!(state["delivered"], 12);
    assert_eq!(state["duplicatesSent"], 12);
    assert!(state["reordered"].as_u64().unwrap() > 0, "{state}");
    // Each event twice: the same id and the same signed bytes, another delivery id.
    for id in &ids {
        let copies: Vec<&Received> = posts.iter().filter(|r| r.json()["data"]["assetId"] == id.as_str()).collect();
        assert_eq!(copies.len(), 2, "{id}");
        assert_eq!(copies[0].body, copies[1].body);
        assert_eq!(copies[0].header("x-adobe-event-id"), copies[1].header("x-adobe-event-id"));
        assert_ne!(copies[0].header("x-adobe-delivery-id"), copies[1].header("x-adobe-delivery-id"));
        assert!(copies[1].header("x-adobe-retry-count").is_none());
    }
    emulator.stop().await;
}

#[tokio::test]
async fn a_rotated_key_breaks_signature_one_and_signature_two_still_verifies() {
    let hook = receiver(ok).await;
    let emulator = start(events_config(&hook.url, json!({"invalidSignature1": true, "processingDelayMs": 0}))).await;
    let client = reqwest::Client::new();
    upload(&client, &emulator, "rotated.jpg", b"bytes").await;
    emulator.events_idle().await;
    let posts = hook.posts();
    assert_eq!(posts.len(), 1);
    assert!(!verifies(&client, &emulator, &posts[0], 1).await);
    assert!(verifies(&client, &emulator, &posts[0], 2).await);
    emulator.stop().await;
}

#[tokio::test]
async fn a_folder_delete_reports_each_asset_and_the_control_route_waits_for_idle() {
    let hook = receiver(ok).await;
    let emulator = start(events_config(&hook.url, json!({"processingDelayMs": 0}))).await;
    let client = reqwest::Client::new();
    let res = client
        .post(format!("{}/api/assets/box", emulator.url()))
        .header("authorization", AUTH)
        .header("content-type", "application/json")
        .body(json!({"class": "assetFolder", "properties": {"title": "Box"}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    for name in ["a.jpg", "b.jpg"] {
        let res = client
            .post(format!("{}/content/dam/box.initiateUpload.json", emulator.url()))
            .header("authorization", AUTH)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("fileName={name}&fileSize=1"))
            .send()
            .await
            .unwrap();
        let answer: Value = res.json_value().await;
        let file = &answer["files"][0];
        client.put(file["uploadURIs"][0].as_str().unwrap()).body("x").send().await.unwrap();
        let res = client
            .post(format!("{}{}", emulator.url(), answer["completeURI"].as_str().unwrap()))
            .header("authorization", AUTH)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "fileName={name}&fileSize=1&mimeType=image%2Fjpeg&uploadToken={}",
                urlencode(file["uploadToken"].as_str().unwrap())
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let res = client.delete(format!("{}/api/assets/box", emulator.url())).header("authorization", AUTH).send().await;
    assert_eq!(res.unwrap().status(), 200);

    let res = client.post(format!("{}/_emulator/events/idle", emulator.url())).send().await.unwrap();
    let answer = res.json_value().await;
    assert_eq!(answer["idle"], true, "{answer}");
    assert_eq!(answer["events"]["delivered"], 4);
    let deleted: Vec<String> = of_type(&hook.posts(), "aem.assets.asset.deleted")
        .iter()
        .map(|r| r.json()["data"]["repositoryMetadata"]["repo:path"].as_str().unwrap().to_string())
        .collect();
    let mut deleted = deleted;
    deleted.sort();
    assert_eq!(deleted, ["/content/dam/box/a.jpg", "/content/dam/box/b.jpg"]);
    let state = client.get(format!("{}/_emulator/events", emulator.url())).send().await.unwrap().json_value().await;
    assert_eq!(state["published"], 4);
    emulator.stop().await;
}

#[tokio::test]
async fn events_beyond_the_queue_limit_are_dropped_and_counted() {
    // A receiver that keeps failing, and a backoff that keeps its events waiting.
    let hook = receiver(|_, _| (503, String::new())).await;
    let config =
        events_config(&hook.url, json!({"queueLimit": 3, "processingDelayMs": 0, "retryBackoffMs": 3_600_000}));
    let emulator = start(config).await;
    let client = reqwest::Client::new();
    // The handshake first, so that every event below is handed to a delivery.
    while emulator.state()["events"]["registration"]["status"] != "active" {
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    for i in 0..6 {
        upload(&client, &emulator, &format!("q{i}.jpg"), b"bytes").await;
    }
    assert_eq!(emulator.state()["assets"].as_array().unwrap().len(), 6);
    let state = emulator.state()["events"].clone();
    assert_eq!((state["published"].as_u64(), state["dropped"].as_u64()), (Some(3), Some(3)), "{state}");
    assert_eq!(state["idle"], false);
    // Stopping ends the waiting deliveries.
    emulator.stop().await;
    emulator.events_idle().await;
}
