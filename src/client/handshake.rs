//! Establishing a session (the handshakes before a connection carries one): try the
//! servers in order, WebSocket and TLS, `hello`, then `login` or `resume`.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use tokio_tungstenite::Connector;

use crvideo_proto::{
    decode, encode, ClientFrame, HelloOk, LoginOk, LoginRequest, Request, ServerFrame,
    PROTOCOL_VERSION,
};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::params::ServerAddr;
use crate::ErrorCode;

pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A logged-in connection, ready to be split into reader and writer tasks.
pub struct Established {
    pub ws: WsStream,
    pub hello: HelloOk,
    pub login: LoginOk,
    pub server: ServerAddr,
}

/// Request ids used during establishment; the session's own requests start after them.
const HELLO_ID: u64 = 1;
const LOGIN_ID: u64 = 2;
pub const FIRST_SESSION_REQUEST_ID: u64 = 3;
/// How long a refused login may spend closing its connection.
const GOODBYE: Duration = Duration::from_millis(500);

/// Connects to the first server that answers and logs in, all within `budget`.
///
/// Each server gets an equal share of what is left of the budget, so a server that does not
/// answer cannot starve the ones after it. Errors: `CREATE_CONN_FAILED` when no server
/// completed the hello, `MISMATCHCLIENTVER` when the only servers that answered speak another
/// protocol version, `NOSERVER_RSP` when the login got no reply in time, or the server's
/// login error (e.g. `ANCTPSWD_ERR`).
pub async fn connect_and_login(
    servers: &[ServerAddr],
    login: LoginRequest,
    budget: Duration,
    tls: &TlsSettings,
) -> Result<Established, i32> {
    let deadline = Instant::now() + budget;
    let mut error = ErrorCode::CreateConnFailed.code();
    for (index, server) in servers.iter().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let share = left / (servers.len() - index) as u32;
        let opened = match tokio::time::timeout(share, open(server, tls)).await {
            Ok(Ok(opened)) => opened,
            Ok(Err(code)) => {
                tracing::info!(%server, code, "could not open a session");
                // A server that answered says more than one that did not.
                if code == ErrorCode::MismatchClientVer.code() || code == ErrorCode::SslErr.code() {
                    error = code;
                }
                continue;
            }
            Err(_) => {
                tracing::info!(%server, "no answer within {share:?}");
                continue;
            }
        };
        let (mut ws, hello) = opened;
        let request = ClientFrame {
            id: LOGIN_ID,
            request: Request::Login(login),
        };
        let result = match timeout_at(deadline, exchange(&mut ws, request)).await {
            Ok(Ok(reply)) => reply.into_result::<LoginOk>(),
            Ok(Err(code)) => Err(code),
            Err(_) => Err(ErrorCode::NoServerRsp.code()),
        };
        if result.is_err() {
            // Say goodbye properly; the server would otherwise log a reset.
            let _ = tokio::time::timeout(GOODBYE, ws.close(None)).await;
        }
        return result.map(|login| Established {
            ws,
            hello,
            login,
            server: server.clone(),
        });
    }
    Err(error)
}

/// A lost session taken over on a new connection.
pub struct Resumed {
    pub ws: WsStream,
    pub hello: HelloOk,
    /// The session's text frames the server got: the client sends again those after.
    pub server_received: u64,
}

/// Opens a new connection to `server` and resumes the session of `token` on it, saying the
/// client got `received` of the session's text frames. `Err(Ok(code))`: the server refused
/// (the session is gone); `Err(Err(code))`: no connection (worth trying again).
pub async fn resume(
    server: &ServerAddr,
    tls: &TlsSettings,
    token: String,
    received: u64,
) -> Result<Resumed, Result<i32, i32>> {
    let (mut ws, hello) = open(server, tls).await.map_err(Err)?;
    let request = ClientFrame {
        id: LOGIN_ID,
        request: Request::Resume { token, received },
    };
    let reply = exchange(&mut ws, request).await.map_err(Err)?;
    match reply.into_result::<crvideo_proto::Resumed>() {
        Ok(resumed) => Ok(Resumed {
            ws,
            hello,
            server_received: resumed.received,
        }),
        Err(code) => {
            let _ = tokio::time::timeout(GOODBYE, ws.close(None)).await;
            Err(Ok(code))
        }
    }
}

