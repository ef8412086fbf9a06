//! The emulator's IMS over real sockets: credentials minted by the emulator,
//! JWTs signed by a standard JWT library (not the emulator's own code) with
//! the minted private key, both grants, the tokens on an AEM upload route,
//! expiry, revocation, IMS's error answers and the `ims` fault route.

use std::time::{Duration, Instant, SystemTime};

use aem_emulator::{Config, Emulator};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn start(config: Value) -> Emulator {
    Emulator::start(Config::from_json(config).unwrap()).await.unwrap()
}

fn now() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs()
}

/// Minted service credentials and what a client derives from them.
struct Service {
    document: Value,
}

impl Service {
    fn mint(emulator: &Emulator, options: Value) -> Service {
        Service { document: emulator.create_service_credentials(&options).unwrap() }
    }

    fn field(&self, pointer: &str) -> String {
        self.document["integration"].pointer(pointer).unwrap().as_str().unwrap().to_string()
    }

    fn client_id(&self) -> String {
        self.field("/technicalAccount/clientId")
    }

    fn secret(&self) -> String {
        self.field("/technicalAccount/clientSecret")
    }

    fn endpoint(&self) -> String {
        self.field("/imsEndpoint")
    }

    /// The claims protocol.md lists, exactly: iss, sub, aud, exp and one
    /// `<endpoint>/s/<metascope>: true` per metascope.
    fn claims(&self) -> Value {
        let endpoint = self.endpoint();
        let mut claims = json!({
            "iss": self.field("/org"),
            "sub": self.field("/id"),
            "aud": format!("{endpoint}/c/{}", self.client_id()),
            "exp": now() + 8 * 3600,
        });
        for metascope in self.field("/metascopes").split(',') {
            claims[format!("{endpoint}/s/{metascope}")] = json!(true);
        }
        claims
    }

    /// An RS256 JWT over `claims`, signed with this document's private key.
    fn sign(&self, claims: &Value) -> String {
        sign_with(&self.field("/privateKey"), claims)
    }

    fn form(&self, jwt: &str) -> Vec<(String, String)> {
        vec![
            ("client_id".into(), self.client_id()),
            ("client_secret".into(), self.secret()),
            ("jwt_token".into(), jwt.to_string()),
        ]
    }
}

fn sign_with(private_key_pem: &str, claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(private_key_pem.as_bytes()).expect("the minted key is a standard PEM RSA key");
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key).unwrap()
}

async fn post_form(client: &reqwest::Client, url: &str, form: &[(String, String)]) -> (StatusCode, Value) {
    let res = client.post(url).form(form).send().await.unwrap();
    let status = res.status();
    if status.is_client_error() || status.is_success() {
        assert_eq!(res.headers()["content-type"], "application/json", "{url} answers JSON");
    }
    let body = res.bytes().await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn exchange(client: &reqwest::Client, service: &Service, jwt: &str) -> (StatusCode, Value) {
    post_form(client, &format!("{}/ims/exchange/jwt", service.endpoint()), &service.form(jwt)).await
}

/// Initiates a one-byte upload with `authorization`; returns the status and
/// the `WWW-Authenticate` challenge, if any.
async fn initiate(client: &reqwest::Client, emulator: &Emulator, authorization: &str) -> (StatusCode, Option<String>) {
    let res = client
        .post(format!("{}/content/dam.initiateUpload.json", emulator.url()))
        .header("authorization", authorization)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("fileName=a.txt&fileSize=1")
        .send()
        .await
        .unwrap();
    let challenge = res.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string());
    (res.status(), challenge)
}

async fn json_of(res: reqwest::Response) -> Value {
    serde_json::from_slice(&res.bytes().await.unwrap()).unwrap()
}

fn bearer(token: &Value) -> String {
    format!("Bearer {}", token.as_str().unwrap())
}

/// An IMS error body: exactly `{error, error_description}`.
fn ims_error(body: &Value) -> &str {
    let object = body.as_object().unwrap_or_else(|| panic!("not an IMS error body: {body}"));
    assert_eq!(object.len(), 2, "{body}");
    assert!(object["error_description"].is_string(), "{body}");
    object["error"].as_str().unwrap()
}

