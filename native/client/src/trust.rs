//! Whom a `tls://` server is trusted as: the CA given with `--ca` (or that
//! self-signed certificate), else the system's roots, else, for a
//! certificate no root vouches for, the key the user accepted once, as ssh
//! does (`known_hosts`). Host name and expiry are checked for every
//! certificate a root vouches for; a known key is matched by its
//! fingerprint (SHA-256 of the public key, so a renewed certificate with
//! the same key stays trusted).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::DigitallySignedStruct;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use crate::error::ClientError;

/// The trust of one `tls://HOST:PORT`, and what its server presented.
#[derive(Debug)]
pub struct Trust {
    /// `tls://HOST:PORT`, as known hosts are written.
    pub address: String,
    /// The known-hosts file.
    pub known_hosts: PathBuf,
    verifier: Arc<Tofu>,
}

impl Trust {
    /// The TLS configuration for `address` (`tls://HOST:PORT`): roots from
    /// `ca` if given (no trust on first use then), else the system's and
    /// the keys in `known_hosts`.
    pub fn new(
        address: &str,
        ca: Option<&Path>,
        known_hosts: PathBuf,
    ) -> Result<(Arc<rustls::ClientConfig>, Arc<Trust>), ClientError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let (roots, first_use) = match ca {
            Some(file) => (roots_from(file)?, false),
            None => (system_roots(), true),
        };
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .ok();
        let known = match first_use {
            true => lookup(&known_hosts, address)?,
            false => None,
        };
        let verifier = Arc::new(Tofu {
            webpki,
            first_use,
            known: Mutex::new(known),
            seen: Mutex::new(None),
            provider: provider.clone(),
        });
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| ClientError::Usage(format!("TLS: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth();
        config.alpn_protocols = vec![ferry_runtime::tls::ALPN.to_vec()];
        // SSLKEYLOGFILE=FILE: the secrets appended there, as curl does.
        config.key_log = Arc::new(rustls::KeyLogFile::new());
        let trust = Trust {
            address: address.to_owned(),
            known_hosts,
            verifier,
        };
        Ok((Arc::new(config), Arc::new(trust)))
    }

    /// The key fingerprint of a certificate no root vouched for, if the
    /// last handshake met one (and trust on first use applies).
    pub fn unknown_key(&self) -> Option<String> {
        lock(&self.verifier.seen).clone()
    }

    /// Trusts `fingerprint` for this address from now on: kept in the
    /// known-hosts file, and accepted by the next handshake.
    pub fn accept(&self, fingerprint: &str) -> Result<(), ClientError> {
        add(&self.known_hosts, &self.address, fingerprint)?;
        *lock(&self.verifier.known) = Some(fingerprint.to_owned());
        *lock(&self.verifier.seen) = None;
        Ok(())
    }

    /// The key this address is known by, if any.
    pub fn known_key(&self) -> Option<String> {
        lock(&self.verifier.known).clone()
    }
}

/// Checks a server's certificate against the roots, then against the key
/// known for it.
#[derive(Debug)]
struct Tofu {
    /// Verification against roots, if there are any.
    webpki: Option<Arc<WebPkiServerVerifier>>,
    /// Whether a key no root vouches for may be trusted by its fingerprint.
    first_use: bool,
    /// The fingerprint known for this address.
    known: Mutex<Option<String>>,
    /// The fingerprint of a certificate no root vouched for, last seen.
    seen: Mutex<Option<String>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Tofu {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *lock(&self.seen) = None;
        let vouched = match &self.webpki {
            Some(webpki) => {
                webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            }
            None => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        };
        let unknown_issuer = matches!(
            vouched,
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            ))
        );
        // A self-signed certificate is judged by its key alone, whatever
        // else a root store finds wrong with it (its dates, its CA flag):
        // one rule, with or without system roots.
        let self_signed = intermediates.is_empty() && ferry_runtime::tls::self_signed(end_entity);
        if vouched.is_ok() || !self.first_use || !(unknown_issuer || self_signed) {
            return vouched;
        }
        let fingerprint = ferry_runtime::tls::fingerprint(end_entity).ok_or(
            rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding),
        )?;
        if lock(&self.known).as_deref() == Some(fingerprint.as_str()) {
            return Ok(ServerCertVerified::assertion());
        }
        *lock(&self.seen) = Some(fingerprint);
        vouched
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The certificates of a PEM file, as roots.
fn roots_from(file: &Path) -> Result<rustls::RootCertStore, ClientError> {
    let unreadable = |e: &dyn std::fmt::Display| {
        ClientError::Usage(format!("--ca {}: cannot read it: {e}", file.display()))
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(file)
        .and_then(|certs| certs.collect())
        .map_err(|e| unreadable(&e))?;
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(ClientError::Usage(format!(
            "--ca {}: no certificate in it (PEM, BEGIN CERTIFICATE)",
            file.display()
        )));
    }
    Ok(roots)
}

/// The system's trusted roots (the standard locations, `SSL_CERT_FILE`);
/// none if there are none.
fn system_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    roots
}

/// The known-hosts file: `$XDG_DATA_HOME/ferry/known_hosts`, or
/// `~/.local/share/ferry/known_hosts`.
pub fn known_hosts_path() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data.join("ferry").join("known_hosts")
}

/// Every `tls://HOST:PORT FINGERPRINT` line of a known-hosts file.
pub fn entries(path: &Path) -> Result<Vec<(String, String)>, ClientError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(ClientError::Local(format!(
                "cannot read the known hosts {}: {e}",
                path.display()
            )));
        }
    };
    Ok(text
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once(' '))
        .map(|(address, key)| (address.to_owned(), key.trim().to_owned()))
        .collect())
}

/// The key known for `address`, if any.
fn lookup(path: &Path, address: &str) -> Result<Option<String>, ClientError> {
    let known = entries(path)?;
    Ok(known
        .into_iter()
        .find(|(a, _)| a == address)
        .map(|(_, key)| key))
}

/// Records `fingerprint` as `address`'s key, replacing what was there.
pub fn add(path: &Path, address: &str, fingerprint: &str) -> Result<(), ClientError> {
    let mut known = entries(path)?;
    known.retain(|(a, _)| a != address);
    known.push((address.to_owned(), fingerprint.to_owned()));
    save(path, &known)
}

/// Forgets `address`'s key; `Ok(false)` if none was known.
pub fn remove(path: &Path, address: &str) -> Result<bool, ClientError> {
    let mut known = entries(path)?;
    let before = known.len();
    known.retain(|(a, _)| a != address);
    save(path, &known)?;
    Ok(known.len() < before)
}

fn save(path: &Path, known: &[(String, String)]) -> Result<(), ClientError> {
    let failed = |e: std::io::Error| {
        ClientError::Local(format!(
            "cannot write the known hosts {}: {e}",
            path.display()
        ))
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    let text: String = known.iter().map(|(a, k)| format!("{a} {k}\n")).collect();
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(failed)?;
    std::fs::rename(&tmp, path).map_err(failed)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
