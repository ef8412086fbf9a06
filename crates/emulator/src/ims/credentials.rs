//! Test credentials: minting them in the shapes Adobe hands out (the AEM
//! Developer Console's service credentials JSON, an OAuth server-to-server
//! client), and reading such documents back to register them.

use std::time::{Duration, SystemTime};

use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, LineEnding};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{Client, JwtBinding};
use crate::keys::{self, KeyPair, PrivateKeyFormat};

/// The metascope AEM as a Cloud Service binds to its service credentials.
pub const AEM_METASCOPE: &str = "ent_aem_cloud_api";

/// The scopes of an OAuth server-to-server credential for the Assets Author
/// and Folders APIs.
pub const DEFAULT_SCOPES: [&str; 4] = ["openid", "AdobeID", "aem.assets.author", "aem.folders"];

/// How long a minted certificate is valid, as the Developer Console's (365 days).
const CERTIFICATE_DAYS: u64 = 365;

/// Options of `createServiceCredentials`, all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceOptions {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// `…@AdobeOrg`.
    pub org: Option<String>,
    /// `…@techacct.adobe.com`.
    pub technical_account_id: Option<String>,
    pub email: Option<String>,
    /// A comma list or an array; default `ent_aem_cloud_api`.
    pub metascopes: Option<Scopes>,
    /// `"pkcs1"` (default, `BEGIN RSA PRIVATE KEY`, as the Developer Console) or `"pkcs8"`.
    pub private_key_format: Option<String>,
    /// `"crlf"` (default, as the Developer Console's JSON) or `"lf"`.
    pub line_endings: Option<String>,
    /// RSA modulus size; default 2048.
    pub key_bits: Option<usize>,
    /// Overrides the `imsEndpoint` written into the document (registration is unaffected).
    pub ims_endpoint: Option<String>,
}

/// Options of `createOAuthClient`, all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OAuthOptions {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scopes: Option<Scopes>,
    pub ims_endpoint: Option<String>,
}

/// Scopes as a comma list or an array.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Scopes {
    List(Vec<String>),
    Text(String),
}

impl Scopes {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            Scopes::List(list) => list.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
            Scopes::Text(text) => split_scopes(&text),
        }
    }
}

/// Splits a scope list on commas (IMS) or spaces (OAuth 2.0).
pub fn split_scopes(text: &str) -> Vec<String> {
    text.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    bytes
}

fn hex_upper(bytes: &[u8]) -> String {
    crate::storage::hex(bytes).to_uppercase()
}

/// A client secret in Adobe's shape: `p8e-` and 32 URL-safe characters.
pub fn new_secret() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let chars: String = random_bytes::<32>().iter().map(|b| ALPHABET[(*b & 63) as usize] as char).collect();
    format!("p8e-{chars}")
}

