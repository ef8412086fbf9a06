//! Service credentials (`docs/auth.md`, `docs/protocol.md` "IMS"): the AEM
//! Developer Console's JSON, an RS256 JWT signed with its private key and
//! exchanged at `<imsEndpoint>/ims/exchange/jwt` for an access token whose
//! `expires_in` is in milliseconds.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::cache::{Reason, Token, TokenSource};
use super::ims::{endpoint_base, ExpiresIn, Ims, ImsOptions};
use crate::{Error, Result};

/// How long a JWT is valid: it is built fresh for every exchange and used at
/// once, so an hour covers clock skew without living long (IMS caps it at 24 h).
const JWT_LIFETIME: Duration = Duration::from_secs(3600);

/// The Developer Console wrapper `{ok, statusCode, integration}`.
#[derive(Deserialize)]
struct Wrapper {
    integration: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Integration {
    ims_endpoint: Option<String>,
    metascopes: Option<Value>,
    technical_account: Option<TechnicalAccount>,
    id: Option<String>,
    org: Option<String>,
    private_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TechnicalAccount {
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// What an exchange needs, checked.
struct Parsed {
    base: String,
    client_id: String,
    client_secret: String,
    org: String,
    technical_account_id: String,
    metascopes: Vec<String>,
    key: EncodingKey,
    ims: Ims,
}

/// Service credentials as a [`TokenSource`]. Bad material is kept as the
/// error the first fetch returns (`EINVALIDOPTIONS`, naming the field).
pub struct ServiceCredentials {
    parsed: Result<Parsed>,
}

impl ServiceCredentials {
    /// From `source`: a path to the JSON file, or the JSON text; the
    /// wrapper or the bare `integration` object. `options.endpoint`
    /// overrides the file's `imsEndpoint`.
    pub fn new(source: &str, options: ImsOptions) -> ServiceCredentials {
        ServiceCredentials { parsed: parse(source, &options) }
    }

    pub fn client_id(&self) -> Option<&str> {
        self.parsed.as_ref().ok().map(|p| p.client_id.as_str())
    }

    pub fn technical_account_id(&self) -> Option<&str> {
        self.parsed.as_ref().ok().map(|p| p.technical_account_id.as_str())
    }
}

fn invalid(message: impl fmt::Display) -> Error {
    super::invalid(format!("Invalid service credentials: {message}"))
}

fn parse(source: &str, options: &ImsOptions) -> Result<Parsed> {
    let trimmed = source.trim();
    let text = if trimmed.starts_with('{') {
        trimmed.to_string()
    } else if trimmed.is_empty() {
        return Err(invalid("no file or JSON given"));
    } else {
        std::fs::read_to_string(trimmed).map_err(|e| invalid(format!("cannot read {trimmed}: {e}")))?
    };
    // serde_json's message names a line and column, never the text.
    let value: Value = serde_json::from_str(&text).map_err(|e| invalid(format!("not JSON ({e})")))?;
    let value = match serde_json::from_value::<Wrapper>(value.clone()) {
        Ok(Wrapper { integration: Some(integration) }) => integration,
        _ if value.get("technicalAccount").is_some() => value,
        _ => return Err(invalid("no integration object")),
    };
    let integration: Integration = serde_json::from_value(value)
        .map_err(|e| invalid(format!("integration has a field of the wrong type ({e})")))?;
    let required = |value: Option<String>, field: &str| {
        value.filter(|v| !v.trim().is_empty()).ok_or_else(|| invalid(format!("integration.{field} is missing")))
    };
    let account = integration.technical_account.ok_or_else(|| invalid("integration.technicalAccount is missing"))?;
    let client_id = required(account.client_id, "technicalAccount.clientId")?;
    let client_secret = required(account.client_secret, "technicalAccount.clientSecret")?;
    let org = required(integration.org, "org")?;
    let technical_account_id = required(integration.id, "id")?;
    let endpoint = match options.endpoint.clone().filter(|e| !e.trim().is_empty()) {
        Some(endpoint) => endpoint,
        None => required(integration.ims_endpoint, "imsEndpoint")?,
    };
    let metascopes: Vec<String> = match integration.metascopes {
        Some(Value::String(list)) => {
            list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
        }
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).map(String::from).collect(),
        _ => Vec::new(),
    };
    if metascopes.is_empty() {
        return Err(invalid("integration.metascopes is missing"));
    }
    let pem = required(integration.private_key, "privateKey")?;
    let key = private_key(&pem)?;
    let ims = Ims::new(&endpoint, options);
    Ok(Parsed {
        base: endpoint_base(&endpoint),
        client_id,
        client_secret,
        org,
        technical_account_id,
        metascopes,
        key,
        ims,
    })
}

/// The key as PEM, PKCS#1 (`RSA PRIVATE KEY`) or PKCS#8 (`PRIVATE KEY`),
/// with `\r\n` line ends or escaped `\n` (as a `.env` holds it) too.
fn private_key(pem: &str) -> Result<EncodingKey> {
    let mut pem = pem.replace("\r\n", "\n");
    if !pem.contains('\n') && pem.contains("\\n") {
        pem = pem.replace("\\n", "\n");
    }
    EncodingKey::from_rsa_pem(pem.trim().as_bytes())
        .map_err(|_| invalid("integration.privateKey is not an RSA private key in PEM (PKCS#1 or PKCS#8)"))
}

impl Parsed {
    /// The JWT of `docs/protocol.md` "IMS": exactly `exp`, `iss`, `sub`,
    /// `aud` and one `<ims>/s/<metascope>: true` per metascope.
    fn jwt(&self) -> Result<String> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let mut claims = Map::new();
        claims.insert("exp".into(), Value::from((now + JWT_LIFETIME).as_secs()));
        claims.insert("iss".into(), Value::from(self.org.clone()));
        claims.insert("sub".into(), Value::from(self.technical_account_id.clone()));
        claims.insert("aud".into(), Value::from(format!("{}/c/{}", self.base, self.client_id)));
        for metascope in &self.metascopes {
            // A metascope already given as a URL is kept (as adobe/jwt-auth does).
            let claim =
                if metascope.contains("://") { metascope.clone() } else { format!("{}/s/{metascope}", self.base) };
            claims.insert(claim, Value::Bool(true));
        }
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|_| invalid("integration.privateKey cannot sign (is it a whole RSA private key?)"))
    }

