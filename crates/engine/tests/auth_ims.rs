//! The auth providers against a small IMS written here from
//! `docs/protocol.md` ("IMS"), independent of the emulator: it verifies the
//! JWT with a standard JWT library (`jsonwebtoken`) against the registered
//! public key, answers IMS's shapes, counts grants, injects faults, and
//! guards one AEM route that accepts only the tokens it issued.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aem_upload_engine::auth::callback::CallbackToken;
use aem_upload_engine::auth::ims::ImsOptions;
use aem_upload_engine::auth::{Provider, Reason};
use aem_upload_engine::http::{Client, ClientOptions, Request, RetryPolicy, Trace};
use aem_upload_engine::session::AemSession;
use aem_upload_engine::{Error, ErrorCode};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Response, StatusCode};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::header::HeaderMap;
use reqwest::{Method, Url};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

const ORG: &str = "0123456789ABCDEF@AdobeOrg";
const ACCOUNT: &str = "FEDCBA9876543210@techacct.adobe.com";
const SECRET: &str = "p8e-CANARY-client-secret-5f1d";
const METASCOPE: &str = "ent_aem_cloud_api";

/// A fault answered instead of the next IMS grant.
#[derive(Clone, Copy)]
enum Fault {
    Status(u16),
    /// The connection is closed without an answer.
    Reset,
}

#[derive(Default)]
struct Ims {
    /// client id → public key PEM (service credentials) or none (OAuth).
    clients: HashMap<String, Option<String>>,
    /// Lifetime of issued tokens in ms.
    lifetime_ms: u64,
    faults: VecDeque<Fault>,
    grants: usize,
    /// Every request that reached a grant route, faults included.
    requests: usize,
    jwts: Vec<Value>,
    valid: HashSet<String>,
    issued: usize,
    /// The AEM route refuses every token.
    refuse_all: bool,
    aem_requests: usize,
}

#[derive(Clone)]
struct Server {
    addr: SocketAddr,
    state: Arc<Mutex<Ims>>,
}

