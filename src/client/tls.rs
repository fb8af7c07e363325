//! TLS for `wss://` servers: rustls (ring), verifying the server's certificate against the
//! app's `caFile` or else the system's trusted roots. There is no way to turn verification
//! off, and a `wss://` entry never falls back to plain text.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use crate::ErrorCode;

/// The certificates of a PEM file (at least one), or `PARAM_ERR`.
pub fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, ErrorCode> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|_| ErrorCode::ParamErr)?
        .collect::<Result<_, _>>()
        .map_err(|_| ErrorCode::ParamErr)?;
    if certs.is_empty() {
        return Err(ErrorCode::ParamErr);
    }
    Ok(certs)
}

/// A client configuration trusting `ca` (when given) or the system's roots.
pub fn client_config(
    ca: Option<&[CertificateDer<'static>]>,
) -> Result<Arc<ClientConfig>, ErrorCode> {
    let mut roots = RootCertStore::empty();
    match ca {
        Some(certs) => {
            for cert in certs {
                roots.add(cert.clone()).map_err(|_| ErrorCode::ParamErr)?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            for cert in native.certs {
                // A system certificate rustls cannot use is simply not trusted.
                let _ = roots.add(cert);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| ErrorCode::SslErr)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
