//! Adobe I/O Events digital signatures.
//!
//! Every delivery carries two base64 RSA signatures of the raw body
//! (`x-adobe-digital-signature-1`/`-2`, RSASSA-PKCS1-v1_5 with SHA-256:
//! Node's `crypto.verify('rsa-sha256', …)`, Java's `SHA256withRSA`) and the
//! paths of the two public keys (`x-adobe-public-key1-path`/`-2-path`, e.g.
//! `/prod/keys/pub-key-<id>.pem`) on `https://static.adobeioevents.com`.
//! Either signature verifying is enough: that is what lets Adobe rotate one
//! key at a time. Keys are PEM (SPKI, or PKCS#1), cached for at most 24 hours
//! as Adobe asks (I/O Events sends no `Cache-Control`).
//!
//! The key path comes from the request, so an attacker chooses it: it is
//! only ever joined to the configured key host, and a path that could leave
//! it (an absolute URL, `//host`, `@host`, `..`, percent escapes, anything
//! outside `[A-Za-z0-9._~/-]`) is refused before any fetch. Adobe's Node
//! verifier concatenates strings, where `@evil.example/k.pem` would change the
//! host; this one checks the joined URL's origin and path prefix as well.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures_util::future::BoxFuture;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT};
use reqwest::{Method, Url};
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier as _;
use rsa::traits::PublicKeyParts;
use rsa::PublicKey as RsaPublicKey;
use sha2::Sha256;
use tokio_util::sync::CancellationToken;

use super::error::reason;
use super::{signed_payload, EventError};
use crate::http::{self, Client, ClientOptions, RetryPolicy};

/// Where Adobe I/O Events serves its public keys.
pub const DEFAULT_KEY_BASE_URL: &str = "https://static.adobeioevents.com";
/// The signature headers, in the order they are tried.
pub const SIGNATURE_HEADERS: [&str; 2] = ["x-adobe-digital-signature-1", "x-adobe-digital-signature-2"];
/// The key-path headers matching [`SIGNATURE_HEADERS`].
pub const KEY_PATH_HEADERS: [&str; 2] = ["x-adobe-public-key1-path", "x-adobe-public-key2-path"];
/// The longest key held: Adobe's keys are 2048-bit RSA, a few hundred bytes of PEM.
const MAX_KEY_BYTES: usize = 16 * 1024;
const MAX_KEY_PATH: usize = 512;
/// Adobe asks for at most a day.
pub const MAX_KEY_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Keys held at once: two are live at any time, a few more around rotations.
const MAX_CACHED_KEYS: usize = 16;
/// Smallest RSA modulus accepted.
const MIN_KEY_BITS: usize = 2048;

/// The signature headers of one delivery, read case-insensitively.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignatureHeaders {
    signatures: [Option<String>; 2],
    key_paths: [Option<String>; 2],
}

impl SignatureHeaders {
    /// Picks the four headers out of `(name, value)` pairs; other headers are ignored.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> SignatureHeaders {
        let mut headers = SignatureHeaders::default();
        for (name, value) in pairs {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            for i in 0..2 {
                if name.eq_ignore_ascii_case(SIGNATURE_HEADERS[i]) {
                    headers.signatures[i] = Some(value.to_string());
                } else if name.eq_ignore_ascii_case(KEY_PATH_HEADERS[i]) {
                    headers.key_paths[i] = Some(value.to_string());
                }
            }
        }
        headers
    }

    /// The complete (signature, key path) pairs, with their number (1 or 2).
    fn pairs(&self) -> impl Iterator<Item = (usize, &str, &str)> {
        (0..2).filter_map(|i| match (&self.signatures[i], &self.key_paths[i]) {
            (Some(sig), Some(path)) => Some((i + 1, sig.as_str(), path.as_str())),
            _ => None,
        })
    }
}

/// Why a key could not be had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyFetchError {
    /// The key host has no such key (a 4xx): refusing is final.
    NotFound(String),
    /// Not reachable now (network, timeout, 5xx): a later delivery may succeed.
    Unavailable(String),
}