/// WebSocket settings: control frames are small; bulk data gets its own cap later.
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20))
}

/// How to reach `wss://` servers: the trusted authorities (the app's `caFile`, or the
/// system's roots); the rustls configuration is built once, at the first TLS connection.
#[derive(Clone, Default)]
pub struct TlsSettings {
    ca: Option<Arc<Vec<CertificateDer<'static>>>>,
    config: Arc<OnceLock<Result<Arc<rustls::ClientConfig>, i32>>>,
}

impl TlsSettings {
    pub fn new(ca: Option<Vec<CertificateDer<'static>>>) -> TlsSettings {
        TlsSettings {
            ca: ca.map(Arc::new),
            config: Arc::default(),
        }
    }

    /// The rustls configuration, built at the first use (it may read the system's roots)
    /// and shared by the SDK connection and HTTP transfers.
    pub fn config(&self) -> Result<Arc<rustls::ClientConfig>, i32> {
        let config = self.config.get_or_init(|| {
            super::tls::client_config(self.ca.as_deref().map(Vec::as_slice)).map_err(|e| e.code())
        });
        config.clone()
    }

    fn connector(&self) -> Result<Connector, i32> {
        self.config().map(Connector::Rustls)
    }
}

/// Opens the WebSocket (through TLS for `wss://`) and completes the hello.
async fn open(server: &ServerAddr, tls: &TlsSettings) -> Result<(WsStream, HelloOk), i32> {
    let failed = |e: &dyn std::fmt::Display| {
        tracing::info!(%server, "connect failed: {e}");
        ErrorCode::CreateConnFailed.code()
    };
    let mut ws = if server.tls {
        let connector = tls.connector()?;
        // Connect first, so that what fails afterwards is known to be the TLS session: a
        // wss:// server that cannot complete TLS is SSL_ERR, never something vaguer.
        let tcp = TcpStream::connect((server.host.as_str(), server.port))
            .await
            .map_err(|e| failed(&e))?;
        let _ = tcp.set_nodelay(true);
        tokio_tungstenite::client_async_tls_with_config(
            server.url(),
            tcp,
            Some(ws_config()),
            Some(connector),
        )
        .await
        .map_err(|e| {
            use tokio_tungstenite::tungstenite::Error;
            tracing::info!(%server, "TLS session failed: {e}");
            match e {
                Error::Tls(_) | Error::Io(_) => ErrorCode::SslErr.code(),
                _ => ErrorCode::CreateConnFailed.code(),
            }
        })?
        .0
    } else {
        tokio_tungstenite::connect_async_with_config(server.url(), Some(ws_config()), true)
            .await
            .map_err(|e| failed(&e))?
            .0
    };
    let hello = ClientFrame {
        id: HELLO_ID,
        request: Request::Hello {
            version: PROTOCOL_VERSION,
            agent: format!("crvideosdk/{}", env!("CARGO_PKG_VERSION")),
        },
    };
    let reply = exchange(&mut ws, hello).await?;
    let hello = reply.into_result::<HelloOk>()?;
    Ok((ws, hello))
}

/// Sends one request and waits for its reply, skipping control frames. Events cannot come
/// before login completes, so anything else is a protocol error.
async fn exchange(ws: &mut WsStream, request: ClientFrame) -> Result<crvideo_proto::Reply, i32> {
    let id = request.id;
    ws.send(Message::text(encode(&request)))
        .await
        .map_err(|_| ErrorCode::CreateConnFailed.code())?;
    while let Some(message) = ws.next().await {
        match message.map_err(|_| ErrorCode::CreateConnFailed.code())? {
            Message::Text(text) => match decode::<ServerFrame>(&text) {
                Ok(ServerFrame::Reply(reply)) if reply.re == id => return Ok(reply),
                _ => return Err(ErrorCode::RspDatErr.code()),
            },
            Message::Close(_) => break,
            _ => {}
        }
    }
    Err(ErrorCode::CreateConnFailed.code())
}
