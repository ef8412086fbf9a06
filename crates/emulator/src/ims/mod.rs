//! The emulator's Adobe IMS: registered clients, the two grants AEM
//! integrations use (JWT exchange for service credentials, client
//! credentials for OAuth server-to-server), and the access tokens it issued,
//! which AEM routes accept until they expire or are revoked.
//!
//! Error names follow IMS's documented JWT-exchange table (`invalid_client`,
//! `invalid_token`, `invalid_signature`, `invalid_scope`) and OAuth 2.0
//! (RFC 6749) for the client-credentials grant, whose IMS errors are not
//! documented.

pub mod credentials;
pub mod jwt;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Map, Value};

use crate::keys::KeyPair;
use jwt::Jwt;

/// A refusal in IMS's shape: `{error, error_description}` with 400 or 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImsError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

impl ImsError {
    fn new(status: u16, error: &'static str, description: impl Into<String>) -> ImsError {
        ImsError { status, error, description: description.into() }
    }

    pub fn body(&self) -> Value {
        json!({"error": self.error, "error_description": self.description})
    }
}

/// What binds a client to the JWT grant: its technical account and keys.
pub struct JwtBinding {
    pub org: String,
    pub account_id: String,
    pub metascopes: Vec<String>,
    /// The `imsEndpoint` of its credentials document, when it names one.
    pub ims_endpoint: Option<String>,
    /// Public keys of its certificates; a JWT signed by any of them is accepted.
    pub keys: Vec<rsa::PublicKey>,
}

/// A registered IMS client.
pub struct Client {
    pub client_id: String,
    secrets: Vec<String>,
    /// Present for service credentials (JWT grant).
    pub jwt: Option<JwtBinding>,
    /// Present for OAuth server-to-server clients (client-credentials grant).
    pub scopes: Option<Vec<String>>,
    /// Tokens issued to it since the last reset.
    pub exchanges: u64,
    /// Grant requests refused since the last reset.
    pub refused: u64,
}

impl Client {
    pub fn new(
        client_id: String,
        secrets: Vec<String>,
        jwt: Option<JwtBinding>,
        scopes: Option<Vec<String>>,
    ) -> Client {
        Client { client_id, secrets, jwt, scopes, exchanges: 0, refused: 0 }
    }

    fn secret_matches(&self, given: &str) -> bool {
        self.secrets.iter().any(|s| crate::auth::constant_time_eq(s.as_bytes(), given.as_bytes()))
    }

    fn kind(&self) -> &'static str {
        match (&self.jwt, &self.scopes) {
            (Some(_), Some(_)) => "service+oauth",
            (Some(_), None) => "service",
            _ => "oauth",
        }
    }

    /// Adds what another registration of the same id brings (a second
    /// certificate, a rotated secret, the other grant).
    fn merge(&mut self, other: Client) {
        for secret in other.secrets {
            if !self.secrets.contains(&secret) {
                self.secrets.push(secret);
            }
        }
        match (&mut self.jwt, other.jwt) {
            (Some(mine), Some(theirs)) => {
                for key in theirs.keys {
                    if !mine.keys.contains(&key) {
                        mine.keys.push(key);
                    }
                }
                mine.metascopes = theirs.metascopes;
                mine.org = theirs.org;
                mine.account_id = theirs.account_id;
                if theirs.ims_endpoint.is_some() {
                    mine.ims_endpoint = theirs.ims_endpoint;
                }
            }
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
        if let Some(scopes) = other.scopes {
            self.scopes = Some(scopes);
        }
    }
}

struct Issued {
    client_id: String,
    expires: Instant,
}

/// Whether a bearer token is one IMS issued and still good.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenCheck {
    Valid,
    Expired,
    Unknown,
}

/// A granted access token.
pub struct Grant {
    pub access_token: String,
    pub lifetime: Duration,
}

#[derive(Default)]
struct Registry {
    clients: BTreeMap<String, Client>,
    tokens: HashMap<String, Issued>,
    issued: u64,
    revoked: u64,
    /// Token count after the last sweep of expired tokens.
    swept_at: usize,
}