/// Supplies the PEM public key at a (checked) key path.
pub trait KeySource: Send + Sync {
    fn fetch<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<String, KeyFetchError>>;
}

/// Fetches keys over HTTP(S) from one base URL, through the engine's client.
pub struct HttpKeySource {
    client: Client,
    base: Url,
    timeout: Duration,
}

impl HttpKeySource {
    /// `base`: an `http`/`https` URL without query or fragment (default
    /// [`DEFAULT_KEY_BASE_URL`]); `timeout` bounds each fetch, retries included.
    pub fn new(base: Option<&str>, timeout: Duration) -> Result<HttpKeySource, String> {
        let base_text = base.unwrap_or(DEFAULT_KEY_BASE_URL);
        let base = Url::parse(base_text).map_err(|e| format!("keyBaseUrl {base_text:?} is not a URL: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
            return Err(format!("keyBaseUrl {base_text:?} is not an http(s) URL"));
        }
        if base.query().is_some() || base.fragment().is_some() || !base.username().is_empty() {
            return Err(format!("keyBaseUrl {base_text:?} has a query, fragment or user name"));
        }
        let client = Client::new(&ClientOptions::default()).map_err(|e| e.to_string())?;
        Ok(HttpKeySource { client, base, timeout })
    }

    /// The URL of `path` under the base, or why it would leave it.
    pub fn key_url(&self, path: &str) -> Result<Url, String> {
        check_key_path(path)?;
        let prefix = self.base.path().trim_end_matches('/');
        let joined = format!("{}{prefix}{path}", self.base.origin().ascii_serialization());
        let url = Url::parse(&joined).map_err(|e| format!("key path {path:?} does not make a URL: {e}"))?;
        if url.origin() != self.base.origin()
            || !url.path().starts_with(prefix)
            || url.path() != format!("{prefix}{path}")
        {
            return Err(format!("key path {path:?} leaves the key host"));
        }
        Ok(url)
    }
}

impl KeySource for HttpKeySource {
    fn fetch<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<String, KeyFetchError>> {
        Box::pin(async move {
            let url = self.key_url(path).map_err(KeyFetchError::NotFound)?;
            let mut headers = HeaderMap::new();
            headers.insert(ACCEPT, HeaderValue::from_static("application/x-pem-file, text/plain, */*"));
            let request = http::Request::with_bytes(Method::GET, &url, headers, bytes::Bytes::new());
            // One retry for a 5xx or a dropped connection; 4xx answers are final.
            let policy = RetryPolicy::new(2, Duration::from_millis(200), 1).with_idle_timeout(Some(self.timeout));
            let never = CancellationToken::new();
            let mut ignore_retries = |_: &crate::Error| {};
            let send = self.client.send(&request, &policy, &never, &mut ignore_retries);
            let answer = match tokio::time::timeout(self.timeout, send).await {
                Err(_) => {
                    return Err(KeyFetchError::Unavailable(format!(
                        "no answer from the key host in {} ms",
                        self.timeout.as_millis()
                    )))
                }
                Ok(Err(failure)) => {
                    return Err(match failure.status {
                        Some(status) if status.is_client_error() && status.as_u16() != 429 => {
                            KeyFetchError::NotFound(format!("the key host answered {status}"))
                        }
                        _ => KeyFetchError::Unavailable(failure.error.to_string()),
                    })
                }
                Ok(Ok(answer)) => answer,
            };
            if answer.body.len() > MAX_KEY_BYTES {
                return Err(KeyFetchError::NotFound(format!("the key is larger than {MAX_KEY_BYTES} bytes")));
            }
            String::from_utf8(answer.body.to_vec()).map_err(|_| KeyFetchError::NotFound("the key is not text".into()))
        })
    }
}

/// A key path as I/O Events sends it: absolute, plain segments, no escapes.
pub fn check_key_path(path: &str) -> Result<(), String> {
    let plain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-');
    let ok = path.len() <= MAX_KEY_PATH
        && path.starts_with('/')
        && path[1..].split('/').all(|seg| !seg.is_empty() && seg != "." && seg != ".." && seg.bytes().all(plain));
    if ok {
        Ok(())
    } else {
        Err(format!("key path {:?} is not a plain path on the key host", path.chars().take(100).collect::<String>()))
    }
}

/// A parsed RSA public key from PEM: SPKI (`BEGIN PUBLIC KEY`, what Adobe
/// serves) or PKCS#1 (`BEGIN RSA PUBLIC KEY`).
pub fn parse_public_key(pem: &str) -> Result<RsaPublicKey, String> {
    let decode = |pem: &str| RsaPublicKey::from_public_key_pem(pem).or_else(|_| RsaPublicKey::from_pkcs1_pem(pem));
    let key = decode(pem.trim())
        .or_else(|e| rewrapped_pem(pem).ok_or(e).and_then(|pem| decode(&pem)))
        .map_err(|_| "the key is not a PEM RSA public key".to_string())?;
    if key.size() * 8 < MIN_KEY_BITS {
        return Err(format!("the key has {} bits, fewer than {MIN_KEY_BITS}", key.size() * 8));
    }
    Ok(key)
}

/// `pem` with its base64 in 64-character lines and LF endings, as RFC 7468
/// parsers require (keys pasted on one line, or with CRLF, are common).
fn rewrapped_pem(pem: &str) -> Option<String> {
    let begin = pem.find("-----BEGIN ")? + "-----BEGIN ".len();
    let label_len = pem[begin..].find("-----")?;
    let label = &pem[begin..begin + label_len];
    let footer = format!("-----END {label}-----");
    let end = pem.find(&footer)?;
    let body: String = pem.get(begin + label_len + 5..end)?.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let lines: Vec<&str> = body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or("")).collect();
    Some(format!("-----BEGIN {label}-----\n{}\n{footer}\n", lines.join("\n")))
}

