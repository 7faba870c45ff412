//! The front's TLS: the certificate (given with `--tls-cert`/`--tls-key`,
//! or made once, self-signed, and kept), the rustls configuration (TLS 1.3
//! and 1.2, ring, ALPN `ferry` required when a client offers ALPN), and
//! the fingerprint clients are shown.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::{Context, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::settings::TlsSettings;

/// The self-signed certificate's file, in the root or the cache folder.
pub const CERT_FILE: &str = "tls-cert.pem";
/// Its private key's file (mode 0600).
pub const KEY_FILE: &str = "tls-key.pem";

/// A front's TLS, ready to serve.
#[derive(Debug)]
pub struct Certified {
    /// What each TLS connection is made with.
    pub config: Arc<rustls::ServerConfig>,
    /// The fingerprint of the certificate's key, as clients are shown it.
    pub fingerprint: String,
    /// Where the certificate came from, in words.
    pub source: String,
    /// The certificate in use, which a reload (SIGHUP) replaces.
    pub current: Arc<Reloadable>,
}

/// The certificate new connections are made with, read again from its
/// files on SIGHUP (a renewal needs no restart; connections under way keep
/// theirs).
#[derive(Debug)]
pub struct Reloadable {
    cert: PathBuf,
    key: PathBuf,
    in_use: RwLock<Arc<CertifiedKey>>,
}

impl Reloadable {
    /// Reads the files again; the new certificate serves new connections.
    /// On any error the one in use is kept. Returns the new key's
    /// fingerprint.
    pub fn reload(&self) -> anyhow::Result<String> {
        let (certified, fingerprint) = load(&self.cert, &self.key)?;
        let mut in_use = self.in_use.write().unwrap_or_else(|e| e.into_inner());
        *in_use = Arc::new(certified);
        Ok(fingerprint)
    }

    /// The certificate file, for the log.
    pub fn file(&self) -> &Path {
        &self.cert
    }
}

impl ResolvesServerCert for Reloadable {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.in_use
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

/// The chain and key in `cert` and `key`, checked to go together, and the
/// key's fingerprint.
fn load(cert: &Path, key: &Path) -> anyhow::Result<(CertifiedKey, String)> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect())
        .with_context(|| format!("cannot read the certificate {}", cert.display()))?;
    let Some(first) = chain.first() else {
        bail!(
            "{} holds no certificate (PEM, BEGIN CERTIFICATE)",
            cert.display()
        );
    };
    let fingerprint = ferry_runtime::tls::fingerprint(first)
        .with_context(|| format!("cannot read the certificate in {}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("cannot read the private key {}", key.display()))?;
    let provider = rustls::crypto::ring::default_provider();
    let certified = CertifiedKey::from_der(chain, key, &provider)
        .context("the certificate and the key do not go together")?;
    Ok((certified, fingerprint))
}

/// The certificate `settings` names, or the self-signed one kept in its
/// folder (made now, for `names`, if there is none yet).
pub fn certify(settings: &TlsSettings, names: &[String]) -> anyhow::Result<Certified> {
    let (cert, key, source) = match &settings.cert {
        Some((cert, key)) => (cert.clone(), key.clone(), format!("{}", cert.display())),
        None => {
            let (cert, key) = (
                settings.keep_in.join(CERT_FILE),
                settings.keep_in.join(KEY_FILE),
            );
            let made = !cert.exists() || !key.exists();
            if made {
                make_self_signed(&cert, &key, names)?;
            }
            let verb = if made { "made now" } else { "kept" };
            let source = format!("self-signed, {verb} in {}", cert.display());
            (cert, key, source)
        }
    };
    let (certified, fingerprint) = load(&cert, &key)?;
    let current = Arc::new(Reloadable {
        cert,
        key,
        in_use: RwLock::new(Arc::new(certified)),
    });
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("TLS 1.3 and 1.2 with ring")?
        .with_no_client_auth()
        .with_cert_resolver(current.clone());
    config.alpn_protocols = vec![ferry_runtime::tls::ALPN.to_vec()];
    Ok(Certified {
        config: Arc::new(config),
        fingerprint,
        source,
        current,
    })
}

/// Makes an ECDSA P-256 certificate for `names` (host names or addresses)
/// and its key, and writes both, mode 0600.
fn make_self_signed(cert: &Path, key: &Path, names: &[String]) -> anyhow::Result<()> {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .context("cannot make a key pair")?;
    let mut params = rcgen::CertificateParams::new(names.to_vec())
        .context("cannot make a certificate for these names")?;
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        names.first().map_or("ferry", |n| n),
    );
    let made = params
        .self_signed(&pair)
        .context("cannot sign the certificate")?;
    write_private(key, pair.serialize_pem().as_bytes())?;
    write_private(cert, made.pem().as_bytes())?;
    Ok(())
}

/// Writes `bytes` to a new file readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp: PathBuf = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// The names a self-signed certificate is made for: this host's name,
/// `localhost`, and every address the server is reachable at.
pub fn names(addresses: &[std::net::SocketAddr]) -> Vec<String> {
    let mut names = Vec::new();
    let host = rustix::system::uname();
    if let Ok(host) = host.nodename().to_str()
        && !host.is_empty()
    {
        names.push(host.to_owned());
    }
    names.push("localhost".to_owned());
    for addr in addresses {
        let ip = addr.ip().to_string();
        if !names.contains(&ip) {
            names.push(ip);
        }
    }
    names
}