/// The IMS of one emulator.
#[derive(Default)]
pub struct Ims {
    registry: Mutex<Registry>,
    /// Signs the access tokens; made at the first grant (key generation is
    /// the one costly step, and most emulators never issue a token).
    token_key: OnceLock<KeyPair>,
}

/// A grant request's form fields, first value of each.
pub struct Fields<'a>(pub &'a [(String, String)]);

impl Fields<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }
}

/// The forms of `https://<ims host>` a JWT may name in `aud` and its
/// metascope claims: the emulator's own origin as the client reached it, and
/// the `imsEndpoint` of the client's credentials.
pub struct Audience {
    /// Host and port as clients reach IMS (the `Host` header, the emulator's address).
    pub authorities: Vec<String>,
}

impl Audience {
    fn bases(&self, binding: &JwtBinding) -> Vec<String> {
        let mut bases = Vec::new();
        let mut authorities = self.authorities.clone();
        if let Some(endpoint) = &binding.ims_endpoint {
            match endpoint.split_once("://") {
                // An endpoint with a scheme is used as given (protocol.md, IMS).
                Some(_) => bases.push(endpoint.trim_end_matches('/').to_string()),
                None => authorities.push(endpoint.trim_end_matches('/').to_string()),
            }
        }
        for authority in authorities {
            bases.push(format!("https://{authority}"));
            bases.push(format!("http://{authority}"));
        }
        bases
    }
}

fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

impl Ims {
    /// The key that signs access tokens, made on first use (key generation
    /// takes a fraction of a second: callers on an async thread may make it
    /// on a blocking one first, see [`Ims::has_token_key`]).
    pub fn token_key(&self) -> &KeyPair {
        self.token_key.get_or_init(|| KeyPair::generate(2048).expect("RSA key generation works"))
    }

    pub fn has_token_key(&self) -> bool {
        self.token_key.get().is_some()
    }

    /// Registers (or adds to) a client; returns its id.
    pub fn register(&self, client: Client) -> String {
        let id = client.client_id.clone();
        let mut registry = self.registry.lock().unwrap();
        match registry.clients.get_mut(&id) {
            Some(existing) => existing.merge(client),
            None => {
                registry.clients.insert(id.clone(), client);
            }
        }
        id
    }

    /// Whether `key` is the id of a registered client (Author API `X-Api-Key`).
    pub fn is_client(&self, key: &str) -> bool {
        self.registry.lock().unwrap().clients.contains_key(key)
    }

    /// `POST /ims/exchange/jwt`: service credentials' JWT for an access token.
    pub fn exchange_jwt(&self, fields: &Fields, audience: &Audience, lifetime: Duration) -> Result<Grant, ImsError> {
        let client_id =
            fields.get("client_id").ok_or_else(|| ImsError::new(400, "invalid_client", "client_id is required"))?;
        let mut registry = self.registry.lock().unwrap();
        let Some(client) = registry.clients.get_mut(client_id) else {
            return Err(ImsError::new(400, "invalid_client", "unknown client_id"));
        };
        let checked = check_jwt_grant(client, fields, audience);
        let scope = match checked {
            Ok(scope) => scope,
            Err(e) => {
                client.refused += 1;
                return Err(e);
            }
        };
        client.exchanges += 1;
        let client_id = client.client_id.clone();
        let user = client.jwt.as_ref().map(|b| b.account_id.clone()).unwrap_or_default();
        drop(registry);
        Ok(self.issue(&client_id, &user, &scope, lifetime))
    }