/// Whether `signature` (base64) is `key`'s RSA-SHA256 signature of `body`.
pub fn verify_with_key(body: &[u8], signature: &str, key: &RsaPublicKey) -> bool {
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else { return false };
    let Ok(signature) = Signature::try_from(raw.as_slice()) else { return false };
    VerifyingKey::<Sha256>::new(key.clone()).verify(body, &signature).is_ok()
}

/// Checks that every event of `body` names `client_id` as its recipient
/// (`recipient_client_id`, or `recipientclientid`); a batch must agree throughout.
pub fn check_recipient(body: &[u8], client_id: &str) -> Result<(), EventError> {
    let value: serde_json::Value = serde_json::from_slice(&signed_payload(body)).map_err(|_| {
        EventError::signature(reason::RECIPIENT, "The body is not JSON, so its recipient cannot be checked")
    })?;
    let events = match &value {
        serde_json::Value::Array(items) => items.iter().collect::<Vec<_>>(),
        single => vec![single],
    };
    for (i, event) in events.into_iter().enumerate() {
        let recipient = ["recipient_client_id", "recipientclientid"]
            .iter()
            .find_map(|name| event.get(name).and_then(serde_json::Value::as_str));
        match recipient {
            Some(id) if id == client_id => {}
            Some(_) => {
                return Err(EventError::signature(
                    reason::RECIPIENT,
                    format!("Event {i} is for another client id (recipient_client_id differs)"),
                ))
            }
            None => {
                return Err(EventError::signature(reason::RECIPIENT, format!("Event {i} has no recipient_client_id")))
            }
        }
    }
    Ok(())
}

/// One cached key: filled by the first caller, which the others wait for.
type KeySlot = Arc<tokio::sync::Mutex<Option<(Arc<RsaPublicKey>, Instant)>>>;

/// Verifies deliveries, holding the keys it fetched.
pub struct Verifier {
    source: Arc<dyn KeySource>,
    key_ttl: Duration,
    keys: Mutex<HashMap<String, (KeySlot, Instant)>>,
}

enum PairOutcome {
    Verified,
    Refused(&'static str, String),
}

impl Verifier {
    pub fn new(source: Arc<dyn KeySource>) -> Verifier {
        Verifier { source, key_ttl: MAX_KEY_TTL, keys: Mutex::new(HashMap::new()) }
    }

