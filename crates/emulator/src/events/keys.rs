//! The two signing keys of the emulator's I/O Events stand-in. Adobe signs
//! every delivery twice, with two keys it rotates, and serves their public
//! halves at `/prod/keys/pub-key-<id>.pem` on `static.adobeioevents.com`;
//! the emulator does the same on its AEM origin, so a receiver's `keyBaseUrl`
//! is the emulator's URL.
//!
//! The key pairs are made on first use (a webhook registered, or a key
//! fetched): most emulators never deliver an event, and two RSA keys would
//! cost each of them a fraction of a second at start.

use std::sync::OnceLock;

use crate::keys::KeyPair;

/// Where I/O Events keeps its public keys, below its key host.
pub const KEY_PATH_PREFIX: &str = "/prod/keys/pub-key-";
pub const KEY_PATH_SUFFIX: &str = ".pem";
const KEY_BITS: usize = 2048;

pub struct SigningKeys {
    ids: [String; 2],
    pairs: OnceLock<[KeyPair; 2]>,
}

/// `x-adobe-digital-signature-1`/`-2` and the key paths they name.
pub struct Signatures {
    pub signatures: [String; 2],
    pub paths: [String; 2],
}

impl SigningKeys {
    pub fn new() -> SigningKeys {
        SigningKeys { ids: [key_id(), key_id()], pairs: OnceLock::new() }
    }

    fn pairs(&self) -> &[KeyPair; 2] {
        self.pairs.get_or_init(|| {
            let make = || KeyPair::generate(KEY_BITS).expect("the OS random source works");
            [make(), make()]
        })
    }

    /// The relative path key `index` (0 or 1) is served at.
    pub fn path(&self, index: usize) -> String {
        format!("{KEY_PATH_PREFIX}{}{KEY_PATH_SUFFIX}", self.ids[index])
    }

    /// The SPKI PEM served at `path`, when it names one of the keys.
    pub fn pem_at(&self, path: &str) -> Option<String> {
        let index = (0..2).find(|&i| self.path(i) == path)?;
        Some(self.pairs()[index].public_pem())
    }

    /// Both signatures of `body` (RSA PKCS#1 v1.5 with SHA-256, base64).
    /// With `invalid_first`, signature 1 is made with key 2, so it does not
    /// verify against the key its path serves: a receiver must use signature 2.
    pub fn sign(&self, body: &[u8], invalid_first: bool) -> Signatures {
        use base64::Engine;
        let pairs = self.pairs();
        let encode = |sig: Vec<u8>| base64::engine::general_purpose::STANDARD.encode(sig);
        let second = encode(pairs[1].sign(body));
        let first = if invalid_first {
            // Key 2's signature of other bytes: well formed, verifying nowhere.
            let mut forged = body.to_vec();
            forged.extend_from_slice(b" ");
            encode(pairs[1].sign(&forged))
        } else {
            encode(pairs[0].sign(body))
        };
        Signatures { signatures: [first, second], paths: [self.path(0), self.path(1)] }
    }

    /// Makes the key pairs now (off the async threads, before they are needed).
    pub fn warm(&self) {
        let _ = self.pairs();
    }
}

/// A key id shaped like Adobe's (`Ptc2pD9vT9`): ten letters and digits.
fn key_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..10).map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[test]
    fn signatures_verify_with_the_served_keys_and_the_rotation_breaks_only_the_first() {
        let keys = SigningKeys::new();
        let body = br#"{"specversion":"1.0"}"#;
        let decode = |s: &str| base64::engine::general_purpose::STANDARD.decode(s).unwrap();
        let public = |i: usize| crate::keys::parse_public_key(&keys.pem_at(&keys.path(i)).unwrap()).unwrap();
        assert_ne!(keys.path(0), keys.path(1));
        assert!(keys.path(0).starts_with("/prod/keys/pub-key-") && keys.path(0).ends_with(".pem"));
        assert_ne!(public(0), public(1));

        let signed = keys.sign(body, false);
        assert_eq!(signed.paths, [keys.path(0), keys.path(1)]);
        assert!(crate::keys::verify(&public(0), body, &decode(&signed.signatures[0])));
        assert!(crate::keys::verify(&public(1), body, &decode(&signed.signatures[1])));
        assert!(!crate::keys::verify(&public(1), body, &decode(&signed.signatures[0])));

        let rotated = keys.sign(body, true);
        assert!(!crate::keys::verify(&public(0), body, &decode(&rotated.signatures[0])));
        assert!(crate::keys::verify(&public(1), body, &decode(&rotated.signatures[1])));
        assert!(keys.pem_at("/prod/keys/pub-key-other.pem").is_none());
    }
}