    /// `POST /ims/token/v3` (and v2) with `grant_type=client_credentials`.
    pub fn client_credentials(&self, fields: &Fields, lifetime: Duration) -> Result<Grant, ImsError> {
        match fields.get("grant_type") {
            Some("client_credentials") => {}
            Some(other) => {
                return Err(ImsError::new(
                    400,
                    "unsupported_grant_type",
                    format!("grant_type '{other}' is not supported"),
                ))
            }
            None => return Err(ImsError::new(400, "invalid_request", "grant_type is required")),
        }
        let client_id =
            fields.get("client_id").ok_or_else(|| ImsError::new(400, "invalid_request", "client_id is required"))?;
        let mut registry = self.registry.lock().unwrap();
        let Some(client) = registry.clients.get_mut(client_id) else {
            return Err(ImsError::new(401, "invalid_client", "unknown client_id"));
        };
        let checked = check_client_credentials(client, fields);
        let scope = match checked {
            Ok(scope) => scope,
            Err(e) => {
                client.refused += 1;
                return Err(e);
            }
        };
        client.exchanges += 1;
        let client_id = client.client_id.clone();
        drop(registry);
        Ok(self.issue(&client_id, &format!("{client_id}@AdobeID"), &scope, lifetime))
    }

    /// Mints a JWT-shaped access token like IMS's (header `x5u`/`kid`/`itt`,
    /// claims `id`, `type`, `client_id`, `user_id`, `as`, `created_at` and
    /// `expires_in` in ms as strings, `scope`) and records it.
    fn issue(&self, client_id: &str, user_id: &str, scope: &str, lifetime: Duration) -> Grant {
        let key = self.token_key();
        let now = SystemTime::now();
        let created = (unix_seconds(now) * 1000.0) as u64;
        let mut header = Map::new();
        header.insert("x5u".into(), json!("ims_na1-key-at-1.cer"));
        header.insert("kid".into(), json!("ims_na1-key-at-1"));
        header.insert("itt".into(), json!("at"));
        let claims = json!({
            "id": format!("{created}_{}_ue1", crate::ids::random_uuid()),
            "type": "access_token",
            "client_id": client_id,
            "user_id": user_id,
            "as": "ims-na1",
            "created_at": created.to_string(),
            "expires_in": lifetime.as_millis().to_string(),
            "scope": scope,
        });
        let access_token = jwt::sign(key, &header, &claims);
        let mut registry = self.registry.lock().unwrap();
        registry.tokens.insert(
            access_token.clone(),
            Issued { client_id: client_id.to_string(), expires: Instant::now() + lifetime },
        );
        registry.issued += 1;
        // Tokens that expire every few seconds during a long run must not pile up.
        if registry.tokens.len() > 2 * registry.swept_at.max(512) {
            let now = Instant::now();
            registry.tokens.retain(|_, t| t.expires > now);
            registry.swept_at = registry.tokens.len();
        }
        Grant { access_token, lifetime }
    }

    /// Whether a bearer token is an unexpired, unrevoked token of this IMS.
    pub fn check(&self, token: &str) -> TokenCheck {
        match self.registry.lock().unwrap().tokens.get(token) {
            Some(issued) if issued.expires > Instant::now() => TokenCheck::Valid,
            Some(_) => TokenCheck::Expired,
            None => TokenCheck::Unknown,
        }
    }

    /// Revokes the tokens of one client, or all; returns how many were live.
    pub fn revoke(&self, client_id: Option<&str>) -> usize {
        let mut registry = self.registry.lock().unwrap();
        let now = Instant::now();
        let before = registry.tokens.len();
        let mut live = 0;
        registry.tokens.retain(|_, t| {
            let matches = client_id.is_none_or(|id| t.client_id == id);
            if matches && t.expires > now {
                live += 1;
            }
            !matches
        });
        let removed = before - registry.tokens.len();
        registry.swept_at = registry.swept_at.saturating_sub(removed);
        registry.revoked += live as u64;
        live
    }

    /// Zeroes the counters (tokens and clients stay: they are configuration).
    pub fn reset_counters(&self) {
        let mut registry = self.registry.lock().unwrap();
        registry.issued = 0;
        registry.revoked = 0;
        for client in registry.clients.values_mut() {
            client.exchanges = 0;
            client.refused = 0;
        }
    }