/// Mints service credentials. Returns the Developer Console document and the
/// client to register.
pub fn service_credentials(
    options: ServiceOptions,
    ims_endpoint: &str,
    program: (u64, u64),
) -> Result<(Value, Client), String> {
    let format = match options.private_key_format.as_deref() {
        None | Some("pkcs1") => PrivateKeyFormat::Pkcs1,
        Some("pkcs8") => PrivateKeyFormat::Pkcs8,
        Some(other) => return Err(format!("privateKeyFormat must be \"pkcs1\" or \"pkcs8\", got \"{other}\"")),
    };
    let eol = match options.line_endings.as_deref() {
        None | Some("crlf") => LineEnding::CRLF,
        Some("lf") => LineEnding::LF,
        Some(other) => return Err(format!("lineEndings must be \"crlf\" or \"lf\", got \"{other}\"")),
    };
    let bits = options.key_bits.unwrap_or(2048);
    if !(2048..=4096).contains(&bits) || !bits.is_multiple_of(8) {
        return Err(format!("keyBits must be a multiple of 8 from 2048 to 4096, got {bits}"));
    }
    let (program_id, environment_id) = program;
    let client_id = options.client_id.unwrap_or_else(|| {
        format!("cm-p{program_id}-e{environment_id}-integration-{}", crate::storage::hex(&random_bytes::<4>()))
    });
    let client_secret = options.client_secret.unwrap_or_else(new_secret);
    let org = options.org.unwrap_or_else(|| format!("{}@AdobeOrg", hex_upper(&random_bytes::<12>())));
    let account = options
        .technical_account_id
        .unwrap_or_else(|| format!("{}@techacct.adobe.com", hex_upper(&random_bytes::<12>())));
    let email = options.email.unwrap_or_else(|| format!("{}@techacct.adobe.com", crate::ids::random_uuid()));
    let metascopes = options.metascopes.map(Scopes::into_vec).unwrap_or_else(|| vec![AEM_METASCOPE.to_string()]);
    if metascopes.is_empty() {
        return Err("metascopes must name at least one metascope".into());
    }

    let pair = KeyPair::generate(bits).map_err(|e| e.to_string())?;
    let certificate = pair.self_signed_certificate(&client_id, CERTIFICATE_DAYS, eol).map_err(|e| e.to_string())?;
    let expires = SystemTime::now() + Duration::from_secs(CERTIFICATE_DAYS * 86_400);
    let document = json!({
        "ok": true,
        "integration": {
            "imsEndpoint": options.ims_endpoint.as_deref().unwrap_or(ims_endpoint),
            "metascopes": metascopes.join(","),
            "technicalAccount": {"clientId": client_id, "clientSecret": client_secret},
            "email": email,
            "id": account,
            "org": org,
            "privateKey": pair.private_pem(format, eol),
            "publicKey": certificate,
            "certificateExpirationDate": humantime::format_rfc3339_millis(expires).to_string(),
        },
        "statusCode": 200,
    });
    let client = Client::new(
        client_id,
        vec![client_secret],
        Some(JwtBinding {
            org,
            account_id: account,
            metascopes,
            ims_endpoint: Some(ims_endpoint.to_string()),
            keys: vec![pair.public_key()],
        }),
        None,
    );
    Ok((document, client))
}

/// Mints an OAuth server-to-server client.
pub fn oauth_client(options: OAuthOptions, ims_endpoint: &str) -> Result<(Value, Client), String> {
    let client_id = options.client_id.unwrap_or_else(|| crate::storage::hex(&random_bytes::<16>()));
    let client_secret = options.client_secret.unwrap_or_else(new_secret);
    let scopes =
        options.scopes.map(Scopes::into_vec).unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect());
    let document = json!({
        "clientId": client_id,
        "clientSecret": client_secret,
        "scopes": scopes,
        "imsEndpoint": options.ims_endpoint.as_deref().unwrap_or(ims_endpoint),
    });
    Ok((document, Client::new(client_id, vec![client_secret], None, Some(scopes))))
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn scopes_of(value: Option<&Value>) -> Option<Vec<String>> {
    match value? {
        Value::String(s) => Some(split_scopes(s)),
        Value::Array(items) => Some(items.iter().filter_map(Value::as_str).map(String::from).collect()),
        _ => None,
    }
}

/// Reads a credentials document to register: the Developer Console's service
/// credentials (the `{ok, statusCode, integration}` wrapper or the bare
/// `integration`), an OAuth client as `createOAuthClient` returns it
/// (`{clientId, clientSecret, scopes}`), or the Adobe I/O OAuth
/// server-to-server JSON (`{client_id, client_secrets, scopes}`).
pub fn parse(document: &Value) -> Result<Client, String> {
    let integration = document.get("integration").unwrap_or(document);
    if let Some(account) = integration.get("technicalAccount") {
        let need = |value: Option<&str>, name: &str| {
            value.map(String::from).ok_or_else(|| format!("service credentials without {name}"))
        };
        let client_id = need(text(account, "clientId"), "technicalAccount.clientId")?;
        let secret = need(text(account, "clientSecret"), "technicalAccount.clientSecret")?;
        let org = need(text(integration, "org"), "org")?;
        let account_id = need(text(integration, "id"), "id")?;
        let metascopes = scopes_of(integration.get("metascopes")).unwrap_or_default();
        if metascopes.is_empty() {
            return Err("service credentials without metascopes".into());
        }
        let key = match (text(integration, "publicKey"), text(integration, "privateKey")) {
            (Some(public), _) => keys::parse_public_key(public).map_err(|e| format!("publicKey: {e}"))?,
            (None, Some(private)) => public_of_private(private)?,
            (None, None) => return Err("service credentials without publicKey".into()),
        };
        let binding = JwtBinding {
            org,
            account_id,
            metascopes,
            ims_endpoint: text(integration, "imsEndpoint").map(String::from),
            keys: vec![key],
        };
        return Ok(Client::new(client_id, vec![secret], Some(binding), None));
    }
    let client_id = text(document, "clientId").or_else(|| text(document, "client_id"));
    let mut secrets: Vec<String> = text(document, "clientSecret")
        .or_else(|| text(document, "client_secret"))
        .map(String::from)
        .into_iter()
        .collect();
    if let Some(Value::Array(more)) = document.get("client_secrets") {
        secrets.extend(more.iter().filter_map(Value::as_str).map(String::from));
    }
    match (client_id, secrets.is_empty()) {
        (Some(client_id), false) => {
            let scopes = scopes_of(document.get("scopes").or_else(|| document.get("scope")))
                .unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect());
            Ok(Client::new(client_id.to_string(), secrets, None, Some(scopes)))
        }
        _ => Err(
            "not service credentials (no integration.technicalAccount) nor an OAuth client (clientId and clientSecret)"
                .into(),
        ),
    }
}

