//! A real HTTP/1.1 server for the HTTP transfer tests (hyper's own server, on a thread of
//! its own, plain or TLS): files with Range support, PUT and multipart uploads (parsed by
//! multer) it keeps, redirects, error statuses, gates the test opens, and a handler that
//! never answers. It logs every request it saw.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use parking_lot::{Condvar, Mutex};
use tokio::sync::Notify;

use super::PATIENCE;

/// A test certificate authority (written to `dir/ca.pem`, for the Init key `caFile`) and
/// a server certificate it signed for 127.0.0.1: (CA file, certificate PEM, key PEM).
pub fn test_pki(dir: &std::path::Path) -> (std::path::PathBuf, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca = params.self_signed(&ca_key).unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    (ca_file, cert.pem(), key.serialize_pem())
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// Its `Range` header, if any.
    pub range: Option<String>,
    pub headers: Vec<(String, String)>,
}

/// An upload the server received.
#[derive(Debug, Clone, Default)]
pub struct Upload {
    pub headers: Vec<(String, String)>,
    /// A PUT's body.
    pub body: Vec<u8>,
    /// A multipart form's text fields.
    pub fields: Vec<(String, String)>,
    /// A multipart form's file parts: (field name, file name, bytes).
    pub files: Vec<(String, String, Vec<u8>)>,
}

#[derive(Default)]
pub struct State {
    files: Mutex<HashMap<String, Bytes>>,
    seen: Mutex<Vec<Seen>>,
    seen_changed: Condvar,
    uploads: Mutex<HashMap<String, Upload>>,
    open_gates: Mutex<HashSet<String>>,
    gate_opened: Notify,
}

pub struct HttpServer {
    pub addr: SocketAddr,
    pub state: Arc<State>,
    /// "http" or "https".
    scheme: &'static str,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HttpServer {
    pub fn start() -> HttpServer {
        Self::spawn(None)
    }