impl Server {
    async fn start() -> Server {
        let state = Arc::new(Mutex::new(Ims { lifetime_ms: 86_399_999, ..Default::default() }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = Server { addr, state };
        let serving = server.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let server = serving.clone();
                tokio::spawn(async move {
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let service = hyper::service::service_fn(move |req| {
                        let server = server.clone();
                        // An error from the service closes the connection unanswered.
                        async move { server.handle(req).await.ok_or_else(|| std::io::Error::other("reset")) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                });
            }
        });
        server
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn with<T>(&self, f: impl FnOnce(&mut Ims) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    /// `None`: close the connection without an answer.
    async fn handle(&self, req: hyper::Request<hyper::body::Incoming>) -> Option<Response<Full<Bytes>>> {
        let path = req.uri().path().to_string();
        let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).map(String::from);
        let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
        match path.as_str() {
            "/ims/exchange/jwt" | "/ims/token/v3" => {
                let fault = self.with(|s| {
                    s.requests += 1;
                    s.faults.pop_front()
                });
                match fault {
                    Some(Fault::Status(status)) => return Some(answer(status, json!({"error": "server_error"}))),
                    Some(Fault::Reset) => return None,
                    None => {}
                }
                let granted =
                    if path == "/ims/exchange/jwt" { self.exchange(&form) } else { self.client_credentials(&form) };
                Some(match granted {
                    Ok(token) => {
                        let lifetime = self.with(|s| s.lifetime_ms);
                        let expires_in = if path == "/ims/exchange/jwt" { lifetime } else { lifetime / 1000 };
                        answer(200, json!({"token_type": "bearer", "access_token": token, "expires_in": expires_in}))
                    }
                    Err((status, error, description)) => {
                        answer(status, json!({"error": error, "error_description": description}))
                    }
                })
            }
            "/aem" => {
                let ok = self.with(|s| {
                    s.aem_requests += 1;
                    !s.refuse_all
                        && auth
                            .and_then(|a| a.strip_prefix("Bearer ").map(String::from))
                            .is_some_and(|t| s.valid.contains(&t))
                });
                Some(answer(if ok { 200 } else { 401 }, json!({})))
            }
            _ => Some(answer(404, json!({}))),
        }
    }

    fn issue(&self) -> String {
        self.with(|s| {
            s.grants += 1;
            s.issued += 1;
            let token = format!("ims-token-{}-CANARY", s.issued);
            s.valid.insert(token.clone());
            token
        })
    }

    fn exchange(&self, form: &HashMap<String, String>) -> Result<String, (u16, &'static str, String)> {
        let client_id = form.get("client_id").cloned().unwrap_or_default();
        let Some(Some(public_pem)) = self.with(|s| s.clients.get(&client_id).cloned()) else {
            return Err((400, "invalid_client", "unknown client".into()));
        };
        if form.get("client_secret").map(String::as_str) != Some(SECRET) {
            return Err((401, "invalid_client", "invalid client secret".into()));
        }
        let jwt = form.get("jwt_token").cloned().unwrap_or_default();
        let header = jsonwebtoken::decode_header(&jwt).map_err(|_| (400, "invalid_token", "undecodable".into()))?;
        if header.alg != Algorithm::RS256 || header.typ.as_deref() != Some("JWT") {
            return Err((400, "invalid_token", "header".into()));
        }
        let base = self.endpoint();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[format!("{base}/c/{client_id}")]);
        validation.set_issuer(&[ORG]);
        validation.sub = Some(ACCOUNT.into());
        validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
        let key = DecodingKey::from_rsa_pem(public_pem.as_bytes()).unwrap();
        let claims = jsonwebtoken::decode::<Value>(&jwt, &key, &validation).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                (400, "invalid_signature", "no matching certificate".into())
            }
            _ => (400, "invalid_token", e.to_string()),
        })?;
        let claims = claims.claims;
        let keys: HashSet<&str> = claims.as_object().unwrap().keys().map(String::as_str).collect();
        let scope = format!("{base}/s/{METASCOPE}");
        let wanted: HashSet<&str> = ["exp", "iss", "sub", "aud", scope.as_str()].into_iter().collect();
        if keys != wanted || claims[&scope] != json!(true) {
            return Err((400, "invalid_scope", format!("claims {keys:?}")));
        }
        self.with(|s| s.jwts.push(claims.clone()));
        Ok(self.issue())
    }

    fn client_credentials(&self, form: &HashMap<String, String>) -> Result<String, (u16, &'static str, String)> {
        let client_id = form.get("client_id").cloned().unwrap_or_default();
        if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
            return Err((400, "unsupported_grant_type", "grant_type".into()));
        }
        if !matches!(self.with(|s| s.clients.get(&client_id).cloned()), Some(None)) {
            return Err((400, "invalid_client", "unknown client".into()));
        }
        if form.get("client_secret").map(String::as_str) != Some(SECRET) {
            return Err((401, "invalid_client", "invalid client secret".into()));
        }
        if form.get("scope").map(String::as_str) != Some("openid,AdobeID,aem.assets.author") {
            return Err((400, "invalid_scope", "scope".into()));
        }
        Ok(self.issue())
    }
}

fn answer(status: u16, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    response.headers_mut().insert("content-type", "application/json".parse().unwrap());
    if status == 429 {
        response.headers_mut().insert("retry-after", "0".parse().unwrap());
    }
    response
}

/// One RSA key pair per test run: (PKCS#1 PEM, PKCS#8 PEM with CRLF, SPKI public PEM).
fn keys() -> &'static (String, String, String) {
    static KEYS: OnceLock<(String, String, String)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let key = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).unwrap();
        (
            key.to_pkcs1_pem(LineEnding::LF).unwrap().to_string(),
            key.to_pkcs8_pem(LineEnding::CRLF).unwrap().to_string(),
            key.to_public_key().to_public_key_pem(LineEnding::LF).unwrap(),
        )
    })
}

fn other_key() -> String {
    let key = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).unwrap();
    key.to_pkcs1_pem(LineEnding::LF).unwrap().to_string()
}