    /// How long a fetched key is trusted (at most [`MAX_KEY_TTL`]).
    pub fn with_key_ttl(mut self, ttl: Duration) -> Verifier {
        self.key_ttl = ttl.min(MAX_KEY_TTL);
        self
    }

    /// Proves that `body` was signed by Adobe I/O Events (either signature
    /// verifying with its key) and, with `client_id`, that it is meant for
    /// that client. Key 2 is only fetched when signature 1 does not verify.
    pub async fn verify(
        &self,
        body: &[u8],
        headers: &SignatureHeaders,
        client_id: Option<&str>,
    ) -> Result<(), EventError> {
        if headers.pairs().next().is_none() {
            return Err(EventError::signature(
                reason::HEADERS,
                format!(
                    "The delivery has no complete signature: it needs {} with {} (or {} with {})",
                    SIGNATURE_HEADERS[0], KEY_PATH_HEADERS[0], SIGNATURE_HEADERS[1], KEY_PATH_HEADERS[1]
                ),
            ));
        }
        if let Some(client_id) = client_id {
            check_recipient(body, client_id)?;
        }
        let payload = signed_payload(body);
        let mut refusals = Vec::new();
        for (n, signature, path) in headers.pairs() {
            match self.verify_pair(&payload, signature, path).await {
                PairOutcome::Verified => return Ok(()),
                PairOutcome::Refused(why, message) => refusals.push((why, format!("signature {n}: {message}"))),
            }
        }
        // A key that could not be fetched now makes the whole delivery
        // worth retrying; otherwise the most telling reason wins.
        let rank = |r: &str| match r {
            reason::KEY_UNAVAILABLE => 0,
            reason::KEY_PATH => 1,
            reason::MISMATCH => 2,
            _ => 3,
        };
        let why = refusals.iter().map(|(why, _)| *why).min_by_key(|r| rank(r)).unwrap_or(reason::MISMATCH);
        let detail = refusals.into_iter().map(|(_, message)| message).collect::<Vec<_>>().join("; ");
        Err(EventError::signature(why, format!("No signature verifies the body ({detail})")))
    }

    async fn verify_pair(&self, payload: &[u8], signature: &str, path: &str) -> PairOutcome {
        if let Err(message) = check_key_path(path) {
            return PairOutcome::Refused(reason::KEY_PATH, message);
        }
        let key = match self.key(path).await {
            Ok(key) => key,
            Err(KeyFetchError::NotFound(message)) => {
                return PairOutcome::Refused(reason::KEY, format!("key {path}: {message}"))
            }
            Err(KeyFetchError::Unavailable(message)) => {
                return PairOutcome::Refused(reason::KEY_UNAVAILABLE, format!("key {path}: {message}"))
            }
        };
        if verify_with_key(payload, signature, &key) {
            PairOutcome::Verified
        } else {
            PairOutcome::Refused(reason::MISMATCH, format!("does not match the body with key {path}"))
        }
    }

