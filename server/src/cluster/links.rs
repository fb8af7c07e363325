//! Node links: what one node says to another (frames for its sessions, forwarded requests,
//! stops) goes over a TCP connection of their own instead of through Redis.
//!
//! Through Redis a relayed command crosses two more processes each way (node → Redis →
//! node); a link is one hop, as between nats-server routes. Each node listens for links on
//! `cluster.link_listen` (default: the advertised host, any port) and publishes that address
//! as the value of its liveness key. A node opens one link to each node it talks to, the
//! first time it does, and only writes on it: each direction has its own connection, so
//! each keeps its order. A link starts with the cluster's secret (kept in Redis: whoever
//! may use the cluster's Redis may join its nodes); anything else is closed unread.
//!
//! Frames are a 4-byte big-endian length and a [`NodeMessage`] encoding. When a node
//! cannot be reached (no address, refused, broken), what was for it goes through its Redis
//! inbox instead, as before links; the next message tries a link again after a pause.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{debug, warn};

use super::wire::NodeMessage;

/// Largest frame a link accepts (a relayed chunk or video frame, with room to spare).
pub const MAX_LINK_FRAME: usize = 64 << 20;
/// How long a failed link waits before the next try (meanwhile: Redis).
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// How long connecting and the handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The first frame of a link: `H`, then the secret.
fn hello(secret: &str) -> Vec<u8> {
    let mut out = vec![b'H'];
    out.extend_from_slice(secret.as_bytes());
    out
}

/// Where an outgoing message goes when no link can carry it.
pub type Fallback = Arc<dyn Fn(&str, Vec<u8>) + Send + Sync>;
/// Finds a node's link address (from its liveness key).
pub type Resolve =
    Arc<dyn Fn(Arc<str>) -> futures_util::future::BoxFuture<'static, Option<String>> + Send + Sync>;

/// This node's outgoing links, one per node it has talked to.
pub struct Links {
    secret: Arc<str>,
    resolve: Resolve,
    fallback: Fallback,
    writers: Mutex<HashMap<Arc<str>, mpsc::UnboundedSender<Vec<u8>>>>,
}

impl Links {
    pub fn new(secret: Arc<str>, resolve: Resolve, fallback: Fallback) -> Links {
        Links {
            secret,
            resolve,
            fallback,
            writers: Mutex::new(HashMap::new()),
        }
    }

    /// Queues an encoded [`NodeMessage`] for `node` (never waits).
    pub fn send(&self, node: &str, message: Vec<u8>) {
        let mut writers = self.writers.lock().unwrap();
        if let Some(tx) = writers.get(node) {
            match tx.send(message) {
                Ok(()) => return,
                Err(unsent) => {
                    // Its writer ended (the node left): start anew.
                    writers.remove(node);
                    return self.start(&mut writers, node, unsent.0);
                }
            }
        }
        self.start(&mut writers, node, message)
    }

    fn start(
        &self,
        writers: &mut HashMap<Arc<str>, mpsc::UnboundedSender<Vec<u8>>>,
        node: &str,
        first: Vec<u8>,
    ) {
        let node: Arc<str> = Arc::from(node);
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(first);
        writers.insert(node.clone(), tx);
        let writer = Writer {
            node,
            secret: self.secret.clone(),
            resolve: self.resolve.clone(),
            fallback: self.fallback.clone(),
        };
        tokio::spawn(writer.run(rx));
    }

    /// Forgets the link to `node` (it died): its writer ends once its queue is empty.
    pub fn forget(&self, node: &str) {
        self.writers.lock().unwrap().remove(node);
    }
}

struct Writer {
    node: Arc<str>,
    secret: Arc<str>,
    resolve: Resolve,
    fallback: Fallback,
}

impl Writer {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<Vec<u8>>) {
        let mut link: Option<BufWriter<TcpStream>> = None;
        let mut retry_at = Instant::now();
        while let Some(first) = rx.recv().await {
            if link.is_none() && Instant::now() >= retry_at {
                link = self.connect().await;
                if link.is_none() {
                    retry_at = Instant::now() + RETRY_AFTER;
                }
            }
            // Whatever is queued now goes in one write.
            let mut batch = vec![first];
            while let Ok(more) = rx.try_recv() {
                batch.push(more);
                if batch.len() >= 256 {
                    break;
                }
            }
            let Some(stream) = link.as_mut() else {
                for message in batch {
                    (self.fallback)(&self.node, message);
                }
                continue;
            };
            let written = async {
                for message in &batch {
                    stream
                        .write_all(&(message.len() as u32).to_be_bytes())
                        .await?;
                    stream.write_all(message).await?;
                }
                stream.flush().await
            };
            if let Err(e) = written.await {
                warn!(
                    node = &*self.node,
                    "cluster: link broken ({e}); using Redis meanwhile"
                );
                link = None;
                retry_at = Instant::now() + RETRY_AFTER;
            }
        }
    }

    async fn connect(&self) -> Option<BufWriter<TcpStream>> {
        let addr = (self.resolve)(self.node.clone()).await?;
        let connecting = async {
            let tcp = TcpStream::connect(&addr).await?;
            tcp.set_nodelay(true)?;
            let mut stream = BufWriter::with_capacity(64 * 1024, tcp);
            let hello = hello(&self.secret);
            stream
                .write_all(&(hello.len() as u32).to_be_bytes())
                .await?;
            stream.write_all(&hello).await?;
            stream.flush().await?;
            Ok::<_, std::io::Error>(stream)
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
            Ok(Ok(stream)) => {
                debug!(node = &*self.node, %addr, "cluster: link up");
                Some(stream)
            }
            Ok(Err(e)) => {
                warn!(node = &*self.node, %addr, "cluster: cannot link ({e}); using Redis");
                None
            }
            Err(_) => {
                warn!(node = &*self.node, %addr, "cluster: link timed out; using Redis");
                None
            }
        }
    }
}

