//! Asset events end to end through the public API: bodies signed with fresh
//! RSA keys, the public keys served by a small HTTP server written here (not
//! the emulator), fetched through the engine's client.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aem_upload_engine::asset_events::signature::{HttpKeySource, Verifier};
use aem_upload_engine::asset_events::webhook::{self, Receiver, Reception};
use aem_upload_engine::asset_events::EventDeduper;
use aem_upload_engine::asset_events::{AssetEventType, EventErrorCode, SignatureHeaders};
use base64::Engine as _;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer};
use rsa::PrivateKey;
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the key server does.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Serve,
    Fail503,
    Hang,
}

/// Serves `path -> PEM` over HTTP/1.1, one request per connection, counting requests.
struct KeyServer {
    url: String,
    keys: Arc<Mutex<Vec<(String, String)>>>,
    mode: Arc<Mutex<Mode>>,
    requests: Arc<AtomicUsize>,
}

impl KeyServer {
    async fn start() -> KeyServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let keys: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let mode = Arc::new(Mutex::new(Mode::Serve));
        let requests = Arc::new(AtomicUsize::new(0));
        let (k, m, r) = (keys.clone(), mode.clone(), requests.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { return };
                let (k, m, r) = (k.clone(), m.clone(), r.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut len = 0;
                    while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf[len..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => len += n,
                        }
                    }
                    r.fetch_add(1, Ordering::SeqCst);
                    let request = String::from_utf8_lossy(&buf[..len]).to_string();
                    let path = request.split(' ').nth(1).unwrap_or("").to_string();
                    let mode = *m.lock().unwrap();
                    let (status, body) = match mode {
                        Mode::Hang => {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                            return;
                        }
                        Mode::Fail503 => ("503 Service Unavailable", String::new()),
                        Mode::Serve => match k.lock().unwrap().iter().find(|(p, _)| *p == path) {
                            Some((_, pem)) => ("200 OK", pem.clone()),
                            None => ("404 Not Found", String::new()),
                        },
                    };
                    let answer = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/x-pem-file\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                });
            }
        });
        KeyServer { url, keys, mode, requests }
    }

    fn serve(&self, path: &str, key: &PrivateKey) {
        let pem = key.to_public_key().to_public_key_pem(LineEnding::LF).unwrap();
        self.keys.lock().unwrap().push((path.to_string(), pem));
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn new_key() -> PrivateKey {
    PrivateKey::new(&mut getrandom::SysRng, 2048).unwrap()
}

fn sign(key: &PrivateKey, body: &[u8]) -> String {
    let signature = SigningKey::<Sha256>::new(key.clone()).sign(body);
    base64::engine::general_purpose::STANDARD.encode(signature.to_bytes())
}

fn event_body(id: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "specversion": "1.0",
        "id": id,
        "source": "acct:aem-p42-e4242@adobe.com",
        "type": "aem.assets.asset.processing_completed",
        "datacontenttype": "application/json",
        "time": "2026-01-02T03:04:05.123456789Z",
        "recipient_client_id": "my-client",
        "data": {
            "assetId": "urn:aaid:aem:11111111-2222-4333-8444-555555555555",
            "repositoryMetadata": { "repo:path": "/content/dam/a.jpg", "repo:size": "12", "aem:assetState": "processed" }
        }
    }))
    .unwrap()
}

fn delivery(sig1: &str, sig2: &str) -> Vec<(String, String)> {
    vec![
        ("content-type".into(), "application/cloudevents+json; charset=UTF-8".into()),
        ("x-adobe-event-id".into(), "io-event-1".into()),
        ("x-adobe-digital-signature-1".into(), sig1.into()),
        ("x-adobe-digital-signature-2".into(), sig2.into()),
        ("x-adobe-public-key1-path".into(), "/prod/keys/pub-key-one.pem".into()),
        ("x-adobe-public-key2-path".into(), "/prod/keys/pub-key-two.pem".into()),
    ]
}