    async fn exchange(&self) -> Result<Token> {
        let jwt = self.jwt()?;
        let form = [
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.as_str()),
            ("jwt_token", jwt.as_str()),
        ];
        let what = format!("JWT exchange for client {}", self.client_id);
        let granted =
            self.ims.grant("/ims/exchange/jwt", &form, ExpiresIn::Millis, &what, &[&self.client_secret, &jwt]).await?;
        Token::bearer(&granted.access_token, granted.lifetime)
    }
}

impl fmt::Debug for ServiceCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("ServiceCredentials");
        if let Ok(p) = &self.parsed {
            s.field("client_id", &p.client_id).field("technical_account_id", &p.technical_account_id);
            s.field("ims", &p.ims.base());
        }
        s.finish_non_exhaustive()
    }
}

impl TokenSource for ServiceCredentials {
    fn fetch(&self, _reason: Reason) -> BoxFuture<'_, Result<Token>> {
        Box::pin(async move {
            match &self.parsed {
                Ok(parsed) => parsed.exchange().await,
                Err(error) => Err(error.clone()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(key: &str) -> String {
        serde_json::json!({
            "ok": true, "statusCode": 200,
            "integration": {
                "imsEndpoint": "ims-na1.adobelogin.com",
                "metascopes": "ent_aem_cloud_api",
                "technicalAccount": {"clientId": "cm-p1-e2-integration", "clientSecret": "p8e-SECRET"},
                "email": "x@techacct.adobe.com", "id": "ABC@techacct.adobe.com", "org": "ORG@AdobeOrg",
                "privateKey": key, "publicKey": "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----"
            }
        })
        .to_string()
    }

    fn error(source: &str) -> String {
        match parse(source, &ImsOptions::default()) {
            Ok(_) => panic!("parsed"),
            Err(e) => {
                assert_eq!(e.code().as_str(), "EINVALIDOPTIONS");
                e.message().to_string()
            }
        }
    }

    #[test]
    fn bad_material_names_the_field() {
        assert!(error("/nonexistent/creds.json").contains("cannot read"));
        assert!(error("{ not json").contains("not JSON"));
        assert!(error(r#"{"ok":true}"#).contains("no integration"));
        let no_key = json("").replace("\"privateKey\":\"\",", "");
        assert!(error(&no_key).contains("integration.privateKey is missing"), "{}", error(&no_key));
        let bad_key = json("-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----");
        let shown = error(&bad_key);
        assert!(shown.contains("integration.privateKey") && !shown.contains("not a key"), "{shown}");
        let no_secret = json("k").replace("\"clientSecret\":\"p8e-SECRET\"", "\"clientSecret\":\"\"");
        assert!(error(&no_secret).contains("technicalAccount.clientSecret"));
        assert!(!error(&json("k")).contains("p8e-SECRET"));
    }
}