fn payload(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[tokio::test]
async fn service_credentials_exchange_a_jwt_for_a_token_that_uploads() {
    let emulator = start(json!({})).await;
    let client = reqwest::Client::new();
    let service = Service::mint(&emulator, Value::Null);
    let integration = &service.document["integration"];
    assert_eq!(service.document["ok"], true);
    assert_eq!(service.document["statusCode"], 200);
    assert_eq!(integration["imsEndpoint"], emulator.url());
    assert_eq!(integration["metascopes"], "ent_aem_cloud_api");
    assert!(integration["privateKey"].as_str().unwrap().starts_with("-----BEGIN RSA PRIVATE KEY-----\r\n"));
    assert!(integration["publicKey"].as_str().unwrap().starts_with("-----BEGIN CERTIFICATE-----\r\n"));

    // No credentials, no upload.
    assert_eq!(initiate(&client, &emulator, "Bearer not-issued").await.0, StatusCode::UNAUTHORIZED);

    let (status, body) = exchange(&client, &service, &service.sign(&service.claims())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "bearer");
    // Milliseconds from the JWT exchange (protocol.md, IMS).
    assert_eq!(body["expires_in"], 86_400_000);
    let token = payload(body["access_token"].as_str().unwrap());
    assert_eq!(token["type"], "access_token");
    assert_eq!(token["client_id"], service.client_id().as_str());
    assert_eq!(token["expires_in"], "86400000");
    assert_eq!(initiate(&client, &emulator, &bearer(&body["access_token"])).await.0, StatusCode::CREATED);

    // The same grant with a multipart body (Adobe's jwt-auth sends one) and a
    // trailing slash.
    let boundary = "x-boundary-7";
    let mut multipart = String::new();
    for (name, value) in service.form(&service.sign(&service.claims())) {
        multipart
            .push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"));
    }
    multipart.push_str(&format!("--{boundary}--\r\n"));
    let res = client
        .post(format!("{}/ims/exchange/jwt/", service.endpoint()))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(multipart)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = json_of(res).await;
    assert_eq!(initiate(&client, &emulator, &bearer(&body["access_token"])).await.0, StatusCode::CREATED);

    // A PKCS#8 key with LF line ends and two metascopes works the same way.
    let pkcs8 = Service::mint(
        &emulator,
        json!({"privateKeyFormat": "pkcs8", "lineEndings": "lf", "metascopes": "ent_aem_cloud_api,ent_cloudmgr_sdk"}),
    );
    assert!(pkcs8.field("/privateKey").starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let (status, body) = exchange(&client, &pkcs8, &pkcs8.sign(&pkcs8.claims())).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let state = emulator.state()["ims"].clone();
    let text = state.to_string();
    for secret in [service.secret(), service.field("/privateKey"), body["access_token"].as_str().unwrap().to_string()] {
        assert!(!text.contains(&secret), "the IMS state shows no secret, key or token");
    }
    assert_eq!(state["tokensIssued"], 3);
    emulator.stop().await;
}

#[tokio::test]
async fn oauth_client_credentials_grant_tokens_in_seconds() {
    let emulator = start(json!({})).await;
    let client = reqwest::Client::new();
    let oauth = emulator.create_oauth_client(&Value::Null).unwrap();
    assert_eq!(oauth["imsEndpoint"], emulator.url());
    assert_eq!(oauth["scopes"], json!(["openid", "AdobeID", "aem.assets.author", "aem.folders"]));
    let id = oauth["clientId"].as_str().unwrap().to_string();
    let secret = oauth["clientSecret"].as_str().unwrap().to_string();
    let url = format!("{}/ims/token/v3", emulator.url());
    let form = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };

    let base = [("grant_type", "client_credentials"), ("client_id", &id), ("client_secret", &secret)];
    let mut scoped = base.to_vec();
    scoped.push(("scope", "openid,AdobeID,aem.assets.author"));
    let (status, body) = post_form(&client, &url, &form(&scoped)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "bearer");
    // Seconds from /ims/token/v3 (protocol.md, IMS).
    assert_eq!(body["expires_in"], 86_400);
    assert_eq!(payload(body["access_token"].as_str().unwrap())["scope"], "openid,AdobeID,aem.assets.author");
    assert_eq!(initiate(&client, &emulator, &bearer(&body["access_token"])).await.0, StatusCode::CREATED);

    // Parameters in the query, as IMS also takes them; v2 as aio-lib-ims calls it.
    let query = format!("{url}?grant_type=client_credentials&client_id={id}&client_secret={secret}");
    let (status, _) = post_form(&client, &query, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = post_form(&client, &format!("{}/ims/token/v2", emulator.url()), &form(&base)).await;
    assert_eq!(status, StatusCode::OK);

    // Refusals, in IMS's shape.
    let mut wrong = base;
    wrong[2].1 = "p8e-not-the-secret";
    let (status, body) = post_form(&client, &url, &form(&wrong)).await;
    assert_eq!((status, ims_error(&body)), (StatusCode::UNAUTHORIZED, "invalid_client"));
    assert!(!body.to_string().contains("p8e-not-the-secret"));
    let mut unknown = base;
    unknown[1].1 = "nobody";
    let (status, body) = post_form(&client, &url, &form(&unknown)).await;
    assert_eq!((status, ims_error(&body)), (StatusCode::UNAUTHORIZED, "invalid_client"));
    let mut other_scope = base.to_vec();
    other_scope.push(("scope", "openid,read_organizations"));
    let (status, body) = post_form(&client, &url, &form(&other_scope)).await;
    assert_eq!((status, ims_error(&body)), (StatusCode::BAD_REQUEST, "invalid_scope"));
    let mut grant = base;
    grant[0].1 = "authorization_code";
    let (status, body) = post_form(&client, &url, &form(&grant)).await;
    assert_eq!((status, ims_error(&body)), (StatusCode::BAD_REQUEST, "unsupported_grant_type"));
    emulator.stop().await;
}

#[tokio::test]
async fn jwt_exchange_refusals_answer_in_ims_shape() {
    let emulator = start(json!({})).await;
    let client = reqwest::Client::new();
    let service = Service::mint(&emulator, Value::Null);
    let other = Service::mint(&emulator, Value::Null);
    let refused = |status: StatusCode, body: &Value| (status, ims_error(body).to_string());
    let expect = |status: u16, error: &str| (StatusCode::from_u16(status).unwrap(), error.to_string());

    // Wrong client secret.
    let mut form = service.form(&service.sign(&service.claims()));
    form[1].1 = "p8e-wrong-secret".into();
    let (status, body) = post_form(&client, &format!("{}/ims/exchange/jwt", service.endpoint()), &form).await;
    assert_eq!(refused(status, &body), expect(401, "invalid_client"));
    assert!(!body.to_string().contains("p8e-wrong-secret"));

    // Unknown client.
    let mut form = service.form(&service.sign(&service.claims()));
    form[0].1 = "cm-p0-e0-unknown".into();
    let (status, body) = post_form(&client, &format!("{}/ims/exchange/jwt", service.endpoint()), &form).await;
    assert_eq!(refused(status, &body), expect(400, "invalid_client"));

    // A key that does not match the registered certificate: signed with the
    // other credentials' private key.
    let (status, body) = exchange(&client, &service, &other.sign(&service.claims())).await;
    assert_eq!(refused(status, &body), expect(400, "invalid_signature"));

    // Not RS256.
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &service.claims(),
        &EncodingKey::from_secret(service.secret().as_bytes()).unwrap(),
    )
    .unwrap();
    let (status, body) = exchange(&client, &service, &hs).await;
    assert_eq!(refused(status, &body), expect(400, "invalid_signature"));

    // Claims: each checked.
    let with = |key: &str, value: Value| {
        let mut claims = service.claims();
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(key);
        } else {
            claims[key] = value;
        }
        service.sign(&claims)
    };
    let metascope = format!("{}/s/ent_aem_cloud_api", service.endpoint());
    let cases = [
        (with("exp", json!(now() - 10)), expect(400, "invalid_token")),
        (with("exp", Value::Null), expect(400, "invalid_token")),
        (with("iss", json!("0000@AdobeOrg")), expect(400, "invalid_token")),
        (with("sub", json!("0000@techacct.adobe.com")), expect(400, "invalid_token")),
        (
            with("aud", json!(format!("https://ims-na1.adobelogin.com/c/{}", service.client_id()))),
            expect(400, "invalid_client"),
        ),
        (with("aud", json!(format!("{}/c/{}", service.endpoint(), other.client_id()))), expect(400, "invalid_client")),
        (with(&metascope, Value::Null), expect(400, "invalid_scope")),
        (with(&format!("{}/s/ent_user_sync_api", service.endpoint()), json!(true)), expect(400, "invalid_scope")),
        ("not.a-jwt".to_string(), expect(400, "invalid_token")),
    ];
    for (jwt, expected) in cases {
        let (status, body) = exchange(&client, &service, &jwt).await;
        assert_eq!(refused(status, &body), expected, "{}", body);
    }

    // OAuth clients cannot exchange JWTs; service credentials cannot use client_credentials.
    let oauth = emulator.create_oauth_client(&Value::Null).unwrap();
    let form: Vec<(String, String)> = vec![
        ("client_id".into(), oauth["clientId"].as_str().unwrap().into()),
        ("client_secret".into(), oauth["clientSecret"].as_str().unwrap().into()),
        ("jwt_token".into(), service.sign(&service.claims())),
    ];
    let (status, body) = post_form(&client, &format!("{}/ims/exchange/jwt", emulator.url()), &form).await;
    assert_eq!(refused(status, &body), expect(401, "invalid_client"));
    let form: Vec<(String, String)> = vec![
        ("grant_type".into(), "client_credentials".into()),
        ("client_id".into(), service.client_id()),
        ("client_secret".into(), service.secret()),
    ];
    let (status, body) = post_form(&client, &format!("{}/ims/token/v3", emulator.url()), &form).await;
    assert_eq!(refused(status, &body), expect(400, "unauthorized_client"));

    let state = emulator.state()["ims"].clone();
    assert_eq!(state["tokensIssued"], 0);
    let mine =
        state["clients"].as_array().unwrap().iter().find(|c| c["clientId"] == service.client_id().as_str()).unwrap();
    assert_eq!(mine["refused"], 13);
    emulator.stop().await;
}

