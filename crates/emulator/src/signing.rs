//! HMAC-SHA256 signatures for presigned part URLs and upload tokens, in the
//! shape of Azure SAS URLs so that clients meet the same opaque strings.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The container every part URL lives in.
pub const CONTAINER: &str = "dam-uploads";

/// Signs and verifies with one secret.
#[derive(Clone)]
pub struct Signer {
    /// Keyed once: every file of an initiate signs a URL and a token.
    keyed: HmacSha256,
}

/// The signed fields of a part URL's query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartQuery {
    pub block_id: String,
    pub expiry: u64,
    pub signature: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum UrlCheck {
    Valid {
        upload_id: String,
        index: u32,
    },
    /// Signature mismatch, tampered or incomplete URL.
    BadSignature(String),
    /// Well signed, but `se` has passed.
    Expired {
        upload_id: String,
        index: u32,
    },
}

impl Signer {
    pub fn new(secret: &[u8]) -> Signer {
        Signer { keyed: HmacSha256::new_from_slice(secret).expect("HMAC takes any key length") }
    }

    fn mac(&self, parts: &[&str]) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        for part in parts {
            mac.update(part.as_bytes());
            mac.update(b"\n");
        }
        mac
    }

    /// The block id Azure would get for part `index` (0-based): base64 of `%06d` of index+1.
    pub fn block_id(index: u32) -> String {
        STANDARD.encode(format!("{:06}", index + 1))
    }

    fn index_of_block_id(block_id: &str) -> Option<u32> {
        let raw = STANDARD.decode(block_id).ok()?;
        let text = std::str::from_utf8(&raw).ok()?;
        if text.len() != 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse::<u32>().ok()?.checked_sub(1)
    }

    /// The path and query of a presigned PUT URL for part `index` of an upload.
    pub fn part_url_path(&self, upload_id: &str, index: u32, expiry: u64) -> String {
        let path = format!("/{CONTAINER}/{upload_id}");
        let block_id = Self::block_id(index);
        let sig = self.url_signature(&path, &block_id, expiry);
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        format!("{path}?comp=block&blockid={}&sp=w&se={expiry}&sig={}", enc(&block_id), enc(&sig))
    }

    fn url_signature(&self, path: &str, block_id: &str, expiry: u64) -> String {
        let mac = self.mac(&["PUT", path, block_id, &expiry.to_string()]);
        STANDARD.encode(mac.finalize().into_bytes())
    }

    /// Checks a part URL's path and raw query at time `now` (unix seconds).
    pub fn check_part_url(&self, path: &str, query: Option<&str>, now: u64) -> UrlCheck {
        let bad = |why: &str| UrlCheck::BadSignature(why.to_string());
        let upload_id = match path.strip_prefix(&format!("/{CONTAINER}/")) {
            Some(id) if !id.is_empty() && !id.contains('/') => id.to_string(),
            _ => return bad("path is not a part URL"),
        };
        let mut comp = None;
        let mut block_id = None;
        let mut sp = None;
        let mut se = None;
        let mut sig = None;
        for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let slot = match key.as_ref() {
                "comp" => &mut comp,
                "blockid" => &mut block_id,
                "sp" => &mut sp,
                "se" => &mut se,
                "sig" => &mut sig,
                _ => return bad("unexpected query parameter"),
            };
            if slot.replace(value.into_owned()).is_some() {
                return bad("repeated query parameter");
            }
        }
        let (Some(block_id), Some(se), Some(sig)) = (block_id, se, sig) else {
            return bad("missing blockid, se or sig");
        };
        if comp.as_deref() != Some("block") || sp.as_deref() != Some("w") {
            return bad("comp or sp altered");
        }
        let Ok(expiry) = se.parse::<u64>() else {
            return bad("se is not a number");
        };
        let Ok(sig_bytes) = STANDARD.decode(&sig) else {
            return bad("sig is not base64");
        };
        let mac = self.mac(&["PUT", path, &block_id, &se]);
        if mac.verify_slice(&sig_bytes).is_err() {
            return bad("signature mismatch");
        }
        let Some(index) = Self::index_of_block_id(&block_id) else {
            return bad("blockid is not a block number");
        };
        if now >= expiry {
            UrlCheck::Expired { upload_id, index }
        } else {
            UrlCheck::Valid { upload_id, index }
        }
    }

    /// An upload token binding an upload id to its target and size.
    pub fn upload_token(&self, upload_id: &str, asset_path: &str, size: u64) -> String {
        let mac = self.mac(&["token", upload_id, asset_path, &size.to_string()]);
        let payload = format!("{upload_id}\n{asset_path}\n{size}");
        format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }

    /// The upload id, path and size of a token this signer made, or `None`.
    pub fn open_token(&self, token: &str) -> Option<(String, String, u64)> {
        let (payload, sig) = token.split_once('.')?;
        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        let mut fields = payload.splitn(3, '\n');
        let (id, path, size) = (fields.next()?, fields.next()?, fields.next()?);
        let mac = self.mac(&["token", id, path, size]);
        mac.verify_slice(&sig).ok()?;
        Some((id.to_string(), path.to_string(), size.parse().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(url: &str) -> (&str, Option<&str>) {
        match url.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (url, None),
        }
    }

    #[test]
    fn block_ids_match_azure_form() {
        assert_eq!(Signer::block_id(0), STANDARD.encode("000001"));
        assert_eq!(Signer::index_of_block_id(&Signer::block_id(41)), Some(41));
        assert_eq!(Signer::index_of_block_id(&STANDARD.encode("000000")), None);
        assert_eq!(Signer::index_of_block_id(&STANDARD.encode("12ab56")), None);
    }

    #[test]
    fn part_urls_verify_and_expire() {
        let signer = Signer::new(b"secret");
        let url = signer.part_url_path("u1", 3, 1000);
        let (path, query) = split(&url);
        assert_eq!(signer.check_part_url(path, query, 999), UrlCheck::Valid { upload_id: "u1".into(), index: 3 });
        assert_eq!(signer.check_part_url(path, query, 1000), UrlCheck::Expired { upload_id: "u1".into(), index: 3 });
    }

    #[test]
    fn tampering_is_detected() {
        let signer = Signer::new(b"secret");
        let url = signer.part_url_path("u1", 0, 1000);
        let (path, query) = split(&url);
        let other = Signer::new(b"other");
        assert!(matches!(other.check_part_url(path, query, 1), UrlCheck::BadSignature(_)));
        let later = query.unwrap().replace("se=1000", "se=9999");
        assert!(matches!(signer.check_part_url(path, Some(&later), 1), UrlCheck::BadSignature(_)));
        let moved = query.unwrap().replace(&Signer::block_id(0).replace('=', "%3D"), &Signer::block_id(1));
        assert!(matches!(signer.check_part_url(path, Some(&moved), 1), UrlCheck::BadSignature(_)));
        assert!(matches!(signer.check_part_url("/dam-uploads/u2", query, 1), UrlCheck::BadSignature(_)));
        assert!(matches!(signer.check_part_url(path, None, 1), UrlCheck::BadSignature(_)));
        let extra = format!("{}&x=1", query.unwrap());
        assert!(matches!(signer.check_part_url(path, Some(&extra), 1), UrlCheck::BadSignature(_)));
    }

    #[test]
    fn tokens_round_trip_and_reject_forgeries() {
        let signer = Signer::new(b"k");
        let token = signer.upload_token("id", "/content/dam/a b.jpg", 42);
        assert_eq!(signer.open_token(&token), Some(("id".into(), "/content/dam/a b.jpg".into(), 42)));
        assert_eq!(Signer::new(b"other").open_token(&token), None);
        assert_eq!(signer.open_token("garbage"), None);
        let forged =
            format!("{}.{}", URL_SAFE_NO_PAD.encode("id\n/content/dam/x\n1"), token.split('.').nth(1).unwrap());
        assert_eq!(signer.open_token(&forged), None);
    }
}