    /// Clients and counters, never a secret, key or token.
    pub fn state(&self) -> Value {
        let registry = self.registry.lock().unwrap();
        let now = Instant::now();
        let clients: Vec<Value> = registry
            .clients
            .values()
            .map(|c| {
                let active = registry.tokens.values().filter(|t| t.client_id == c.client_id && t.expires > now).count();
                let mut entry = json!({
                    "clientId": c.client_id,
                    "kind": c.kind(),
                    "exchanges": c.exchanges,
                    "refused": c.refused,
                    "activeTokens": active,
                });
                if let Some(binding) = &c.jwt {
                    entry["org"] = json!(binding.org);
                    entry["technicalAccountId"] = json!(binding.account_id);
                    entry["metascopes"] = json!(binding.metascopes);
                    entry["certificates"] = json!(binding.keys.len());
                }
                if let Some(scopes) = &c.scopes {
                    entry["scopes"] = json!(scopes);
                }
                entry
            })
            .collect();
        let active = registry.tokens.values().filter(|t| t.expires > now).count();
        json!({"clients": clients, "tokensIssued": registry.issued, "tokensActive": active, "tokensRevoked": registry.revoked})
    }
}

/// The checks of the JWT grant, in IMS's order: client secret, the JWT's
/// form and signature, then its claims. Returns the granted scope.
fn check_jwt_grant(client: &Client, fields: &Fields, audience: &Audience) -> Result<String, ImsError> {
    match fields.get("client_secret") {
        Some(secret) if client.secret_matches(secret) => {}
        Some(_) => return Err(ImsError::new(401, "invalid_client", "invalid client_secret")),
        None => return Err(ImsError::new(401, "invalid_client", "client_secret is required")),
    }
    let Some(binding) = &client.jwt else {
        return Err(ImsError::new(401, "invalid_client", "client is not allowed to exchange JWTs"));
    };
    let token = fields.get("jwt_token").ok_or_else(|| ImsError::new(400, "invalid_token", "jwt_token is required"))?;
    let jwt = Jwt::decode(token).ok_or_else(|| ImsError::new(400, "invalid_token", "jwt_token is not a JWT"))?;
    if jwt.algorithm() != Some("RS256") {
        return Err(ImsError::new(400, "invalid_signature", "JWT algorithm must be RS256"));
    }
    if !jwt.signed_by_any(&binding.keys) {
        return Err(ImsError::new(
            400,
            "invalid_signature",
            "JWT signature matches no certificate bound to the client",
        ));
    }
    let claims = &jwt.claims;
    let exp = match claims.get("exp") {
        Some(Value::Number(n)) if n.as_u64().is_some() || n.as_i64().is_some() => n.as_f64().unwrap_or(0.0),
        Some(_) => return Err(ImsError::new(400, "invalid_token", "exp must be an integer")),
        None => return Err(ImsError::new(400, "invalid_token", "JWT has no exp claim")),
    };
    if exp <= unix_seconds(SystemTime::now()) {
        return Err(ImsError::new(400, "invalid_token", "JWT expired"));
    }
    let bases = audience.bases(binding);
    let wanted_aud: Vec<String> = bases.iter().map(|b| format!("{b}/c/{}", client.client_id)).collect();
    let aud_ok = match claims.get("aud") {
        Some(Value::String(aud)) => wanted_aud.contains(aud),
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).any(|a| wanted_aud.iter().any(|w| w == a)),
        _ => false,
    };
    if !aud_ok {
        return Err(ImsError::new(400, "invalid_client", "aud is not this IMS's /c/<client_id>"));
    }
    if claims.get("iss").and_then(Value::as_str) != Some(binding.org.as_str()) {
        return Err(ImsError::new(400, "invalid_token", "iss is not the client's organization"));
    }
    if claims.get("sub").and_then(Value::as_str) != Some(binding.account_id.as_str()) {
        return Err(ImsError::new(400, "invalid_token", "sub is not the client's technical account"));
    }
    // Every metascope claim must be bound, and every bound metascope claimed.
    let mut claimed = Vec::new();
    for (key, value) in claims {
        let Some(metascope) = bases.iter().find_map(|b| key.strip_prefix(b.as_str())?.strip_prefix("/s/")) else {
            continue;
        };
        if !binding.metascopes.iter().any(|m| m == metascope) {
            return Err(ImsError::new(
                400,
                "invalid_scope",
                format!("metascope '{metascope}' is not bound to the client"),
            ));
        }
        if *value == Value::Bool(true) {
            claimed.push(metascope.to_string());
        }
    }
    if let Some(missing) = binding.metascopes.iter().find(|m| !claimed.contains(m)) {
        return Err(ImsError::new(400, "invalid_scope", format!("JWT does not claim metascope '{missing}'")));
    }
    Ok(binding.metascopes.join(","))
}