/// Developer Console service credentials for `client_id` (not registered).
fn service_json(server: &Server, client_id: &str, private_key: &str) -> String {
    json!({
        "ok": true,
        "statusCode": 200,
        "integration": {
            "imsEndpoint": server.endpoint(),
            "metascopes": METASCOPE,
            "technicalAccount": {"clientId": client_id, "clientSecret": SECRET},
            "email": "x@techacct.adobe.com",
            "id": ACCOUNT,
            "org": ORG,
            "privateKey": private_key,
            "publicKey": "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----",
        }
    })
    .to_string()
}

fn fast() -> ImsOptions {
    ImsOptions { retry_delay: Duration::from_millis(10), ..ImsOptions::default() }
}

fn register(server: &Server, client_id: &str, public_pem: Option<&str>) {
    server.with(|s| s.clients.insert(client_id.into(), public_pem.map(String::from)));
}

fn service(server: &Server, client_id: &str) -> Provider {
    register(server, client_id, Some(&keys().2));
    Provider::service_credentials(&service_json(server, client_id, &keys().0), fast())
}

fn oauth(server: &Server, client_id: &str, secret: &str) -> Provider {
    register(server, client_id, None);
    let scopes = ["openid", "AdobeID", "aem.assets.author"].map(String::from).to_vec();
    let options = ImsOptions { endpoint: Some(server.endpoint()), ..fast() };
    Provider::oauth_server_to_server(client_id, secret, scopes, options).unwrap()
}

async fn bearer_of(provider: &Provider) -> Result<String, Error> {
    Ok(provider.authorization().await?.unwrap().to_str().unwrap().to_string())
}

struct Quiet;
impl Trace for Quiet {
    fn retried(&self, _: &Error) {}
}

/// GETs the guarded AEM route through an AEM session authorised by `provider`.
async fn aem_get(server: &Server, session: &AemSession) -> Result<u16, Error> {
    let url = Url::parse(&format!("{}/aem", server.endpoint())).unwrap();
    let request = Request::with_bytes(Method::GET, &url, HeaderMap::new(), Bytes::new());
    let policy = RetryPolicy::new(1, Duration::ZERO, 1);
    match session.send(request, &policy, &CancellationToken::new(), &Quiet).await {
        Ok(answer) => Ok(answer.status.as_u16()),
        Err(failure) => Err(failure.error),
    }
}

fn session(provider: &Provider) -> AemSession {
    AemSession::new(Client::new(&ClientOptions::default()).unwrap(), &[]).with_credentials(provider.credentials())
}

/// Nothing secret in `text`.
fn assert_clean(text: &str) {
    let (pkcs1, pkcs8, _) = keys();
    let key_body = |pem: &str| pem.lines().nth(3).unwrap_or_default().trim().to_string();
    for secret in [SECRET, "CANARY", &key_body(pkcs1), &key_body(pkcs8), "eyJ"] {
        assert!(!text.contains(secret), "{secret:?} shown in {text}");
    }
}

#[tokio::test]
async fn service_credentials_make_one_exchange_for_many_concurrent_callers() {
    let server = Server::start().await;
    let provider = service(&server, "cm-p1-e2-integration");
    let all = futures_util::future::join_all((0..64).map(|_| bearer_of(&provider))).await;
    assert!(all.iter().all(|t| t.as_ref().unwrap() == "Bearer ims-token-1-CANARY"));
    assert_eq!(server.with(|s| s.grants), 1);
    // Exactly the claims of the spec, verified with a standard library.
    let jwt = server.with(|s| s.jwts[0].clone());
    let base = server.endpoint();
    assert_eq!(jwt["iss"], ORG);
    assert_eq!(jwt["sub"], ACCOUNT);
    assert_eq!(jwt["aud"], format!("{base}/c/cm-p1-e2-integration"));
    let exp = jwt["exp"].as_u64().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(exp > now && exp <= now + 24 * 3600, "exp {exp}, now {now}");
    assert_clean(&format!("{provider:?}"));
    assert!(format!("{provider:?}").contains("cm-p1-e2-integration"));
}

