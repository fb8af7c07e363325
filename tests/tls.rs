//! wss:// through the C ABI: a server with a certificate from a CA the test makes; the SDK
//! must verify it and report CRVIDEOSDK_SSL_ERR (209) on any failure, never fall back.

mod common;

use common::server_process::{ServerProcess, TempDir};
use common::*;
use crvideosdk::ffi::lifecycle::*;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

const SSL_ERR: i32 = 209;

struct Pki {
    dir: TempDir,
}

impl Pki {
    /// A CA, and certificates it signs, as PEM files in a temp dir.
    fn new() -> (Pki, rcgen::Certificate, KeyPair) {
        let dir = TempDir::new("pki");
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let ca = params.self_signed(&key).unwrap();
        std::fs::write(dir.path.join("ca.pem"), ca.pem()).unwrap();
        (Pki { dir }, ca, key)
    }

    fn ca_file(&self) -> String {
        self.dir.path.join("ca.pem").display().to_string()
    }

    /// A server certificate for `names`, valid now unless `expired`; returns the server's
    /// config lines.
    fn server(
        &self,
        tag: &str,
        ca: &rcgen::Certificate,
        ca_key: &KeyPair,
        names: &[&str],
        expired: bool,
    ) -> String {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        if expired {
            params.not_before = rcgen::date_time_ymd(2001, 1, 1);
            params.not_after = rcgen::date_time_ymd(2002, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, ca, ca_key).unwrap();
        let (cert_path, key_path) = (
            self.dir.path.join(format!("{tag}.pem")),
            self.dir.path.join(format!("{tag}.key")),
        );
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        format!(
            "tls_cert = \"{}\"\ntls_key = \"{}\"\n[[tenants]]\naccount = \"demo\"\npassword = \"demo123\"\n",
            cert_path.display(),
            key_path.display()
        )
    }
}

/// Logs in through `server_addr` with the given extra Init members; the first event.
fn login_via(server_addr: &str, extra: &str) -> Ev {
    let _ = RECORDER.events();
    RECORDER.clear();
    init(&format!(
        r#"{{"serverAddr":"{server_addr}","timeoutMs":10000{extra}}}"#
    ));
    assert_eq!(login("demo", "demo123", "T", "tls-user", "c"), 0);
    let first = RECORDER.wait_count(1)[0].clone();
    CRVideo_Uninit();
    first
}

#[test]
fn verified_tls_and_every_way_it_must_fail() {
    let _g = serial();
    let (pki, ca, ca_key) = Pki::new();
    let good = ServerProcess::start(&pki.server("good", &ca, &ca_key, &["localhost"], false));
    let port = good.addr.port();
    let trust = format!(r#","caFile":"{}""#, pki.ca_file());

    // Trusted CA, matching name: logged in over TLS.
    assert_eq!(
        login_via(&format!("wss://localhost:{port}"), &trust),
        Ev::LoginSuccess {
            usr_id: "tls-user".into(),
            cookie: "c".into()
        }
    );
    // The certificate does not name 127.0.0.1.
    assert_eq!(
        login_via(&format!("wss://127.0.0.1:{port}"), &trust),
        Ev::LoginFail {
            sdk_err: SSL_ERR,
            cookie: "c".into()
        }
    );
    // Without caFile only the system's roots are trusted, and they do not know our CA.
    assert_eq!(
        login_via(&format!("wss://localhost:{port}"), ""),
        Ev::LoginFail {
            sdk_err: SSL_ERR,
            cookie: "c".into()
        }
    );
    // Another CA does not vouch for it either.
    let (other, _, _) = Pki::new();
    let other_trust = format!(r#","caFile":"{}""#, other.ca_file());
    assert_eq!(
        login_via(&format!("wss://localhost:{port}"), &other_trust),
        Ev::LoginFail {
            sdk_err: SSL_ERR,
            cookie: "c".into()
        }
    );
    // Plain text to a TLS server is no login either.
    assert!(matches!(
        login_via(&format!("localhost:{port}"), &trust),
        Ev::LoginFail { .. }
    ));

    // An expired certificate.
    let expired = ServerProcess::start(&pki.server("expired", &ca, &ca_key, &["localhost"], true));
    let url = format!("wss://localhost:{}", expired.addr.port());
    assert_eq!(
        login_via(&url, &trust),
        Ev::LoginFail {
            sdk_err: SSL_ERR,
            cookie: "c".into()
        }
    );

    // TLS to a server that speaks plain WebSocket: an error, not a silent downgrade.
    let plain = ServerProcess::start("[[tenants]]\naccount = \"demo\"\npassword = \"demo123\"\n");
    let url = format!("wss://localhost:{}", plain.addr.port());
    assert_eq!(
        login_via(&url, &trust),
        Ev::LoginFail {
            sdk_err: SSL_ERR,
            cookie: "c".into()
        }
    );
}

#[test]
fn a_bad_ca_file_is_a_param_error() {
    let _g = serial();
    let dir = TempDir::new("badca");
    let not_pem = dir.path.join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    for path in ["/no/such/ca.pem".to_string(), not_pem.display().to_string()] {
        let params = cstr(&format!(r#"{{"caFile":"{path}"}}"#));
        assert_eq!(unsafe { CRVideo_Init(params.as_ptr()) }, 5, "{path}");
    }
}
