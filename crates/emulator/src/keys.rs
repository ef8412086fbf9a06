//! RSA key pairs for the emulator's IMS and webhook signatures: generation,
//! PEM encodings, RS256 (PKCS#1 v1.5 with SHA-256) signatures, self-signed
//! certificates and public keys read back from PEM. Every primitive is
//! RustCrypto's (`rsa`, `sha2`, `x509-cert`); this module only wires them.

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use rsa::pkcs1::{DecodeRsaPublicKey, EncodeRsaPrivateKey};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::signature::{Keypair, SignatureEncoding, Signer, Verifier};
use sha2::Sha256;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::der::{DecodePem, Encode, EncodePem};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;

/// Why a key could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("could not generate an RSA key: {0}")]
    Generate(String),
    #[error("not a PEM RSA public key, RSA certificate or SPKI public key: {0}")]
    Parse(String),
    #[error("could not build the certificate: {0}")]
    Certificate(String),
}

/// How a private key is written out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrivateKeyFormat {
    /// `-----BEGIN RSA PRIVATE KEY-----`, as AEM's Developer Console writes it.
    Pkcs1,
    /// `-----BEGIN PRIVATE KEY-----`.
    Pkcs8,
}

/// An RSA key pair.
pub struct KeyPair {
    signing: SigningKey<Sha256>,
}

impl KeyPair {
    /// A fresh key pair from the OS random source. 2048 bits takes well under
    /// a second with the dependencies optimised (about 0.1 s here).
    pub fn generate(bits: usize) -> Result<KeyPair, KeyError> {
        let key = rsa::PrivateKey::new(&mut getrandom::SysRng, bits).map_err(|e| KeyError::Generate(e.to_string()))?;
        Ok(KeyPair { signing: SigningKey::new(key) })
    }

    fn private(&self) -> &rsa::PrivateKey {
        self.signing.as_ref()
    }

    pub fn public_key(&self) -> rsa::PublicKey {
        self.private().to_public_key()
    }

    /// The private key as PEM. It is a secret: callers hand it to the one
    /// who asked for it and never log it.
    pub fn private_pem(&self, format: PrivateKeyFormat, eol: LineEnding) -> String {
        let pem = match format {
            PrivateKeyFormat::Pkcs1 => {
                self.private().to_pkcs1_pem(eol).map(|p| p.to_string()).map_err(|e| e.to_string())
            }
            PrivateKeyFormat::Pkcs8 => {
                self.private().to_pkcs8_pem(eol).map(|p| p.to_string()).map_err(|e| e.to_string())
            }
        };
        pem.expect("an RSA key encodes")
    }

    /// The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`), the form
    /// I/O Events serves its signing keys in.
    pub fn public_pem(&self) -> String {
        self.public_key().to_public_key_pem(LineEnding::LF).expect("an RSA public key encodes")
    }

    /// An RSASSA-PKCS1-v1_5 SHA-256 signature (JWS `RS256`, Java `SHA256withRSA`).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.signing.sign(message).to_vec()
    }

    /// A self-signed certificate for the key, `CN=<common_name>`, valid from
    /// a day ago for `days`, shaped like the Developer Console's: version 3,
    /// random serial, SHA-256 with RSA, basic constraints and key usage.
    pub fn self_signed_certificate(&self, common_name: &str, days: u64, eol: LineEnding) -> Result<String, KeyError> {
        let cert_error = |e: &dyn std::fmt::Display| KeyError::Certificate(e.to_string());
        let subject = Name::from_str(&format!("CN={}", escape_rdn(common_name))).map_err(|e| cert_error(&e))?;
        let now = SystemTime::now();
        let time = |t: SystemTime| Time::try_from(t).map_err(|e| cert_error(&e));
        let validity = Validity::new(
            time(now - Duration::from_secs(86_400))?,
            time(now + Duration::from_secs(days.max(1) * 86_400))?,
        );
        let mut serial = [0u8; 9];
        getrandom::fill(&mut serial).map_err(|e| cert_error(&e))?;
        serial[0] &= 0x7f; // a positive integer
        serial[0] |= 0x01; // and no leading zero byte
        let serial = SerialNumber::new(&serial).map_err(|e| cert_error(&e))?;
        let spki = x509_cert::spki::SubjectPublicKeyInfoOwned::from_key(&self.signing.verifying_key())
            .map_err(|e| cert_error(&e))?;
        let builder =
            CertificateBuilder::new(SelfSigned { subject }, serial, validity, spki).map_err(|e| cert_error(&e))?;
        let certificate = builder.build::<_, Signature>(&self.signing).map_err(|e| cert_error(&e))?;
        certificate.to_pem(eol).map_err(|e| cert_error(&e))
    }
}