#[tokio::test]
async fn service_credentials_take_pkcs8_keys_with_crlf_and_the_bare_integration() {
    let server = Server::start().await;
    register(&server, "pkcs8-client", Some(&keys().2));
    let wrapped: Value = serde_json::from_str(&service_json(&server, "pkcs8-client", &keys().1)).unwrap();
    let bare = wrapped["integration"].to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("service.json");
    std::fs::write(&file, &bare).unwrap();
    let provider = Provider::service_credentials(file.to_str().unwrap(), fast());
    assert_eq!(bearer_of(&provider).await.unwrap(), "Bearer ims-token-1-CANARY");
    assert_eq!(
        provider.public(),
        [("clientId", "pkcs8-client".to_string()), ("technicalAccountId", ACCOUNT.to_string())]
    );
}

#[tokio::test]
async fn oauth_server_to_server_grants_with_seconds() {
    let server = Server::start().await;
    let provider = oauth(&server, "s2s-client", SECRET);
    let all = futures_util::future::join_all((0..32).map(|_| bearer_of(&provider))).await;
    assert!(all.iter().all(|t| t.as_ref().unwrap() == "Bearer ims-token-1-CANARY"));
    assert_eq!(server.with(|s| s.grants), 1);
    assert_clean(&format!("{provider:?}"));
}

#[tokio::test]
async fn tokens_are_refreshed_once_ninety_percent_of_their_lifetime_has_passed() {
    let server = Server::start().await;
    server.with(|s| s.lifetime_ms = 1000);
    let provider = service(&server, "short-lived");
    assert_eq!(bearer_of(&provider).await.unwrap(), "Bearer ims-token-1-CANARY");
    // Past 900 ms of a 1000 ms token (the refresh point itself is unit-tested with a paused clock).
    tokio::time::sleep(Duration::from_millis(950)).await;
    let all = futures_util::future::join_all((0..16).map(|_| bearer_of(&provider))).await;
    assert!(all.iter().all(|t| t.as_ref().unwrap() == "Bearer ims-token-2-CANARY"), "{all:?}");
    assert_eq!(server.with(|s| s.grants), 2);
    // OAuth lifetimes are seconds: a 1 s token is refreshed too.
    let oauth = oauth(&server, "short-s2s", SECRET);
    let first = bearer_of(&oauth).await.unwrap();
    tokio::time::sleep(Duration::from_millis(950)).await;
    assert_ne!(bearer_of(&oauth).await.unwrap(), first);
}

#[tokio::test]
async fn a_401_refreshes_once_and_resends_and_a_second_401_fails() {
    let server = Server::start().await;
    let provider = service(&server, "revoked");
    let session = session(&provider);
    assert_eq!(aem_get(&server, &session).await.unwrap(), 200);
    // The token is revoked: every request in flight gets a 401, one exchange serves them all.
    server.with(|s| s.valid.clear());
    let all = futures_util::future::join_all((0..20).map(|_| aem_get(&server, &session))).await;
    assert!(all.iter().all(|r| *r.as_ref().unwrap() == 200), "{all:?}");
    assert_eq!(server.with(|s| s.grants), 2);
    // AEM refuses every token: one refresh, one resend, then ENOTAUTHORIZED.
    server.with(|s| {
        s.refuse_all = true;
        s.aem_requests = 0;
    });
    let err = aem_get(&server, &session).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotAuthorized);
    assert_eq!(server.with(|s| (s.grants, s.aem_requests)), (3, 2));
    assert_clean(&format!("{err} {}", err.detail()));
}

#[tokio::test]
async fn basic_and_bearer_send_fixed_values_and_do_not_retry_a_401() {
    let server = Server::start().await;
    let basic = Provider::basic("admin", "CANARY-password").unwrap();
    assert_eq!(bearer_of(&basic).await.unwrap(), "Basic YWRtaW46Q0FOQVJZLXBhc3N3b3Jk");
    assert!(format!("{basic:?}").contains("admin"));
    assert_clean(&format!("{basic:?}"));
    let bearer = Provider::bearer(r#"{"ok":true,"statusCode":200,"accessToken":"dev-CANARY"}"#).unwrap();
    assert_eq!(bearer_of(&bearer).await.unwrap(), "Bearer dev-CANARY");
    assert_clean(&format!("{bearer:?}"));
    for provider in [basic, bearer] {
        server.with(|s| s.aem_requests = 0);
        let err = aem_get(&server, &session(&provider)).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::NotAuthorized);
        assert_eq!(server.with(|s| s.aem_requests), 1);
    }
}

