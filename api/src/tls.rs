//! TLS on the listeners (rustls, ring). A listener's certificate and key are PEM files read at
//! start-up into a [`ReloadableCert`], which rustls asks for the pair on every handshake;
//! [`ReloadableCert::reload`] (SIGHUP) reads the files again and swaps the pair in place, so a
//! renewed certificate takes effect for new connections without a restart or a dropped one.
//! A reload that fails (missing file, bad PEM, a key that does not match) keeps the pair in
//! use and says why; neither error nor log ever carries key material.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, RwLock};

use portcullis_config::TlsFiles;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Why a listener's certificate could not be (re)loaded.
#[derive(Debug, thiserror::Error)]
#[error("{listener} TLS: {what} {path}: {why}")]
pub struct TlsError {
    listener: &'static str,
    what: &'static str,
    path: String,
    why: String,
}

/// One listener's certificate and key, swapped in place on reload.
pub(crate) struct ReloadableCert {
    listener: &'static str,
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl fmt::Debug for ReloadableCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadableCert")
            .field("listener", &self.listener)
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl ReloadableCert {
    /// Reads `files` for `listener` ("public" or "admin"); fails if they do not make a pair.
    pub(crate) fn load(listener: &'static str, files: &TlsFiles) -> Result<Arc<Self>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let pair = read_pair(listener, files, &provider)?;
        Ok(Arc::new(Self {
            listener,
            files: files.clone(),
            provider,
            current: RwLock::new(Arc::new(pair)),
        }))
    }

    /// Reads the files again; on success new handshakes use the new pair. On failure the
    /// pair in use stays.
    pub(crate) fn reload(&self) -> Result<(), TlsError> {
        let pair = read_pair(self.listener, &self.files, &self.provider)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(pair);
        Ok(())
    }

    pub(crate) fn listener(&self) -> &'static str {
        self.listener
    }

    /// A rustls server config that asks this store for its certificate on each handshake:
    /// TLS 1.2 and 1.3 with rustls's safe defaults, no client certificates, HTTP/1.1.
    pub(crate) fn server_config(self: &Arc<Self>) -> Result<rustls::ServerConfig, TlsError> {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| self.error("protocol versions", "", e))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }

    fn error(&self, what: &'static str, path: &str, why: impl fmt::Display) -> TlsError {
        TlsError {
            listener: self.listener,
            what,
            path: path.to_owned(),
            why: why.to_string(),
        }
    }
}

impl ResolvesServerCert for ReloadableCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.current.read().unwrap_or_else(|e| e.into_inner()),
        ))
    }
}

fn read_pair(
    listener: &'static str,
    files: &TlsFiles,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let error = |what: &'static str, path: &Path, why: String| TlsError {
        listener,
        what,
        path: path.display().to_string(),
        why,
    };
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| error("certificate", &files.cert, pem_error(&e)))?;
    if certs.is_empty() {
        return Err(error(
            "certificate",
            &files.cert,
            "no CERTIFICATE block".to_owned(),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| error("key", &files.key, pem_error(&e)))?;
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|_| error("key", &files.key, "not a usable private key".to_owned()))?;
    let pair = CertifiedKey::new(certs, signing);
    pair.keys_match().map_err(|_| {
        error(
            "key",
            &files.key,
            format!("does not match the certificate in {}", files.cert.display()),
        )
    })?;
    Ok(pair)
}

/// A PEM error in words, never with the file's bytes.
fn pem_error(e: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::Io(io) => io.kind().to_string(),
        Error::NoItemsFound => "no PEM block of the expected kind".to_owned(),
        _ => "not valid PEM".to_owned(),
    }
}