#[tokio::test]
async fn issued_tokens_expire_and_can_be_revoked() {
    let emulator = start(json!({"ims": {"tokenLifetimeSeconds": 2}})).await;
    let client = reqwest::Client::new();
    let service = Service::mint(&emulator, Value::Null);

    let started = Instant::now();
    let (status, body) = exchange(&client, &service, &service.sign(&service.claims())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["expires_in"], 2000);
    // Issued between `started` and now: it expires in [started, answered] + 2 s.
    let answered = Instant::now();
    let token = bearer(&body["access_token"]);
    let (status, _) = initiate(&client, &emulator, &token).await;
    // Only meaningful while the token is young: a stalled machine may have
    // passed its two seconds already.
    if started.elapsed() < Duration::from_millis(1500) {
        assert_eq!(status, StatusCode::CREATED);
    }
    tokio::time::sleep(Duration::from_millis(2100).saturating_sub(answered.elapsed())).await;
    let (status, challenge) = initiate(&client, &emulator, &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let challenge = challenge.unwrap();
    assert!(challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""), "{challenge}");

    // Revocation: from the handle (one client) and from the control route (all).
    emulator.configure(&json!({"ims": {"tokenLifetimeSeconds": 3600}})).unwrap();
    let (_, body) = exchange(&client, &service, &service.sign(&service.claims())).await;
    let first = bearer(&body["access_token"]);
    assert_eq!(initiate(&client, &emulator, &first).await.0, StatusCode::CREATED);
    assert_eq!(emulator.revoke_tokens(Some(&service.client_id())), 1);
    let (status, challenge) = initiate(&client, &emulator, &first).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.unwrap().contains("error=\"invalid_token\""));
    // A fresh exchange after a revocation works: the client is still registered.
    let (_, body) = exchange(&client, &service, &service.sign(&service.claims())).await;
    let second = bearer(&body["access_token"]);
    assert_eq!(initiate(&client, &emulator, &second).await.0, StatusCode::CREATED);
    let res = client.post(format!("{}/_emulator/ims/revoke", emulator.url())).send().await.unwrap();
    assert_eq!(json_of(res).await, json!({"revoked": 1}));
    assert_eq!(initiate(&client, &emulator, &second).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(emulator.state()["ims"]["tokensRevoked"], 2);
    emulator.stop().await;
}