/// Accepts links from other nodes until `listener` fails or the task is aborted; each
/// link's messages go to `deliver`.
pub async fn accept(
    listener: TcpListener,
    secret: Arc<str>,
    deliver: Arc<dyn Fn(NodeMessage) + Send + Sync>,
) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                warn!("cluster: accepting a link failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (secret, deliver) = (secret.clone(), deliver.clone());
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            if let Err(e) = read_link(tcp, &secret, &*deliver).await {
                debug!(%peer, "cluster: link ended: {e}");
            }
        });
    }
}

async fn read_link(
    tcp: TcpStream,
    secret: &str,
    deliver: &(dyn Fn(NodeMessage) + Send + Sync),
) -> std::io::Result<()> {
    let mut stream = tokio::io::BufReader::with_capacity(64 * 1024, tcp);
    let first = tokio::time::timeout(CONNECT_TIMEOUT, read_frame(&mut stream))
        .await
        .map_err(|_| std::io::Error::other("no hello in time"))??;
    if first != hello(secret) {
        return Err(std::io::Error::other("not the cluster's secret"));
    }
    loop {
        let frame = read_frame(&mut stream).await?;
        match NodeMessage::decode(&frame) {
            Some(message) => deliver(message),
            None => warn!("cluster: an unknown message on a link ignored"),
        }
    }
}

async fn read_frame(stream: &mut (impl AsyncReadExt + Unpin)) -> std::io::Result<Vec<u8>> {
    let len = stream.read_u32().await? as usize;
    if len > MAX_LINK_FRAME {
        return Err(std::io::Error::other(format!("a frame of {len} bytes")));
    }
    let mut frame = vec![0; len];
    stream.read_exact(&mut frame).await?;
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::outbound::Lane;
    use tokio_tungstenite::tungstenite::Message;

    fn frame(i: u64) -> NodeMessage {
        NodeMessage::Deliver {
            session: i,
            lane: Lane::Bulk,
            message: Message::binary(vec![i as u8; (i as usize * 37) % 5000]),
        }
    }

    /// A listener with `secret` whose messages come out of the returned channel.
    async fn acceptor(secret: &str) -> (String, mpsc::UnboundedReceiver<NodeMessage>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (tx, rx) = mpsc::unbounded_channel();
        let deliver = Arc::new(move |m| {
            let _ = tx.send(m);
        });
        tokio::spawn(accept(listener, Arc::from(secret), deliver));
        (addr, rx)
    }

    fn links(secret: &str, addr: Option<String>) -> (Links, Arc<Mutex<Vec<Vec<u8>>>>) {
        let fell_back = Arc::new(Mutex::new(Vec::new()));
        let seen = fell_back.clone();
        let resolve: Resolve = Arc::new(move |_| {
            let addr = addr.clone();
            Box::pin(async move { addr })
        });
        let fallback: Fallback = Arc::new(move |_, m| seen.lock().unwrap().push(m));
        (Links::new(Arc::from(secret), resolve, fallback), fell_back)
    }

    #[tokio::test]
    async fn messages_cross_a_link_in_order() {
        let (addr, mut rx) = acceptor("s3").await;
        let (links, fell_back) = links("s3", Some(addr));
        for i in 0..300 {
            links.send("b", frame(i).encode());
        }
        for i in 0..300 {
            let got = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
            assert_eq!(got.unwrap().unwrap(), frame(i));
        }
        assert!(fell_back.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_node_without_a_link_address_gets_its_messages_through_the_fallback() {
        let (links, fell_back) = links("s3", None);
        links.send("b", frame(1).encode());
        links.send("b", frame(2).encode());
        let deadline = Instant::now() + Duration::from_secs(5);
        while fell_back.lock().unwrap().len() < 2 {
            assert!(Instant::now() < deadline, "not sent through the fallback");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let sent = fell_back.lock().unwrap().clone();
        assert_eq!(sent, vec![frame(1).encode(), frame(2).encode()]);
    }

    #[tokio::test]
    async fn a_link_without_the_secret_delivers_nothing() {
        let (addr, mut rx) = acceptor("right").await;
        let (links, _) = links("wrong", Some(addr.clone()));
        links.send("b", frame(1).encode());
        // A frame that is not a hello at all.
        let mut raw = TcpStream::connect(&addr).await.unwrap();
        let bogus = frame(2).encode();
        raw.write_all(&(bogus.len() as u32).to_be_bytes())
            .await
            .unwrap();
        raw.write_all(&bogus).await.unwrap();
        let quiet = tokio::time::timeout(Duration::from_millis(300), rx.recv()).await;
        assert!(quiet.is_err(), "delivered: {quiet:?}");
    }
}
