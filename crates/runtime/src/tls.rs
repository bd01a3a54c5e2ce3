//! Native TLS and mutual TLS between services when no service mesh brings it: the server side of
//! the `tls.*` settings for [`crate::server::serve`], and the client identity that
//! [`crate::client::lazy_channel`] uses for `https://` endpoints. Files are read and checked when
//! a service starts, so a wrong path or a bad PEM stops it with a message naming the setting.

use std::{path::Path, sync::RwLock, time::Duration};

use rustls::{
    RootCertStore,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, ServerTlsConfig};

use crate::{config::TlsSettings, error::Error};

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a server's TLS settings amount to, for logs.
pub fn describe(settings: &TlsSettings) -> &'static str {
    match (&settings.cert_file, &settings.client_ca_file) {
        (None, _) => "off",
        (Some(_), None) => "tls",
        (Some(_), Some(_)) => "mutual-tls",
    }
}

/// The server TLS configuration of `settings`: none without `cert_file`/`key_file` (plaintext
/// h2c); client certificates signed by `client_ca_file` required when it is set. Every file is
/// read and checked here.
pub fn server_config(settings: &TlsSettings) -> Result<Option<ServerTlsConfig>, Error> {
    let Some(identity) = identity(settings)? else {
        if settings.client_ca_file.is_some() {
            return Err(Error::Config(
                "tls.client_ca_file needs tls.cert_file and tls.key_file: a server asks for \
                 client certificates only over TLS"
                    .into(),
            ));
        }
        return Ok(None);
    };
    let mut config = ServerTlsConfig::new()
        .identity(identity)
        .timeout(HANDSHAKE_TIMEOUT);
    if let Some(path) = &settings.client_ca_file {
        config = config.client_ca_root(ca_certificates("client_ca_file", path)?);
    }
    // tonic builds the rustls configuration here: a key that does not match the certificate, or
    // a certificate rustls cannot use, fails now rather than on the first connection.
    tonic::transport::Server::builder()
        .tls_config(config.clone())
        .map_err(|error| {
            Error::Config(format!(
                "tls.cert_file/tls.key_file {}: {}",
                files(settings),
                chain(&error)
            ))
        })?;
    Ok(Some(config))
}

/// A client's TLS: the CAs it trusts for `https://` endpoints and the identity it presents.
#[derive(Debug, Clone)]
pub struct ClientTls {
    config: ClientTlsConfig,
}

impl ClientTls {
    /// The client side of `settings`: trusts `ca_file` (else `client_ca_file`) and presents
    /// `cert_file`/`key_file` when set. None when no CA is configured.
    pub fn load(settings: &TlsSettings) -> Result<Option<Self>, Error> {
        let identity = identity(settings)?;
        let Some(path) = settings.trusted_ca_file() else {
            return Ok(None);
        };
        let name = if settings.ca_file.is_some() {
            "ca_file"
        } else {
            "client_ca_file"
        };
        let ca = ca_certificates(name, path)?;
        Self::build(ca, identity, &files(settings)).map(Some)
    }

    /// A client trusting the PEM CA certificates `ca_pem`, presenting `identity` (certificate
    /// chain and key, PEM) when given.
    pub fn from_pem(ca_pem: &[u8], identity: Option<(&[u8], &[u8])>) -> Result<Self, Error> {
        check_ca_certificates("CA certificates", ca_pem)?;
        let identity = match identity {
            Some((cert, key)) => {
                check_certificates("client certificate", cert)?;
                check_private_key("client key", key)?;
                Some(Identity::from_pem(cert, key))
            }
            None => None,
        };
        Self::build(Certificate::from_pem(ca_pem), identity, "given PEM")
    }

    fn build(ca: Certificate, identity: Option<Identity>, source: &str) -> Result<Self, Error> {
        let mut config = ClientTlsConfig::new()
            .ca_certificate(ca)
            .timeout(HANDSHAKE_TIMEOUT);
        if let Some(identity) = identity {
            config = config.identity(identity);
        }
        // Building an endpoint builds the rustls configuration, so a bad identity fails now.
        Endpoint::from_static("https://localhost")
            .tls_config(config.clone())
            .map_err(|error| Error::Config(format!("client TLS {source}: {}", chain(&error))))?;
        Ok(Self { config })
    }

    /// The tonic configuration for one endpoint; the server name checked is the endpoint's host.
    pub fn config(&self) -> ClientTlsConfig {
        self.config.clone()
    }
}

/// The client TLS of this process, used by channels to `https://` endpoints that are not given
/// one explicitly. A process has one identity, like a pod has one certificate.
static PROCESS_CLIENT: RwLock<Option<ClientTls>> = RwLock::new(None);

/// Sets (or with `None` clears) this process's client TLS.
pub fn set_process_client(tls: Option<ClientTls>) {
    *PROCESS_CLIENT
        .write()
        .unwrap_or_else(|poison| poison.into_inner()) = tls;
}

/// This process's client TLS, if any.
pub fn process_client() -> Option<ClientTls> {
    PROCESS_CLIENT
        .read()
        .unwrap_or_else(|poison| poison.into_inner())
        .clone()
}