    /// Serves https with this certificate chain and key (PEM).
    pub fn start_tls(cert_pem: &str, key_pem: &str) -> HttpServer {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .unwrap();
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        Self::spawn(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
    }

    fn spawn(tls: Option<tokio_rustls::TlsAcceptor>) -> HttpServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let shared = state.clone();
        let thread = std::thread::Builder::new()
            .name("test-http".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(serve(listener, shared, tls, stopped));
                // Dropping the runtime drops every connection, the stalled ones too.
            })
            .unwrap();
        HttpServer {
            addr,
            state,
            scheme,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `scheme://127.0.0.1:port/path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{}", self.scheme, self.addr, path)
    }

    /// Serves `data` at `/files/<name>` (with Range), `/whole/<name>` (Range ignored),
    /// `/gate/<name>` (once the gate `name` is open) and `/hop/N/<name>` (after N
    /// redirects).
    pub fn put_file(&self, name: &str, data: Vec<u8>) {
        self.state
            .files
            .lock()
            .insert(name.to_owned(), Bytes::from(data));
    }

    pub fn open_gate(&self, name: &str) {
        self.state.open_gates.lock().insert(name.to_owned());
        self.state.gate_opened.notify_waiters();
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().clone()
    }

    /// Waits until `count` requests whose path starts with `prefix` were seen.
    pub fn wait_seen(&self, prefix: &str, count: usize) -> Vec<Seen> {
        let deadline = Instant::now() + PATIENCE;
        let mut seen = self.state.seen.lock();
        loop {
            let matching: Vec<Seen> = seen
                .iter()
                .filter(|s| s.path.starts_with(prefix))
                .cloned()
                .collect();
            if matching.len() >= count {
                return matching;
            }
            if self
                .state
                .seen_changed
                .wait_until(&mut seen, deadline)
                .timed_out()
            {
                panic!("saw {matching:?}, waited for {count} of {prefix}");
            }
        }
    }

    pub fn upload(&self, name: &str) -> Option<Upload> {
        self.state.uploads.lock().get(name).cloned()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    state: Arc<State>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    loop {
        let tcp = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(_) => continue,
            },
        };
        let state = state.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
            let http = hyper::server::conn::http1::Builder::new();
            match tls {
                None => {
                    let _ = http.serve_connection(TokioIo::new(tcp), service).await;
                }
                Some(acceptor) => {
                    // A client that does not trust the certificate gives up here.
                    if let Ok(stream) = acceptor.accept(tcp).await {
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                }
            }
        });
    }
}

type Answer = Response<Full<Bytes>>;

fn answer(status: StatusCode, body: impl Into<Bytes>) -> Answer {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
}

fn redirect(to: String) -> Answer {
    let mut response = answer(StatusCode::FOUND, "moved");
    response
        .headers_mut()
        .insert("location", to.parse().unwrap());
    response
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Answer, Infallible> {
    let path = req.uri().path().to_owned();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let range = req
        .headers()
        .get("range")
        .map(|v| v.to_str().unwrap().to_owned());
    {
        let mut seen = state.seen.lock();
        seen.push(Seen {
            method: req.method().to_string(),
            path: path.clone(),
            range: range.clone(),
            headers: headers.clone(),
        });
        state.seen_changed.notify_all();
    }
    let parts: Vec<&str> = path.trim_start_matches('/').splitn(3, '/').collect();
    let file = |name: &str| state.files.lock().get(name).cloned();
    Ok(match (req.method().as_str(), parts.as_slice()) {
        ("GET", ["files", name]) => serve_file(file(name), range.as_deref()),
        ("GET", ["whole", name]) => serve_file(file(name), None),
        ("GET", ["gate", name]) => {
            loop {
                let opened = state.gate_opened.notified();
                tokio::pin!(opened);
                opened.as_mut().enable();
                if state.open_gates.lock().contains(*name) {
                    break;
                }
                opened.await;
            }
            serve_file(file(name), range.as_deref())
        }
        ("GET", ["hop", n, name]) => match n.parse::<u32>().unwrap() {
            0 => serve_file(file(name), None),
            n => redirect(format!("/hop/{}/{name}", n - 1)),
        },
        ("GET", ["loop"]) => redirect("/loop".to_owned()),
        (_, ["status", code]) => {
            let status = StatusCode::from_u16(code.parse().unwrap()).unwrap();
            answer(status, format!("status {code}"))
        }
        (_, ["stall"]) => std::future::pending().await,
        ("PUT", ["upload", name]) => {
            let body = req.into_body().collect().await.unwrap().to_bytes().to_vec();
            let len = body.len();
            state.uploads.lock().insert(
                name.to_string(),
                Upload {
                    headers,
                    body,
                    ..Upload::default()
                },
            );
            answer(StatusCode::CREATED, format!("stored {len} bytes"))
        }
        ("POST", ["form", name]) => {
            let name = name.to_string();
            let content_type = req
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned());
            let boundary = match content_type.as_deref().map(multer::parse_boundary) {
                Some(Ok(boundary)) => boundary,
                _ => return Ok(answer(StatusCode::BAD_REQUEST, "not multipart")),
            };
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let stream = futures_util::stream::once(async move { Ok::<_, Infallible>(body) });
            let mut form = multer::Multipart::new(stream, boundary);
            let mut upload = Upload {
                headers,
                ..Upload::default()
            };
            while let Some(field) = form.next_field().await.unwrap() {
                let field_name = field.name().unwrap_or_default().to_owned();
                match field.file_name().map(str::to_owned) {
                    Some(file_name) => {
                        let data = field.bytes().await.unwrap().to_vec();
                        upload.files.push((field_name, file_name, data));
                    }
                    None => {
                        let text = field.text().await.unwrap();
                        upload.fields.push((field_name, text));
                    }
                }
            }
            let summary = format!(
                "form with {} fields and {} files",
                upload.fields.len(),
                upload.files.len()
            );
            state.uploads.lock().insert(name, upload);
            answer(StatusCode::OK, summary)
        }
        _ => answer(StatusCode::NOT_FOUND, "no such thing"),
    })
}

/// `data` whole, or from the byte a `Range: bytes=N-` names (206; 416 past the end).
fn serve_file(data: Option<Bytes>, range: Option<&str>) -> Answer {
    let Some(data) = data else {
        return answer(StatusCode::NOT_FOUND, "no such file");
    };
    let from = range
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .map(|n| n.parse::<usize>().unwrap());
    match from {
        None => answer(StatusCode::OK, data),
        Some(from) if from >= data.len() => {
            let mut response = answer(StatusCode::RANGE_NOT_SATISFIABLE, "");
            response.headers_mut().insert(
                "content-range",
                format!("bytes */{}", data.len()).parse().unwrap(),
            );
            response
        }
        Some(from) => {
            let len = data.len();
            let mut response = answer(StatusCode::PARTIAL_CONTENT, data.slice(from..));
            response.headers_mut().insert(
                "content-range",
                format!("bytes {from}-{}/{len}", len - 1).parse().unwrap(),
            );
            response
        }
    }
}