/// The checks of the client-credentials grant. Returns the granted scope.
fn check_client_credentials(client: &Client, fields: &Fields) -> Result<String, ImsError> {
    match fields.get("client_secret") {
        Some(secret) if client.secret_matches(secret) => {}
        _ => return Err(ImsError::new(401, "invalid_client", "invalid client_secret")),
    }
    let Some(allowed) = &client.scopes else {
        return Err(ImsError::new(400, "unauthorized_client", "client is not allowed the client_credentials grant"));
    };
    let requested = fields.get("scope").map(credentials::split_scopes).unwrap_or_else(|| allowed.clone());
    if let Some(unknown) = requested.iter().find(|s| !allowed.contains(s)) {
        return Err(ImsError::new(400, "invalid_scope", format!("scope '{unknown}' is not granted to the client")));
    }
    Ok(requested.join(","))
}

#[cfg(test)]
mod tests {
    use super::credentials::{self, OAuthOptions, ServiceOptions};
    use super::*;
    use base64::Engine;

    const ENDPOINT: &str = "http://127.0.0.1:4502";

    fn audience() -> Audience {
        Audience { authorities: vec!["127.0.0.1:4502".into()] }
    }

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    struct Service {
        ims: Ims,
        document: Value,
        key: KeyPair,
    }

    /// Registers credentials whose private key the test keeps as a `KeyPair`.
    fn service() -> Service {
        let ims = Ims::default();
        let key = KeyPair::generate(2048).unwrap();
        let (document, mut client) =
            credentials::service_credentials(ServiceOptions::default(), ENDPOINT, (1, 1)).unwrap();
        client.jwt.as_mut().unwrap().keys = vec![key.public_key()];
        ims.register(client);
        Service { ims, document, key }
    }

    impl Service {
        fn field(&self, path: &str) -> String {
            self.document["integration"].pointer(path).unwrap().as_str().unwrap().to_string()
        }

        fn claims(&self) -> Value {
            json!({
                "exp": unix_seconds(SystemTime::now()) as u64 + 600,
                "iss": self.field("/org"),
                "sub": self.field("/id"),
                "aud": format!("{ENDPOINT}/c/{}", self.field("/technicalAccount/clientId")),
                format!("{ENDPOINT}/s/ent_aem_cloud_api"): true,
            })
        }

        fn exchange_with(&self, claims: &Value, secret: Option<&str>) -> Result<Grant, ImsError> {
            let token = jwt::sign(&self.key, &Map::new(), claims);
            let id = self.field("/technicalAccount/clientId");
            let real = self.field("/technicalAccount/clientSecret");
            let fields = form(&[("client_id", &id), ("client_secret", secret.unwrap_or(&real)), ("jwt_token", &token)]);
            self.ims.exchange_jwt(&Fields(&fields), &audience(), Duration::from_secs(60))
        }
    }