/// Checks the server side of `settings` and installs its client side as this process's client
/// TLS; service binaries call it once at start-up, before they build any channel.
pub fn configure_process(settings: &TlsSettings) -> Result<(), Error> {
    server_config(settings)?;
    set_process_client(ClientTls::load(settings)?);
    Ok(())
}

/// The identity of `cert_file`/`key_file`, checked; both or neither must be set.
fn identity(settings: &TlsSettings) -> Result<Option<Identity>, Error> {
    match (&settings.cert_file, &settings.key_file) {
        (None, None) => Ok(None),
        (Some(cert_file), Some(key_file)) => {
            let cert = read("cert_file", cert_file)?;
            check_certificates(&setting("cert_file", cert_file), &cert)?;
            let key = read("key_file", key_file)?;
            check_private_key(&setting("key_file", key_file), &key)?;
            Ok(Some(Identity::from_pem(cert, key)))
        }
        _ => Err(Error::Config(
            "tls.cert_file and tls.key_file are set together or not at all".into(),
        )),
    }
}

/// The CA certificates in the file of setting `name`, checked.
fn ca_certificates(name: &str, path: &Path) -> Result<Certificate, Error> {
    let pem = read(name, path)?;
    check_ca_certificates(&setting(name, path), &pem)?;
    Ok(Certificate::from_pem(pem))
}

fn setting(name: &str, path: &Path) -> String {
    format!("tls.{name} {}", path.display())
}

fn read(name: &str, path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path)
        .map_err(|error| Error::Config(format!("{}: cannot read it: {error}", setting(name, path))))
}

/// At least one PEM certificate, and nothing unreadable.
fn check_certificates(what: &str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| Error::Config(format!("{what}: not valid PEM: {error}")))?;
    if certificates.is_empty() {
        return Err(Error::Config(format!(
            "{what}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it"
        )));
    }
    Ok(certificates)
}

/// PEM certificates that each make a trust anchor.
fn check_ca_certificates(what: &str, pem: &[u8]) -> Result<(), Error> {
    let mut roots = RootCertStore::empty();
    for certificate in check_certificates(what, pem)? {
        roots.add(certificate).map_err(|error| {
            Error::Config(format!("{what}: not a usable CA certificate: {error}"))
        })?;
    }
    Ok(())
}

fn check_private_key(what: &str, pem: &[u8]) -> Result<(), Error> {
    PrivateKeyDer::from_pem_slice(pem)
        .map(drop)
        .map_err(|error| {
            Error::Config(format!(
                "{what}: no PEM private key (PKCS#8, PKCS#1 or SEC1) in it: {error}"
            ))
        })
}

fn files(settings: &TlsSettings) -> String {
    let name = |path: &Option<std::path::PathBuf>| {
        path.as_deref()
            .map_or_else(|| "-".to_string(), |path| path.display().to_string())
    };
    format!(
        "({}, {})",
        name(&settings.cert_file),
        name(&settings.key_file)
    )
}

/// An error with its sources, since tonic's transport error says only "transport error".
fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn write(directory: &Path, name: &str, contents: &str) -> PathBuf {
        let path = directory.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn no_settings_mean_plaintext() {
        let settings = TlsSettings::default();
        assert!(server_config(&settings).unwrap().is_none());
        assert!(ClientTls::load(&settings).unwrap().is_none());
        assert_eq!(describe(&settings), "off");
    }

    #[test]
    fn a_missing_file_names_the_setting_and_path() {
        let settings = TlsSettings {
            cert_file: Some("/nonexistent/tls.crt".into()),
            key_file: Some("/nonexistent/tls.key".into()),
            ..TlsSettings::default()
        };
        let error = server_config(&settings).unwrap_err().to_string();
        assert!(
            error.contains("tls.cert_file /nonexistent/tls.crt: cannot read it"),
            "{error}"
        );
    }

    #[test]
    fn files_without_pem_are_refused_with_the_setting_named() {
        let directory = tempfile::tempdir().unwrap();
        let garbage = write(directory.path(), "garbage.pem", "not a certificate\n");
        let settings = TlsSettings {
            cert_file: Some(garbage.clone()),
            key_file: Some(garbage.clone()),
            ..TlsSettings::default()
        };
        let error = server_config(&settings).unwrap_err().to_string();
        assert!(error.contains("tls.cert_file"), "{error}");
        assert!(error.contains("no PEM certificate"), "{error}");

        let settings = TlsSettings {
            ca_file: Some(garbage),
            ..TlsSettings::default()
        };
        let error = ClientTls::load(&settings).unwrap_err().to_string();
        assert!(error.contains("tls.ca_file"), "{error}");
    }

    #[test]
    fn half_an_identity_or_a_client_ca_without_one_is_refused() {
        let settings = TlsSettings {
            cert_file: Some("/tls.crt".into()),
            ..TlsSettings::default()
        };
        let error = server_config(&settings).unwrap_err().to_string();
        assert!(error.contains("set together"), "{error}");

        let settings = TlsSettings {
            client_ca_file: Some("/ca.crt".into()),
            ..TlsSettings::default()
        };
        let error = server_config(&settings).unwrap_err().to_string();
        assert!(error.contains("needs tls.cert_file"), "{error}");
    }
}