#[tokio::test]
async fn the_ims_fault_route_injects_503_429_and_resets() {
    let emulator = start(json!({})).await;
    let client = reqwest::Client::new();
    let service = Service::mint(&emulator, Value::Null);

    emulator
        .configure(&json!({"faults": {"seed": 3, "routes": {"ims": {"status503": 1.0, "maxAttempt": 1}}}}))
        .unwrap();
    let (status, _) = exchange(&client, &service, &service.sign(&service.claims())).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, _) = exchange(&client, &service, &service.sign(&service.claims())).await;
    assert_eq!(status, StatusCode::OK, "the second attempt passes");

    let throttled = Service::mint(&emulator, Value::Null);
    emulator
        .configure(&json!({"faults": {"routes": {"ims": {"status503": 0, "status429": 1.0, "retryAfterSeconds": 2}}}}))
        .unwrap();
    let res = client
        .post(format!("{}/ims/exchange/jwt", throttled.endpoint()))
        .form(&throttled.form(&throttled.sign(&throttled.claims())))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["retry-after"], "2");

    let reset = Service::mint(&emulator, Value::Null);
    emulator
        .configure(&json!({"faults": {"routes": {"ims": {"status429": 0, "resetBefore": 1.0, "maxAttempt": 1}}}}))
        .unwrap();
    let sent = client
        .post(format!("{}/ims/exchange/jwt", reset.endpoint()))
        .form(&reset.form(&reset.sign(&reset.claims())))
        .send()
        .await;
    assert!(sent.is_err(), "the connection is dropped");
    let (status, _) = exchange(&client, &reset, &reset.sign(&reset.claims())).await;
    assert_eq!(status, StatusCode::OK);

    let faults = emulator.state()["faults"].clone();
    let kinds: Vec<&str> = faults
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["route"] == "ims")
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["503", "429", "resetBefore"]);
    emulator.stop().await;
}