    #[test]
    fn jwt_grant_issues_tokens_and_checks_every_claim() {
        let s = service();
        let grant = s.exchange_with(&s.claims(), None).unwrap();
        assert_eq!(s.ims.check(&grant.access_token), TokenCheck::Valid);
        let payload = grant.access_token.split('.').nth(1).unwrap();
        let payload: Value =
            serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!(payload["type"], "access_token");
        assert_eq!(payload["expires_in"], "60000");

        let error = |claims: Value| s.exchange_with(&claims, None).err().map(|e| e.error);
        let with = |key: &str, value: Value| {
            let mut claims = s.claims();
            claims[key] = value;
            claims
        };
        assert_eq!(error(with("exp", json!(1))), Some("invalid_token"));
        assert_eq!(error(with("exp", json!("soon"))), Some("invalid_token"));
        assert_eq!(error(with("iss", json!("other@AdobeOrg"))), Some("invalid_token"));
        assert_eq!(error(with("sub", json!("other@techacct.adobe.com"))), Some("invalid_token"));
        assert_eq!(error(with("aud", json!("https://ims-na1.adobelogin.com/c/x"))), Some("invalid_client"));
        assert_eq!(error(with(&format!("{ENDPOINT}/s/ent_other"), json!(true))), Some("invalid_scope"));
        let mut no_scope = s.claims();
        no_scope.as_object_mut().unwrap().remove(&format!("{ENDPOINT}/s/ent_aem_cloud_api"));
        assert_eq!(error(no_scope), Some("invalid_scope"));
        // The https form of the same host is accepted too.
        let https = with("aud", json!(format!("https://127.0.0.1:4502/c/{}", s.field("/technicalAccount/clientId"))));
        assert!(s.exchange_with(&https, None).is_ok());

        let wrong = s.exchange_with(&s.claims(), Some("p8e-wrong")).err().unwrap();
        assert_eq!((wrong.status, wrong.error), (401, "invalid_client"));

        // Signed by another key: the certificate does not match.
        let other = KeyPair::generate(2048).unwrap();
        let token = jwt::sign(&other, &Map::new(), &s.claims());
        let id = s.field("/technicalAccount/clientId");
        let secret = s.field("/technicalAccount/clientSecret");
        let fields = form(&[("client_id", &id), ("client_secret", &secret), ("jwt_token", &token)]);
        let e = s.ims.exchange_jwt(&Fields(&fields), &audience(), Duration::from_secs(60)).err().unwrap();
        assert_eq!((e.status, e.error), (400, "invalid_signature"));

        let unknown = form(&[("client_id", "nobody"), ("client_secret", "x"), ("jwt_token", &token)]);
        let e = s.ims.exchange_jwt(&Fields(&unknown), &audience(), Duration::from_secs(60)).err().unwrap();
        assert_eq!((e.status, e.error), (400, "invalid_client"));

        let state = s.ims.state();
        assert_eq!(state["clients"][0]["exchanges"], 2);
        assert_eq!(state["clients"][0]["refused"], 9);
        assert!(!state.to_string().contains(&secret));
    }

    #[test]
    fn client_credentials_grant_scopes_expiry_and_revocation() {
        let ims = Ims::default();
        let (document, client) = credentials::oauth_client(OAuthOptions::default(), ENDPOINT).unwrap();
        ims.register(client);
        let id = document["clientId"].as_str().unwrap();
        let secret = document["clientSecret"].as_str().unwrap();
        let grant = |pairs: &[(&str, &str)], lifetime: u64| {
            ims.client_credentials(&Fields(&form(pairs)), Duration::from_millis(lifetime))
        };
        let base = [("grant_type", "client_credentials"), ("client_id", id), ("client_secret", secret)];
        let token = grant(&base, 60_000).unwrap().access_token;
        assert_eq!(ims.check(&token), TokenCheck::Valid);
        assert_eq!(ims.check("nope"), TokenCheck::Unknown);

        let mut scoped = base.to_vec();
        scoped.push(("scope", "openid,aem.assets.author"));
        assert!(grant(&scoped, 60_000).is_ok());
        scoped.push(("scope", "x"));
        scoped.remove(3);
        assert_eq!(grant(&scoped, 60_000).err().unwrap().error, "invalid_scope");
        let mut wrong = base;
        wrong[2].1 = "bad";
        assert_eq!(grant(&wrong, 60_000).err().unwrap().status, 401);
        let mut other = base;
        other[0].1 = "password";
        assert_eq!(grant(&other, 60_000).err().unwrap().error, "unsupported_grant_type");

        let short = grant(&base, 1).unwrap().access_token;
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(ims.check(&short), TokenCheck::Expired);

        assert_eq!(ims.revoke(Some(id)), 2);
        assert_eq!(ims.check(&token), TokenCheck::Unknown);
        assert_eq!(ims.state()["clients"][0]["exchanges"], 3);
    }
}