fn pairs(headers: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> + Clone {
    headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
}

fn verifier(server: &KeyServer, timeout: Duration) -> Verifier {
    Verifier::new(Arc::new(HttpKeySource::new(Some(&server.url), timeout).unwrap()))
}

#[tokio::test]
async fn signed_deliveries_verify_through_a_real_key_server() {
    let server = KeyServer::start().await;
    let (one, two, stranger) = (new_key(), new_key(), new_key());
    server.serve("/prod/keys/pub-key-one.pem", &one);
    server.serve("/prod/keys/pub-key-two.pem", &two);
    let verifier = verifier(&server, Duration::from_secs(5));
    let body = event_body("ce-1");

    // Good: both signatures valid. Then the webhook's view of it.
    let headers = delivery(&sign(&one, &body), &sign(&two, &body));
    let h = SignatureHeaders::from_pairs(pairs(&headers));
    verifier.verify(&body, &h, Some("my-client")).await.unwrap();
    let reception = webhook::receive(&verifier, &body, pairs(&headers), Some("my-client")).await;
    assert_eq!(reception.status(), 200);
    let Reception::Events { events, invalid, .. } = reception else { panic!("not events") };
    assert!(invalid.is_empty());
    assert_eq!(events[0].kind, AssetEventType::ProcessingCompleted);
    // The event id came from x-adobe-event-id, the body has none.
    assert_eq!(events[0].event_id.as_deref(), Some("io-event-1"));
    assert_eq!(events[0].size, Some(12));

    // Rotation: signature 1 made with a key that is no longer served, 2 good.
    let rotated = delivery(&sign(&stranger, &body), &sign(&two, &body));
    verifier.verify(&body, &SignatureHeaders::from_pairs(pairs(&rotated)), None).await.unwrap();

    // Forged body, wrong key, swapped signatures, wrong recipient: refused.
    let mut forged = body.clone();
    let at = forged.iter().position(|b| *b == b'1').unwrap();
    forged[at] = b'2';
    let refused = [
        (forged.clone(), delivery(&sign(&one, &body), &sign(&two, &body)), None, "mismatch"),
        (body.clone(), delivery(&sign(&stranger, &body), &sign(&stranger, &body)), None, "mismatch"),
        (body.clone(), delivery(&sign(&two, &body), &sign(&one, &body)), None, "mismatch"),
        (body.clone(), delivery(&sign(&one, &body), &sign(&two, &body)), Some("other-client"), "recipient"),
    ];
    for (body, headers, client, reason) in refused {
        let err = verifier.verify(&body, &SignatureHeaders::from_pairs(pairs(&headers)), client).await.unwrap_err();
        assert_eq!((err.code(), err.reason()), (EventErrorCode::Signature, reason), "{err}");
        let reception = webhook::receive(&verifier, &body, pairs(&headers), client).await;
        assert_eq!(reception.status(), 401);
    }
    // Signed but not JSON: no recipient to check, so a 400 (no event), not a 401.
    let garbage = b"not json".to_vec();
    let headers = delivery(&sign(&one, &garbage), &sign(&two, &garbage));
    assert_eq!(webhook::receive(&verifier, &garbage, pairs(&headers), Some("my-client")).await.status(), 400);
    let headers = delivery(&sign(&stranger, &garbage), &sign(&stranger, &garbage));
    assert_eq!(webhook::receive(&verifier, &garbage, pairs(&headers), Some("my-client")).await.status(), 401);
    // Two keys, each fetched once and then cached.
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn key_paths_that_leave_the_host_are_never_fetched() {
    let server = KeyServer::start().await;
    let key = new_key();
    let body = event_body("ce-2");
    let verifier = verifier(&server, Duration::from_secs(5));
    for path in ["/../secret.pem", "@127.0.0.1:1/k.pem", "http://127.0.0.1:1/k.pem", "/a/%2e%2e/k.pem"] {
        let headers = vec![
            ("x-adobe-digital-signature-1".to_string(), sign(&key, &body)),
            ("x-adobe-public-key1-path".to_string(), path.to_string()),
        ];
        let err = verifier.verify(&body, &SignatureHeaders::from_pairs(pairs(&headers)), None).await.unwrap_err();
        assert_eq!(err.reason(), "key-path", "{path}");
    }
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn a_key_host_that_fails_or_hangs_makes_the_delivery_retryable() {
    let server = KeyServer::start().await;
    let (one, two) = (new_key(), new_key());
    server.serve("/prod/keys/pub-key-one.pem", &one);
    let body = event_body("ce-3");
    let headers = delivery(&sign(&one, &body), &sign(&two, &body));
    let verifier = verifier(&server, Duration::from_millis(500));

    *server.mode.lock().unwrap() = Mode::Fail503;
    let err = verifier.verify(&body, &SignatureHeaders::from_pairs(pairs(&headers)), None).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(webhook::receive(&verifier, &body, pairs(&headers), None).await.status(), 503);

    *server.mode.lock().unwrap() = Mode::Hang;
    let err = verifier.verify(&body, &SignatureHeaders::from_pairs(pairs(&headers)), None).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");

    // Back up: the same delivery verifies (nothing bad was cached).
    *server.mode.lock().unwrap() = Mode::Serve;
    verifier.verify(&body, &SignatureHeaders::from_pairs(pairs(&headers)), None).await.unwrap();

    // A key the host does not have is final (and key 2 is tried: 404 too).
    let verifier = Verifier::new(Arc::new(
        HttpKeySource::new(Some(&format!("{}/elsewhere", server.url)), Duration::from_secs(5)).unwrap(),
    ));
    let err = verifier.verify(&body, &SignatureHeaders::from_pairs(pairs(&headers)), None).await.unwrap_err();
    assert_eq!(err.reason(), "key");
    assert!(!err.is_transient());
    assert!(err.message().contains("404"), "{err}");
}

#[tokio::test]
async fn a_receiver_hands_on_each_event_once_and_again_after_a_failure() {
    let server = KeyServer::start().await;
    let one = new_key();
    server.serve("/prod/keys/pub-key-one.pem", &one);
    let deduper = Arc::new(Mutex::new(EventDeduper::new(100, Duration::from_secs(3600))));
    let verifier = Arc::new(verifier(&server, Duration::from_secs(5)));
    let receiver = Receiver::new(Arc::clone(&verifier), Some("my-client".into()), Some(Arc::clone(&deduper)));
    let received = |r: Reception| match r {
        Reception::Events { events, duplicates, invalid } if invalid.is_empty() => (events, duplicates),
        other => panic!("{other:?}"),
    };
    let ids = |events: &[aem_upload_engine::asset_events::AssetEvent]| {
        events.iter().map(|e| e.id.clone()).collect::<Vec<_>>()
    };

    let body = event_body("ce-4");
    let headers = delivery(&sign(&one, &body), "AAAA");
    let (events, duplicates) = received(receiver.receive(&body, pairs(&headers)).await);
    assert_eq!((ids(&events), duplicates), (vec!["ce-4".to_string()], 0));
    // Redelivered: a duplicate, left out.
    let (again, duplicates) = received(receiver.receive(&body, pairs(&headers)).await);
    assert_eq!((again.len(), duplicates), (0, 1));
    // The handler failed for it: forgotten, so the retry is handed on, once.
    receiver.failed(&events[0].dedupe_key());
    let (retry, _) = received(receiver.receive(&body, pairs(&headers)).await);
    assert_eq!(ids(&retry), ["ce-4"]);

    // A batch repeating an event, and a second receiver sharing the deduper.
    let batch = format!(
        "[{},{},{}]",
        String::from_utf8(event_body("ce-5")).unwrap(),
        String::from_utf8(event_body("ce-5")).unwrap(),
        String::from_utf8(event_body("ce-6")).unwrap()
    )
    .into_bytes();
    let headers = delivery(&sign(&one, &batch), "AAAA");
    let (events, duplicates) = received(receiver.receive(&batch, pairs(&headers)).await);
    assert_eq!((ids(&events), duplicates), (vec!["ce-5".to_string(), "ce-6".to_string()], 1));
    let other = Receiver::new(verifier, None, Some(deduper));
    let (events, duplicates) = received(other.receive(&batch, pairs(&headers)).await);
    assert_eq!((events.len(), duplicates), (0, 3));
}