#[tokio::test]
async fn credentials_registered_from_configuration_and_control_routes() {
    // Credentials minted by one emulator, accepted by another configured with them.
    let minting = start(json!({})).await;
    let service = Service::mint(&minting, Value::Null);
    let oauth = minting.create_oauth_client(&json!({"scopes": "openid,aem.folders"})).unwrap();
    minting.stop().await;

    let emulator = start(json!({"ims": {"credentials": [service.document, oauth]}})).await;
    let client = reqwest::Client::new();
    // The JWT's audience names the other emulator's endpoint, as its document says.
    let (status, body) = post_form(
        &client,
        &format!("{}/ims/exchange/jwt", emulator.url()),
        &service.form(&service.sign(&service.claims())),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(initiate(&client, &emulator, &bearer(&body["access_token"])).await.0, StatusCode::CREATED);
    let form: Vec<(String, String)> = vec![
        ("grant_type".into(), "client_credentials".into()),
        ("client_id".into(), oauth["clientId"].as_str().unwrap().into()),
        ("client_secret".into(), oauth["clientSecret"].as_str().unwrap().into()),
    ];
    let (status, _) = post_form(&client, &format!("{}/ims/token/v3", emulator.url()), &form).await;
    assert_eq!(status, StatusCode::OK);
    // Never echoed back in the configuration.
    let config = serde_json::to_string(&*emulator.config()).unwrap();
    assert!(!config.contains(&service.secret()) && !config.contains("PRIVATE KEY"));

    // Minting over HTTP, for tools that are not in this process.
    let res = client
        .post(format!("{}/_emulator/ims/service-credentials", emulator.url()))
        .body(r#"{"metascopes": ["ent_aem_cloud_api"]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let minted = Service { document: json_of(res).await };
    let (status, _) = exchange(&client, &minted, &minted.sign(&minted.claims())).await;
    assert_eq!(status, StatusCode::OK);
    let res = client.post(format!("{}/_emulator/ims/oauth-clients", emulator.url())).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = client
        .post(format!("{}/_emulator/ims/service-credentials", emulator.url()))
        .body(r#"{"keyBits": 512}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let clients = json_of(client.get(format!("{}/_emulator/ims", emulator.url())).send().await.unwrap()).await;
    assert_eq!(clients["clients"].as_array().unwrap().len(), 4);
    emulator.stop().await;
}
