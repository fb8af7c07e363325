//! wss: with `tls_cert` / `tls_key` the server speaks TLS, and a client verifying it against
//! a CA made by the test accepts exactly the right certificate.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use crvideo_server::Server;
use serde_json::json;
use support::{Client, Pki};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, RootCertStore};
use tokio_rustls::TlsConnector;

async fn start_tls(cert: &Path, key: &Path) -> Server {
    let mut config = support::config("tls");
    config.tls_cert = Some(cert.to_owned());
    config.tls_key = Some(key.to_owned());
    Server::start(config).await.unwrap()
}

fn connector(trusted: &[CertificateDer<'static>]) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    for ca in trusted {
        roots.add(ca.clone()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// TCP, then TLS verifying `host` against `trusted`.
async fn tls_connect(
    addr: SocketAddr,
    host: &str,
    trusted: &[CertificateDer<'static>],
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from(host.to_owned()).unwrap();
    connector(trusted).connect(name, tcp).await
}

/// The rustls certificate error behind a failed TLS connect, as Debug text.
fn cert_error(e: &std::io::Error) -> String {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(c)) => format!("{c:?}"),
        _ => panic!("not a certificate error: {e:?}"),
    }
}

async fn wss_login(addr: SocketAddr, trusted: &[CertificateDer<'static>], user: &str) {
    let tls = tls_connect(addr, "localhost", trusted).await.unwrap();
    let mut c = Client::over(tls, &format!("wss://localhost:{}/crvideo", addr.port())).await;
    c.hello().await;
    let r = c.login_reply("acme", "pw", user, "").await;
    assert_eq!(r.code, 0);
    assert_eq!(c.code(json!({"op": "get_user_status"})).await, 0);
}

#[tokio::test]
async fn a_client_trusting_the_ca_logs_in_over_wss() {
    let pki = Pki::new("tls-good");
    let (cert, key) = pki.server_cert("server", &["localhost", "127.0.0.1"], false);
    let server = start_tls(&cert, &key).await;
    let addr = server.local_addr();
    let ca = pki.ca.der().clone();
    wss_login(addr, std::slice::from_ref(&ca), "amy").await;
    // Several at once, each over its own TLS session.
    let logins = ["ben", "cal", "dan"].map(|u| wss_login(addr, std::slice::from_ref(&ca), u));
    futures_util::future::join_all(logins).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_host_name_not_in_the_certificate_fails_verification() {
    let pki = Pki::new("tls-name");
    let (cert, key) = pki.server_cert("server", &["localhost"], false);
    let server = start_tls(&cert, &key).await;
    let addr = server.local_addr();
    let ca = [pki.ca.der().clone()];
    let e = tls_connect(addr, "wrong.example.com", &ca)
        .await
        .expect_err("wrong host name accepted");
    assert!(cert_error(&e).contains("NotValidForName"), "{e}");
    // The server carries on.
    wss_login(addr, &ca, "amy").await;
}

#[tokio::test]
async fn an_expired_certificate_fails_verification() {
    let pki = Pki::new("tls-expired");
    let (cert, key) = pki.server_cert("server", &["localhost"], true);
    let server = start_tls(&cert, &key).await;
    let ca = [pki.ca.der().clone()];
    let e = tls_connect(server.local_addr(), "localhost", &ca)
        .await
        .expect_err("expired certificate accepted");
    assert!(cert_error(&e).contains("Expired"), "{e}");
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_ca_fails() {
    let pki = Pki::new("tls-unknown");
    let (cert, key) = pki.server_cert("server", &["localhost"], false);
    let server = start_tls(&cert, &key).await;
    let addr = server.local_addr();
    let stranger = Pki::new("tls-stranger");
    let e = tls_connect(addr, "localhost", &[stranger.ca.der().clone()])
        .await
        .expect_err("certificate of an unknown CA accepted");
    assert!(cert_error(&e).contains("UnknownIssuer"), "{e}");
    let e = tls_connect(addr, "localhost", &[])
        .await
        .expect_err("no trusted CA at all");
    assert!(cert_error(&e).contains("UnknownIssuer"), "{e}");
}

#[tokio::test]
async fn plain_websocket_to_a_tls_server_fails_and_the_server_carries_on() {
    let pki = Pki::new("tls-plain");
    let (cert, key) = pki.server_cert("server", &["localhost"], false);
    let server = start_tls(&cert, &key).await;
    let addr = server.local_addr();
    let plain = tokio_tungstenite::connect_async(format!("ws://{addr}/crvideo")).await;
    assert!(plain.is_err(), "plain ws accepted by a TLS server");
    wss_login(addr, &[pki.ca.der().clone()], "amy").await;
}

#[tokio::test]
async fn bad_certificate_files_are_refused_at_start() {
    let pki = Pki::new("tls-bad");
    let (cert, key) = pki.server_cert("server", &["localhost"], false);
    let (_, other_key) = pki.server_cert("other", &["localhost"], false);
    let garbage = pki.dir.join("garbage.pem");
    std::fs::write(&garbage, "not a PEM file").unwrap();
    let missing = pki.dir.join("missing.pem");
    for (c, k) in [
        (&garbage, &key),
        (&cert, &garbage),
        (&missing, &key),
        (&cert, &missing),
        (&cert, &other_key),
    ] {
        let mut config = support::config("tls-bad");
        config.tls_cert = Some(c.clone());
        config.tls_key = Some(k.clone());
        let e = Server::start(config)
            .await
            .err()
            .expect("bad TLS files accepted");
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}");
        assert!(!e.to_string().contains('\n'), "{e}");
    }
}