#[tokio::test]
async fn the_token_callback_is_asked_with_its_reason() {
    let server = Server::start().await;
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&reasons);
    let fetch = Box::new(move |reason: Reason| {
        seen.lock().unwrap().push(reason.as_str());
        let n = seen.lock().unwrap().len();
        let future: futures_util::future::BoxFuture<'static, _> =
            Box::pin(async move { Ok(CallbackToken { token: format!("cb-{n}"), expires_at: None }) });
        future
    });
    let provider = Provider::callback(fetch);
    let session = session(&provider);
    // The AEM route knows cb-2 only: cb-1 is refused, the callback asked again.
    server.with(|s| s.valid.insert("cb-2".into()));
    assert_eq!(aem_get(&server, &session).await.unwrap(), 200);
    assert_eq!(*reasons.lock().unwrap(), ["initial", "unauthorized"]);
}

#[tokio::test]
async fn ims_refusals_are_enotauthorized_with_imss_error_and_no_secret() {
    let server = Server::start().await;
    // Wrong secret (401 invalid_client).
    let wrong = oauth(&server, "s2s", "CANARY-wrong-secret");
    let err = wrong.authorization().await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotAuthorized);
    assert!(err.message().contains("invalid_client"), "{}", err.message());
    assert!(!err.message().contains("CANARY-wrong-secret"));
    // Unknown client (400 invalid_client).
    let unknown = Provider::service_credentials(&service_json(&server, "nobody", &keys().0), fast());
    let err = unknown.authorization().await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotAuthorized);
    assert!(err.message().contains("invalid_client: unknown client"), "{}", err.message());
    // A key that does not match the registered one (400 invalid_signature).
    register(&server, "mismatch", Some(&keys().2));
    let mismatch = Provider::service_credentials(&service_json(&server, "mismatch", &other_key()), fast());
    let err = mismatch.authorization().await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotAuthorized);
    assert!(err.message().contains("invalid_signature"), "{}", err.message());
    assert_clean(&format!("{err} {} {err:?}", err.detail()));
    // Refusals are not retried.
    assert_eq!(server.with(|s| s.requests), 3);
}

#[tokio::test]
async fn bad_material_fails_before_any_ims_request() {
    let server = Server::start().await;
    let broken = "-----BEGIN RSA PRIVATE KEY-----\nQ0FOQVJZ\n-----END RSA PRIVATE KEY-----";
    for source in [
        "/nonexistent/service.json".to_string(),
        "{ not json".to_string(),
        r#"{"ok":true,"statusCode":200}"#.to_string(),
        service_json(&server, "c", broken),
        service_json(&server, "c", "").replace(",\"privateKey\":\"\"", ""),
    ] {
        let err = Provider::service_credentials(&source, fast()).authorization().await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidOptions, "{}", err.message());
        assert_clean(&format!("{err} {err:?}"));
    }
    assert_eq!(server.with(|s| s.requests), 0);
}

#[tokio::test]
async fn ims_503_429_and_resets_are_retried() {
    let server = Server::start().await;
    server.with(|s| s.faults.extend([Fault::Status(503), Fault::Reset, Fault::Status(429)]));
    let provider = service(&server, "flaky");
    assert_eq!(bearer_of(&provider).await.unwrap(), "Bearer ims-token-1-CANARY");
    assert_eq!(server.with(|s| (s.requests, s.grants)), (4, 1));
    // Out of retries: the last failure, without a secret.
    server.with(|s| s.faults.extend([Fault::Status(503); 4]));
    let provider = oauth(&server, "down", SECRET);
    let err = provider.authorization().await.unwrap_err();
    assert!(err.message().contains("IMS failed") && err.message().contains("503"), "{}", err.message());
    assert_clean(&format!("{err} {err:?}"));
}
