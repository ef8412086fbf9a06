//! JWS compact serialisation (RFC 7515) for the tokens IMS takes and mints:
//! splitting, base64url, and RS256 through [`crate::keys`]. No claim rules
//! here: those are IMS's, in the parent module.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

use crate::keys::{self, KeyPair};

/// A decoded, not yet verified, JWT.
pub struct Jwt<'a> {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    /// `base64url(header) "." base64url(claims)`: what the signature covers.
    signing_input: &'a str,
    signature: Vec<u8>,
}

impl<'a> Jwt<'a> {
    /// Splits and decodes a compact JWS; `None` when it is not one.
    pub fn decode(token: &'a str) -> Option<Jwt<'a>> {
        let token = token.trim();
        let (signing_input, signature) = token.rsplit_once('.')?;
        let (header, claims) = signing_input.split_once('.')?;
        let object = |part: &str| -> Option<Map<String, Value>> {
            match serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()? {
                Value::Object(map) => Some(map),
                _ => None,
            }
        };
        Some(Jwt {
            header: object(header)?,
            claims: object(claims)?,
            signing_input,
            signature: URL_SAFE_NO_PAD.decode(signature).ok()?,
        })
    }

    pub fn algorithm(&self) -> Option<&str> {
        self.header.get("alg").and_then(Value::as_str)
    }

    /// Whether one of `keys` made the signature (RS256).
    pub fn signed_by_any(&self, keys: &[rsa::PublicKey]) -> bool {
        keys.iter().any(|key| keys::verify(key, self.signing_input.as_bytes(), &self.signature))
    }
}

/// Signs `claims` as an RS256 JWT with the given extra header fields.
pub fn sign(key: &KeyPair, header: &Map<String, Value>, claims: &Value) -> String {
    let mut head = Map::new();
    head.insert("alg".into(), Value::String("RS256".into()));
    head.extend(header.iter().map(|(k, v)| (k.clone(), v.clone())));
    let encode = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).expect("JSON serialises"));
    let signing_input = format!("{}.{}", encode(&Value::Object(head)), encode(claims));
    let signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_and_tampering() {
        let key = KeyPair::generate(2048).unwrap();
        let other = KeyPair::generate(2048).unwrap();
        let token = sign(&key, &Map::new(), &json!({"sub": "me", "exp": 1}));
        let jwt = Jwt::decode(&token).unwrap();
        assert_eq!(jwt.algorithm(), Some("RS256"));
        assert_eq!(jwt.claims["sub"], "me");
        assert!(jwt.signed_by_any(&[other.public_key(), key.public_key()]));
        assert!(!jwt.signed_by_any(&[other.public_key()]));

        // A changed claim keeps the old signature, which then fails.
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(br#"{"sub":"you","exp":1}"#), parts[2]);
        assert!(!Jwt::decode(&forged).unwrap().signed_by_any(&[key.public_key()]));

        for bad in ["", "a.b", "a.b.c", "e30.e30", "e30.W10.AA"] {
            assert!(Jwt::decode(bad).is_none(), "{bad}");
        }
    }
}