    /// The key at `path`, from the cache while fresh. Concurrent callers for
    /// one path share one fetch; failures are not cached.
    async fn key(&self, path: &str) -> Result<Arc<RsaPublicKey>, KeyFetchError> {
        let slot = {
            let mut keys = self.keys.lock().unwrap();
            if !keys.contains_key(path) && keys.len() >= MAX_CACHED_KEYS {
                // Forget the least recently used key.
                if let Some(oldest) = keys.iter().min_by_key(|(_, (_, used))| *used).map(|(k, _)| k.clone()) {
                    keys.remove(&oldest);
                }
            }
            let entry = keys.entry(path.to_string()).or_insert_with(|| (KeySlot::default(), Instant::now()));
            entry.1 = Instant::now();
            Arc::clone(&entry.0)
        };
        let mut held = slot.lock().await;
        if let Some((key, fetched)) = held.as_ref() {
            if fetched.elapsed() < self.key_ttl {
                return Ok(Arc::clone(key));
            }
        }
        let pem = self.source.fetch(path).await?;
        let key = Arc::new(parse_public_key(&pem).map_err(KeyFetchError::NotFound)?);
        *held = Some((Arc::clone(&key), Instant::now()));
        Ok(key)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::asset_events::EventErrorCode;

    // Adobe's own test vectors (Apache-2.0): a payload, a key and its
    // signature from @adobe/aio-lib-events `test/mock.js`, and a batch
    // payload with its key and signature from aio-lib-java
    // `events_webhook/.../EventVerifierTest.java`. They were made by Adobe's
    // code, so they check this verifier against the real scheme, not against
    // itself.
    pub const ADOBE_PAYLOAD: &str =
        r#"{"event_id":"eventId1","event":{"hello":"world"},"recipient_client_id":"client_id1"}"#;
    pub const ADOBE_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEArGwUIIdaBSUrZq4V24cL
R3I19gel9uBBmXE3lt4oVHF0lMsHnA72cJNf/IPFYDWElM/tE4bat8p78O2ZQpus
6nzi/ISfSWprWhvTuI5sKx6CVgbRIzUM6VTIcvo8o3PK49HbgacRiUABZ1uNo7Cz
Pfmu5xAY+l2Ie1Dt8yperotKAKJmuPYeFWKGe9tzbPYgFluCy8DjPp2gGsmjsorR
/CVRJq8fWl5aTLha+ZHSTuyNY+RQhC/fZ7CHf89EdSvonyu6W7/SJmSf9DGGjmX0
HJNREqdTE9QdbSBMfNn/pa9fCGwR3yEoAZCkfVG06Xx02vOI0Q1RAkf2tGhO4bsZ
cwIDAQAB
-----END PUBLIC KEY-----
";
    pub const ADOBE_SIGNATURE: &str = "Hgq9NEIAtFItHQfHYi2x94zAaHG7088PUDLdpSTdsFjLPD+IJCrKpSf4bxNeh3vHmMqj6zUVYfFEYvgI0riJNx12b3wIMHhoa/MxQGzzCcN4GnB/LVaTm9/1LZSxKpyR34FhaaYxbN3u3dSE60zk5swjzMKUFRmFiiE6k0knjcM+e0E3f1g9kFXgy/dUIOlty4SlS3hbv1UHS/BYXakH7d0lb4mrNxHIGNuIyFRmMpbZ4KyXDJo5nCQqvW0dZKAikpavf58/S8xbYyhJTImNJaUMZYQ5m8KD6H1ME48Hr3Q+Vgte9cXrTCreK1tVqCCy/ZaQGC7Z/qPOC+D849hi9g==";
    const JAVA_BATCH_PAYLOAD: &str =
        r#"[{"event_id":"eventId1","event":{"hello":"world"},"recipient_client_id":"client_id1"}]"#;
    const JAVA_BATCH_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA32C7cnLjR0a7nAkPff9u2EaWMeSHepagN65lP5KT0g8crCGX2ZKnU3Q87GR/dJXXa8TO8Q/khVf64faO+mLdhFrpXu1fCPIaWmvKMVhwUdE8gh/jQKKiM7VP6o4K4SuhHrSJut7GFEfWemzl9MKP5ykhqKbx11Hse4GwpN26F/oUp5tAfycrPOkQjyUo/WOhLNZ/zJpsl9FQRpYGfHPWhIRXHuPvb32O1A1F9kNNYISphxPq6+htotnFGuXS3j2G928g0pX7SU2CYGkVBMVAMJqNqyVENaVON0sVA8u10aIPi9xIi9vR9rGpridIP+zMiwsv+H1zWoU5CX4eN5RN/QIDAQAB
-----END PUBLIC KEY-----";
    const JAVA_BATCH_SIGNATURE: &str = "FHdNfD32TWCLbTUbnQykLWfyNfD+XpNroo0sqmVMhmdMGUqVQMkg7SVfIr8vt12EhGPzapqIbgFe2b6lU7isflzzJWQfpN+BB7brMzfrxQVDkAZZP7hvm9FLqPVAV24/jLojyfNJbLNufEN8rg0+u90bGxZjzAOAWdHdkA3xbJudJc+mzpW0GSxKN7QszrIC0P0A2bTmpvfVtyCbR3uM9JVwBPwR0yqq0EuFV2GeFhnJzDqH4qq8Q4kScOmgMK/9p/Ii2Km0KquYnBFC7GsPE2OVrZulmOZZpy1F2YNY2NEPehbtqtgVvbKCafzwi85LnOC/ZXbfOnN4HMoWwS6MSQ==";

    /// Keys by path, counting fetches; `fail` paths are unavailable.
    #[derive(Default)]
    pub struct MapKeys {
        pub keys: HashMap<String, String>,
        pub fail: Vec<String>,
        pub fetches: AtomicUsize,
    }

    impl KeySource for MapKeys {
        fn fetch<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<String, KeyFetchError>> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                if self.fail.iter().any(|p| p == path) {
                    return Err(KeyFetchError::Unavailable("connection refused".into()));
                }
                self.keys.get(path).cloned().ok_or_else(|| KeyFetchError::NotFound("the key host answered 404".into()))
            })
        }
    }

    fn keys(pairs: &[(&str, &str)]) -> Arc<MapKeys> {
        Arc::new(MapKeys {
            keys: pairs.iter().map(|(p, k)| (p.to_string(), k.to_string())).collect(),
            ..MapKeys::default()
        })
    }

    fn headers(pairs: &[(&str, &str)]) -> SignatureHeaders {
        SignatureHeaders::from_pairs(pairs.iter().copied())
    }

    fn adobe_headers(sig1: &str, sig2: &str) -> SignatureHeaders {
        headers(&[
            ("x-adobe-digital-signature-1", sig1),
            ("x-adobe-digital-signature-2", sig2),
            ("x-adobe-public-key1-path", "/prod/keys/pub-key-1.pem"),
            ("x-adobe-public-key2-path", "/prod/keys/pub-key-2.pem"),
        ])
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    }

    #[test]
    fn adobes_own_vectors_verify() {
        let key = parse_public_key(ADOBE_KEY).unwrap();
        assert!(verify_with_key(ADOBE_PAYLOAD.as_bytes(), ADOBE_SIGNATURE, &key));
        let batch_key = parse_public_key(JAVA_BATCH_KEY).unwrap();
        assert!(verify_with_key(JAVA_BATCH_PAYLOAD.as_bytes(), JAVA_BATCH_SIGNATURE, &batch_key));
        // One byte changed, another key, or a damaged signature: refused.
        assert!(!verify_with_key(ADOBE_PAYLOAD.replace("world", "World").as_bytes(), ADOBE_SIGNATURE, &key));
        assert!(!verify_with_key(ADOBE_PAYLOAD.as_bytes(), ADOBE_SIGNATURE, &batch_key));
        assert!(!verify_with_key(ADOBE_PAYLOAD.as_bytes(), &ADOBE_SIGNATURE.replace('H', "h"), &key));
        assert!(!verify_with_key(ADOBE_PAYLOAD.as_bytes(), "not base64!", &key));
        assert!(!verify_with_key(ADOBE_PAYLOAD.as_bytes(), "", &key));
    }

    #[test]
    fn either_signature_suffices_and_a_rotated_key_is_accepted() {
        let source = keys(&[("/prod/keys/pub-key-1.pem", JAVA_BATCH_KEY), ("/prod/keys/pub-key-2.pem", ADOBE_KEY)]);
        let verifier = Verifier::new(source.clone());
        let body = ADOBE_PAYLOAD.as_bytes();
        // Signature 1 bad (another key's), 2 good.
        block_on(verifier.verify(body, &adobe_headers(JAVA_BATCH_SIGNATURE, ADOBE_SIGNATURE), Some("client_id1")))
            .unwrap();
        // Both bad: a mismatch, naming both.
        let err = block_on(verifier.verify(body, &adobe_headers(JAVA_BATCH_SIGNATURE, "AAAA"), None)).unwrap_err();
        assert_eq!((err.code(), err.reason()), (EventErrorCode::Signature, reason::MISMATCH));
        assert!(err.message().contains("signature 1:") && err.message().contains("signature 2:"), "{err}");
        // The keys were fetched once each, then cached.
        assert_eq!(source.fetches.load(Ordering::SeqCst), 2);
        // Swapped signatures: each checked against the other's key.
        let source = keys(&[("/prod/keys/pub-key-1.pem", ADOBE_KEY), ("/prod/keys/pub-key-2.pem", JAVA_BATCH_KEY)]);
        let verifier = Verifier::new(source);
        block_on(verifier.verify(body, &adobe_headers(ADOBE_SIGNATURE, JAVA_BATCH_SIGNATURE), None)).unwrap();
        let err =
            block_on(verifier.verify(body, &adobe_headers(JAVA_BATCH_SIGNATURE, ADOBE_SIGNATURE), None)).unwrap_err();
        assert_eq!(err.reason(), reason::MISMATCH);
    }

    #[test]
    fn header_names_are_case_insensitive_and_one_pair_is_enough() {
        let verifier = Verifier::new(keys(&[("/k/2.pem", ADOBE_KEY)]));
        let h = headers(&[("X-Adobe-Digital-Signature-2", ADOBE_SIGNATURE), ("X-ADOBE-PUBLIC-KEY2-PATH", "/k/2.pem")]);
        block_on(verifier.verify(ADOBE_PAYLOAD.as_bytes(), &h, None)).unwrap();
        let err = block_on(verifier.verify(ADOBE_PAYLOAD.as_bytes(), &headers(&[]), None)).unwrap_err();
        assert_eq!(err.reason(), reason::HEADERS);
        // A signature without its key path is not a pair.
        let h = headers(&[("x-adobe-digital-signature-1", ADOBE_SIGNATURE), ("x-adobe-public-key2-path", "/k/2.pem")]);
        assert_eq!(
            block_on(verifier.verify(ADOBE_PAYLOAD.as_bytes(), &h, None)).unwrap_err().reason(),
            reason::HEADERS
        );
    }

    #[test]
    fn the_recipient_is_checked_when_a_client_id_is_given() {
        let verifier = Verifier::new(keys(&[("/prod/keys/pub-key-1.pem", ADOBE_KEY)]));
        let h = adobe_headers(ADOBE_SIGNATURE, "x");
        let err = block_on(verifier.verify(ADOBE_PAYLOAD.as_bytes(), &h, Some("someone-else"))).unwrap_err();
        assert_eq!((err.code(), err.reason()), (EventErrorCode::Signature, reason::RECIPIENT));
        assert!(check_recipient(br#"{"recipientclientid":"c"}"#, "c").is_ok());
        assert!(check_recipient(br#"[{"recipient_client_id":"c"},{"recipientclientid":"c"}]"#, "c").is_ok());
        assert!(check_recipient(br#"[{"recipient_client_id":"c"},{"recipient_client_id":"d"}]"#, "c").is_err());
        assert!(check_recipient(br#"{"event_id":"x"}"#, "c").unwrap_err().message().contains("no recipient_client_id"));
        assert!(check_recipient(b"nope", "c").is_err());
    }

    #[test]
    fn escaping_key_paths_are_refused_before_any_fetch() {
        let source = keys(&[]);
        let verifier = Verifier::new(source.clone());
        for path in [
            "https://evil.example/key.pem",
            "//evil.example/key.pem",
            "@evil.example/key.pem",
            "/prod/../../etc/passwd",
            "/prod/keys/%2e%2e/x.pem",
            "/prod//keys.pem",
            "/prod/keys/a.pem?x=1",
            "/prod\\keys.pem",
            "prod/keys/a.pem",
            "/prod/./a.pem",
        ] {
            let h = headers(&[("x-adobe-digital-signature-1", ADOBE_SIGNATURE), ("x-adobe-public-key1-path", path)]);
            let err = block_on(verifier.verify(ADOBE_PAYLOAD.as_bytes(), &h, None)).unwrap_err();
            assert_eq!(err.reason(), reason::KEY_PATH, "{path}");
        }
        assert_eq!(source.fetches.load(Ordering::SeqCst), 0);

        let http = HttpKeySource::new(Some("http://127.0.0.1:9/keys/"), Duration::from_secs(1)).unwrap();
        assert_eq!(
            http.key_url("/prod/keys/pub-key-1.pem").unwrap().as_str(),
            "http://127.0.0.1:9/keys/prod/keys/pub-key-1.pem"
        );
        assert!(http.key_url("@evil.example/k.pem").is_err());
        let http = HttpKeySource::new(None, Duration::from_secs(1)).unwrap();
        assert_eq!(
            http.key_url("/prod/keys/pub-key-1.pem").unwrap().as_str(),
            "https://static.adobeioevents.com/prod/keys/pub-key-1.pem"
        );
        for bad in ["ftp://x", "not a url", "https://h/?q=1", "https://user@h/"] {
            assert!(HttpKeySource::new(Some(bad), Duration::from_secs(1)).is_err(), "{bad}");
        }
    }

    #[test]
    fn unavailable_keys_are_transient_and_missing_or_bad_keys_are_not() {
        let source = Arc::new(MapKeys {
            keys: [("/bad.pem".to_string(), "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----".to_string())]
                .into(),
            fail: vec!["/down.pem".into()],
            ..MapKeys::default()
        });
        let verifier = Verifier::new(source.clone());
        let with_path = |path: &str| {
            headers(&[("x-adobe-digital-signature-1", ADOBE_SIGNATURE), ("x-adobe-public-key1-path", path)])
        };
        let body = ADOBE_PAYLOAD.as_bytes();
        let err = block_on(verifier.verify(body, &with_path("/down.pem"), None)).unwrap_err();
        assert!(err.is_transient() && err.reason() == reason::KEY_UNAVAILABLE, "{err:?}");
        let err = block_on(verifier.verify(body, &with_path("/missing.pem"), None)).unwrap_err();
        assert_eq!(err.reason(), reason::KEY);
        assert!(!err.is_transient());
        let err = block_on(verifier.verify(body, &with_path("/bad.pem"), None)).unwrap_err();
        assert!(err.message().contains("not a PEM RSA public key"), "{err}");
        // Failures are not cached: each delivery asks again.
        block_on(verifier.verify(body, &with_path("/down.pem"), None)).unwrap_err();
        assert_eq!(source.fetches.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn an_expired_key_is_fetched_again() {
        let source = keys(&[("/k.pem", ADOBE_KEY)]);
        let verifier = Verifier::new(source.clone()).with_key_ttl(Duration::ZERO);
        let h = headers(&[("x-adobe-digital-signature-1", ADOBE_SIGNATURE), ("x-adobe-public-key1-path", "/k.pem")]);
        for _ in 0..3 {
            block_on(verifier.verify(ADOBE_PAYLOAD.as_bytes(), &h, None)).unwrap();
        }
        assert_eq!(source.fetches.load(Ordering::SeqCst), 3);
        assert_eq!(Verifier::new(keys(&[])).with_key_ttl(Duration::from_secs(1 << 30)).key_ttl, MAX_KEY_TTL);
    }

    #[test]
    fn small_keys_and_pkcs1_keys() {
        use rsa::pkcs1::EncodeRsaPublicKey;
        let key = parse_public_key(ADOBE_KEY).unwrap();
        let pkcs1 = key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).unwrap();
        assert_eq!(parse_public_key(&pkcs1).unwrap(), key);
        // A 1024-bit key is refused.
        let small = "-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDXs9fhtcCKIXRwqqd4IBNdAgjX
oHd+XSWZh3GUdGsOXWTlKnwb+tBUhVm1eZYnPwSJS8WQIYCwE6CSfKN2ApiCWEtT
610v9R1TsCu4q31aesIRAzW5IRmiLRWSkQGzMRTgL85EG02vrZG6pRuu0x4OFwKg
xj3livdKUMXSH5nqawIDAQAB
-----END PUBLIC KEY-----";
        assert_eq!(parse_public_key(small).unwrap_err(), "the key has 1024 bits, fewer than 2048");
        assert!(parse_public_key("hello").is_err());
    }
}
