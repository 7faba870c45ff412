//! How the cache reaches its origin over TLS (`--origin tls://HOST:PORT`):
//! the origin's certificate is checked (host name, expiry) against the CA
//! of `--origin-ca`, or else the system's roots. A cache never asks anyone
//! to trust a key.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// The TLS configuration of every connection to the origin.
pub(crate) fn tls_config(ca: Option<&Path>) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(file) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(file)
                .and_then(|certs| certs.collect())
                .with_context(|| format!("cannot read --origin-ca {}", file.display()))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                bail!("--origin-ca {}: no certificate in it (PEM)", file.display());
            }
        }
        None => {
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            if roots.is_empty() {
                bail!(
                    "no trusted roots on this system for the origin's certificate: give --origin-ca FILE"
                );
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("TLS 1.3 and 1.2 with ring")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![ferry_runtime::tls::ALPN.to_vec()];
    // SSLKEYLOGFILE=FILE: the secrets of the origin connections appended.
    config.key_log = Arc::new(rustls::KeyLogFile::new());
    Ok(Arc::new(config))
}