/// Escapes the characters RFC 4514 reserves in an attribute value.
fn escape_rdn(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The certificate profile of a self-signed key certificate.
struct SelfSigned {
    subject: Name,
}

impl BuilderProfile for SelfSigned {
    fn get_issuer(&self, subject: &Name) -> Name {
        subject.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: x509_cert::spki::SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: x509_cert::spki::SubjectPublicKeyInfoRef<'_>,
        tbs: &x509_cert::TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let subject = tbs.subject();
        Ok(vec![
            (&BasicConstraints { ca: true, path_len_constraint: None }).to_extension(subject, &[])?,
            (&KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation | KeyUsages::KeyEncipherment))
                .to_extension(subject, &[])?,
        ])
    }
}

/// Reads an RSA public key from PEM: an X.509 certificate, an SPKI
/// `PUBLIC KEY` or a PKCS#1 `RSA PUBLIC KEY`. `\r\n` line ends are accepted,
/// as the Developer Console's JSON carries them.
pub fn parse_public_key(pem: &str) -> Result<rsa::PublicKey, KeyError> {
    let pem = pem.replace("\r\n", "\n");
    let pem = pem.trim();
    let parse = |e: &dyn std::fmt::Display| KeyError::Parse(e.to_string());
    if pem.starts_with("-----BEGIN CERTIFICATE-----") {
        let certificate = Certificate::from_pem(pem.as_bytes()).map_err(|e| parse(&e))?;
        let spki = certificate.tbs_certificate().subject_public_key_info().to_der().map_err(|e| parse(&e))?;
        rsa::PublicKey::from_public_key_der(&spki).map_err(|e| parse(&e))
    } else if pem.starts_with("-----BEGIN RSA PUBLIC KEY-----") {
        rsa::PublicKey::from_pkcs1_pem(pem).map_err(|e| parse(&e))
    } else if pem.starts_with("-----BEGIN PUBLIC KEY-----") {
        rsa::PublicKey::from_public_key_pem(pem).map_err(|e| parse(&e))
    } else {
        Err(KeyError::Parse("expected a PEM certificate or public key".into()))
    }
}

/// Whether `signature` is a valid RS256 signature of `message` by `key`.
pub fn verify(key: &rsa::PublicKey, message: &[u8], signature: &[u8]) -> bool {
    let Ok(signature) = Signature::try_from(signature) else { return false };
    VerifyingKey::<Sha256>::new(key.clone()).verify(message, &signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_pem_round_trips() {
        let pair = KeyPair::generate(2048).unwrap();
        let other = KeyPair::generate(2048).unwrap();
        let signature = pair.sign(b"body");
        assert!(verify(&pair.public_key(), b"body", &signature));
        assert!(!verify(&pair.public_key(), b"bodY", &signature));
        assert!(!verify(&other.public_key(), b"body", &signature));
        assert!(!verify(&pair.public_key(), b"body", b"short"));

        let pkcs1 = pair.private_pem(PrivateKeyFormat::Pkcs1, LineEnding::CRLF);
        assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----\r\n"));
        let pkcs8 = pair.private_pem(PrivateKeyFormat::Pkcs8, LineEnding::LF);
        assert!(pkcs8.starts_with("-----BEGIN PRIVATE KEY-----\n"));

        let certificate = pair.self_signed_certificate("cm-p1-e1-integration-0", 365, LineEnding::CRLF).unwrap();
        assert!(certificate.starts_with("-----BEGIN CERTIFICATE-----\r\n"));
        assert_eq!(parse_public_key(&certificate).unwrap(), pair.public_key());
        assert_eq!(parse_public_key(&pair.public_pem()).unwrap(), pair.public_key());
        assert!(parse_public_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----").is_err());
        assert!(parse_public_key("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----").is_err());
    }
}