/// The public half of a PKCS#1 or PKCS#8 PEM private key.
fn public_of_private(pem: &str) -> Result<rsa::PublicKey, String> {
    let pem = pem.replace("\r\n", "\n");
    let key = rsa::PrivateKey::from_pkcs1_pem(pem.trim())
        .or_else(|_| rsa::PrivateKey::from_pkcs8_pem(pem.trim()))
        .map_err(|_| "privateKey is not a PKCS#1 or PKCS#8 PEM RSA key".to_string())?;
    Ok(key.to_public_key())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_documents_parse_back() {
        let (document, client) =
            service_credentials(ServiceOptions::default(), "http://127.0.0.1:1", (12, 34)).unwrap();
        let integration = &document["integration"];
        assert!(integration["technicalAccount"]["clientId"].as_str().unwrap().starts_with("cm-p12-e34-integration-"));
        assert!(integration["privateKey"].as_str().unwrap().starts_with("-----BEGIN RSA PRIVATE KEY-----\r\n"));
        assert!(integration["publicKey"].as_str().unwrap().starts_with("-----BEGIN CERTIFICATE-----\r\n"));
        assert!(integration["org"].as_str().unwrap().ends_with("@AdobeOrg"));
        assert_eq!(integration["metascopes"], "ent_aem_cloud_api");
        for form in [&document, integration] {
            let parsed = parse(form).unwrap();
            assert_eq!(parsed.client_id, client.client_id);
            assert_eq!(parsed.jwt.as_ref().unwrap().keys, client.jwt.as_ref().unwrap().keys);
        }
        // Without the certificate, the private key still gives the public key.
        let mut bare = integration.clone();
        bare.as_object_mut().unwrap().remove("publicKey");
        assert_eq!(parse(&bare).unwrap().jwt.unwrap().keys, client.jwt.unwrap().keys);

        let (document, client) = oauth_client(OAuthOptions::default(), "http://127.0.0.1:1").unwrap();
        assert_eq!(client.scopes.as_deref().unwrap().len(), 4);
        assert_eq!(parse(&document).unwrap().client_id, client.client_id);
        let aio = json!({"client_id": "abc", "client_secrets": ["s1", "s2"], "scopes": ["openid"]});
        let parsed = parse(&aio).unwrap();
        assert_eq!(parsed.scopes.unwrap(), vec!["openid"]);
        assert!(parse(&json!({"nope": 1})).is_err());
        assert!(parse(&json!({"integration": {"technicalAccount": {"clientId": "x"}}})).is_err());
    }

    #[test]
    fn options_are_checked() {
        let bad = ServiceOptions { private_key_format: Some("der".into()), ..Default::default() };
        assert!(service_credentials(bad, "x", (1, 1)).is_err());
        let bad = ServiceOptions { key_bits: Some(1024), ..Default::default() };
        assert!(service_credentials(bad, "x", (1, 1)).is_err());
        let pkcs8 = ServiceOptions {
            private_key_format: Some("pkcs8".into()),
            line_endings: Some("lf".into()),
            ..Default::default()
        };
        let (document, _) = service_credentials(pkcs8, "x", (1, 1)).unwrap();
        assert!(document["integration"]["privateKey"].as_str().unwrap().starts_with("-----BEGIN PRIVATE KEY-----\n"));
    }
}
