//! The nats-server peer's client side: `async-nats` connections with the waits of a bench
//! (every step bounded, every failure a message).

use std::net::SocketAddr;
use std::time::Duration;

use async_nats::{Client, ConnectOptions, Message, Subscriber};
use bytes::Bytes;
use futures_util::StreamExt;

use crate::BenchResult;

/// The options of a bench's connection: connecting bounded by `within`, at most one
/// reconnect (a bench reports a lost connection rather than hiding it).
pub fn options(within: Duration) -> ConnectOptions {
    ConnectOptions::new()
        .connection_timeout(within)
        .max_reconnects(1)
}

/// Connects (CONNECT, then PING; returns at the server's PONG).
pub async fn connect_with(
    addr: SocketAddr,
    options: ConnectOptions,
    within: Duration,
) -> BenchResult<Client> {
    tokio::time::timeout(within, options.connect(format!("nats://{addr}")))
        .await
        .map_err(|_| format!("no nats connection within {within:?}"))?
        .map_err(|e| format!("nats connect: {e}"))
}

/// [`connect_with`] the default [`options`].
pub async fn connect(addr: SocketAddr, within: Duration) -> BenchResult<Client> {
    connect_with(addr, options(within), within).await
}

/// Waits until everything queued on `client` is written to its socket (async-nats's flush:
/// it does not wait for the server).
pub async fn flush(client: &Client, within: Duration) -> BenchResult<()> {
    tokio::time::timeout(within, client.flush())
        .await
        .map_err(|_| format!("nats flush took over {within:?}"))?
        .map_err(|e| format!("nats flush: {e}"))
}

/// Waits until nats-server has processed everything `client` sent before (what a PING and
/// its PONG did in the NATS protocol): a message to a subject only this client subscribes
/// to comes back.
pub async fn sync(client: &Client, within: Duration) -> BenchResult<()> {
    let subject = client.new_inbox();
    let mut echo = client
        .subscribe(subject.clone())
        .await
        .map_err(|e| format!("nats subscribe: {e}"))?;
    publish(client, &subject, None, Bytes::new()).await?;
    next(&mut echo, within).await?;
    echo.unsubscribe()
        .await
        .map_err(|e| format!("nats unsubscribe: {e}"))
}

/// Subscribes to `subject` and waits until the server has processed it.
pub async fn subscribe(
    client: &Client,
    subject: &str,
    within: Duration,
) -> BenchResult<Subscriber> {
    let subscriber = client
        .subscribe(subject.to_owned())
        .await
        .map_err(|e| format!("nats subscribe: {e}"))?;
    sync(client, within).await?;
    Ok(subscriber)
}

/// The next message of a subscription.
pub async fn next(subscriber: &mut Subscriber, within: Duration) -> BenchResult<Message> {
    tokio::time::timeout(within, subscriber.next())
        .await
        .map_err(|_| format!("no nats message within {within:?}"))?
        .ok_or_else(|| "nats subscription ended".to_string())
}

/// Publishes `payload` to `subject`, with a reply subject if given. The message is queued
/// for the connection's task: [`flush`] before dropping the last handle of a client, or
/// what is still queued is lost.
pub async fn publish(
    client: &Client,
    subject: &str,
    reply_to: Option<&str>,
    payload: Bytes,
) -> BenchResult<()> {
    let sent = match reply_to {
        Some(reply) => {
            client
                .publish_with_reply(subject.to_owned(), reply.to_owned(), payload)
                .await
        }
        None => client.publish(subject.to_owned(), payload).await,
    };
    sent.map_err(|e| format!("nats publish: {e}"))
}
