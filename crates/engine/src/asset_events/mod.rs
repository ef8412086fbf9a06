//! AEM asset events as Adobe I/O Events delivers them to a webhook: the
//! CloudEvents bodies ([`parse`]), their digital signatures ([`signature`]),
//! which events were already handled ([`dedupe`]), and what a receiver answers
//! to one delivery ([`webhook`]).
//!
//! Delivery is at-least-once, unordered, possibly batched (a JSON array), and
//! signed twice (two RSA key pairs, so that either can be rotated): the
//! contract is `assets.md` (events) and `protocol.md` (asset events) in the
//! project's spec, and Adobe's own verifiers (`@adobe/aio-lib-events`
//! `signatureUtils.js`, `aio-lib-java` `EventVerifier.java`) are matched where
//! the docs are silent.
//!
//! Distinct from [`crate::events`], which is what an upload reports while it runs.

pub mod dedupe;
mod error;
pub mod parse;
pub mod signature;
pub mod webhook;

use std::borrow::Cow;

use base64::Engine as _;

pub use dedupe::{dedupe_key, EventDeduper};
pub use error::{EventError, EventErrorCode};
pub use parse::{parse, parse_each, AssetEvent, AssetEventType, Parsed};
pub use signature::{HttpKeySource, KeySource, SignatureHeaders, Verifier};

/// The bytes that were signed and are to be parsed.
///
/// A webhook gets the JSON itself. An Adobe I/O Runtime action gets it
/// base64-encoded (`__ow_body`), and Adobe's Node verifier decodes it first
/// (`getProperPayload`): JSON never starts with a base64 character, so a body
/// that does, is strict base64, and decodes to a JSON object or array is
/// taken in its decoded form.
pub fn signed_payload(body: &[u8]) -> Cow<'_, [u8]> {
    let trimmed = body.trim_ascii();
    match trimmed.first() {
        Some(b'{' | b'[') | None => return Cow::Borrowed(body),
        _ => {}
    }
    match base64::engine::general_purpose::STANDARD.decode(trimmed) {
        Ok(decoded) if matches!(decoded.trim_ascii_start().first(), Some(b'{' | b'[')) => Cow::Owned(decoded),
        _ => Cow::Borrowed(body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base64_body_is_decoded_and_json_is_kept() {
        let json = br#"{"a":1}"#;
        assert_eq!(&*signed_payload(json), json);
        let encoded = base64::engine::general_purpose::STANDARD.encode(json);
        assert_eq!(&*signed_payload(encoded.as_bytes()), json);
        // Base64 of something that is not JSON stays as it is (and fails to parse later).
        let other = base64::engine::general_purpose::STANDARD.encode(b"hello");
        assert_eq!(&*signed_payload(other.as_bytes()), other.as_bytes());
        assert_eq!(&*signed_payload(b""), b"");
    }
}
