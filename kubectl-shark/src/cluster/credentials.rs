//! What the agents' Secret holds: the API token, and the TLS certificate the agents serve with the
//! CA that clients pin.
//!
//! `capture` makes them once and keeps them across runs (a second `capture` neither rotates the
//! token nor the certificate, so running agents and open dashboards keep working). The CA signs
//! one serving certificate for every agent, named [`SERVER_NAME`] (see
//! [`shark_agent::server::tls`]); its private key is thrown away once that certificate is signed,
//! so nothing can mint another certificate the clients would trust.

use k8s_openapi::api::core::v1::Secret;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use shark_agent::server::tls::SERVER_NAME;

/// The Secret's keys, as the agents find them under `/etc/shark`.
pub mod keys {
    /// The API bearer token.
    pub const TOKEN: &str = "token";
    /// The CA certificate clients trust (PEM).
    pub const CA: &str = "ca.crt";
    /// The agents' serving certificate (PEM).
    pub const CERT: &str = "tls.crt";
    /// Its private key (PEM).
    pub const KEY: &str = "tls.key";
}

/// The token and the TLS material, as kept in the Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The API bearer token.
    pub token: String,
    /// The CA certificate (PEM).
    pub ca: String,
    /// The serving certificate (PEM).
    pub cert: String,
    /// The serving certificate's private key (PEM).
    pub key: String,
}

/// Why credentials could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The system's random source failed.
    #[error("cannot make the agents' API token: {0}")]
    Random(String),
    /// The certificate could not be made.
    #[error("cannot make the agents' TLS certificate: {0}")]
    Certificate(#[from] rcgen::Error),
}

/// A Secret value as text, as written (a PEM keeps its last newline).
fn text(secret: &Secret, key: &str) -> Option<String> {
    let bytes = &secret.data.as_ref()?.get(key)?.0;
    String::from_utf8(bytes.clone())
        .ok()
        .filter(|s| !s.trim().is_empty())
}

impl Credentials {
    /// A new random token and a new certificate.
    pub fn generate() -> Result<Self, CredentialsError> {
        let token = new_token()?;
        Self::with_token(token)
    }

    /// `token` with a new certificate.
    fn with_token(token: String) -> Result<Self, CredentialsError> {
        let (ca, cert, key) = new_certificate()?;
        Ok(Credentials {
            token,
            ca,
            cert,
            key,
        })
    }

    /// What an earlier deployment's Secret holds: its token (at least 16 characters) and its
    /// certificate; a Secret from before the agents served TLS keeps its token and gets a new
    /// certificate. `None` without a usable token.
    pub fn kept(secret: &Secret) -> Option<Result<Self, CredentialsError>> {
        let token = text(secret, keys::TOKEN)
            .map(|t| t.trim().to_string())
            .filter(|t| t.len() >= 16)?;
        let tls = (
            text(secret, keys::CA),
            text(secret, keys::CERT),
            text(secret, keys::KEY),
        );
        Some(match tls {
            (Some(ca), Some(cert), Some(key)) => Ok(Credentials {
                token,
                ca,
                cert,
                key,
            }),
            _ => Self::with_token(token),
        })
    }

    /// The Secret's `stringData`.
    pub fn string_data(&self) -> serde_json::Value {
        serde_json::json!({
            keys::TOKEN: self.token,
            keys::CA: self.ca,
            keys::CERT: self.cert,
            keys::KEY: self.key,
        })
    }
}

/// 32 random bytes as hex.
fn new_token() -> Result<String, CredentialsError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| CredentialsError::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A new CA (PEM) and a serving certificate it signed with its key (PEM), for ten years.
fn new_certificate() -> Result<(String, String, String), CredentialsError> {
    let now = std::time::SystemTime::now();
    let years = |n: u64| now + std::time::Duration::from_secs(n * 365 * 24 * 3600);
    let valid = |params: &mut CertificateParams| {
        // An hour back: a node whose clock is a little behind still accepts it.
        params.not_before = (now - std::time::Duration::from_secs(3600)).into();
        params.not_after = years(10).into();
    };
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "kubectl-shark agents CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    valid(&mut ca);
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate()?;
    let mut leaf = CertificateParams::new(vec![
        SERVER_NAME.to_string(),
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])?;
    leaf.distinguished_name
        .push(DnType::CommonName, SERVER_NAME);
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    valid(&mut leaf);
    let cert = leaf.signed_by(&key, &issuer)?;
    Ok((ca_cert.pem(), cert.pem(), key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    use rustls::client::WebPkiServerVerifier;
    use rustls::client::danger::ServerCertVerifier;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, UnixTime};

    /// Verifies server certificates trusting only the CA in `ca` (PEM).
    fn pinned(ca: &str) -> std::sync::Arc<WebPkiServerVerifier> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(ca.as_bytes()).expect("a CA"))
            .expect("trusted");
        WebPkiServerVerifier::builder_with_provider(
            std::sync::Arc::new(roots),
            std::sync::Arc::new(rustls::crypto::ring::default_provider()),
        )
        .build()
        .expect("a verifier")
    }

    #[test]
    fn the_ca_signs_a_certificate_for_the_agent_name_that_a_pinned_client_accepts() {
        let made = Credentials::generate().expect("made");
        assert_eq!(made.token.len(), 64);
        assert!(!made.ca.contains("PRIVATE KEY"), "the CA's key is not kept");
        shark_agent::server::tls::client_config(made.ca.as_bytes()).expect("the CA loads");
        let cert = CertificateDer::from_pem_slice(made.cert.as_bytes()).expect("a certificate");
        let verifier = pinned(&made.ca);
        for name in [SERVER_NAME, "localhost", "127.0.0.1"] {
            let name = rustls::pki_types::ServerName::try_from(name).expect("a name");
            verifier
                .verify_server_cert(&cert, &[], &name, &[], UnixTime::now())
                .unwrap_or_else(|e| panic!("{name:?}: {e}"));
        }
        let other = rustls::pki_types::ServerName::try_from("other.example").expect("a name");
        assert!(
            verifier
                .verify_server_cert(&cert, &[], &other, &[], UnixTime::now())
                .is_err(),
            "another name is refused"
        );
        // Another deployment's CA does not vouch for this certificate.
        let stranger = Credentials::generate().expect("made");
        let name = shark_agent::server::tls::server_name();
        assert!(
            pinned(&stranger.ca)
                .verify_server_cert(&cert, &[], &name, &[], UnixTime::now())
                .is_err()
        );
    }

    #[test]
    fn a_secret_from_before_tls_keeps_its_token_and_gets_a_certificate() {
        let secret: Secret = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "shark-agent-token"},
            // base64("0123456789abcdef0123456789abcdef")
            "data": {"token": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
        }))
        .expect("a Secret");
        let kept = Credentials::kept(&secret).expect("a token").expect("made");
        assert_eq!(kept.token, "0123456789abcdef0123456789abcdef");
        assert!(kept.cert.contains("BEGIN CERTIFICATE"));
    }
}
