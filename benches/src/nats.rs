//! The nats-server peer's client side: `async-nats` connections with the waits of a bench
//! (every step bounded, every failure a message).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use async_nats::{Client, ConnectOptions, Message, Subscriber};
use bytes::Bytes;
use futures_util::StreamExt;

use crate::BenchResult;

/// `step` bounded by `within`; its error as a message about `what`.
async fn bounded<T, E: std::fmt::Display>(
    what: &str,
    within: Duration,
    step: impl Future<Output = Result<T, E>>,
) -> BenchResult<T> {
    let done = tokio::time::timeout(within, step).await;
    let done = done.map_err(|_| format!("nats {what}: nothing within {within:?}"))?;
    done.map_err(|e| format!("nats {what}: {e}"))
}

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
    bounded("connect", within, options.connect(format!("nats://{addr}"))).await
}

/// [`connect_with`] the default [`options`].
pub async fn connect(addr: SocketAddr, within: Duration) -> BenchResult<Client> {
    connect_with(addr, options(within), within).await
}

/// Waits until everything queued on `client` is written to its socket (async-nats's flush:
/// it does not wait for the server).
pub async fn flush(client: &Client, within: Duration) -> BenchResult<()> {
    bounded("flush", within, client.flush()).await
}

/// Waits until nats-server has processed everything `client` sent before (what a PING and
/// its PONG did in the NATS protocol): a message to a subject only this client subscribes
/// to comes back.
pub async fn sync(client: &Client, within: Duration) -> BenchResult<()> {
    let subject = client.new_inbox();
    let mut echo = bounded("subscribe", within, client.subscribe(subject.clone())).await?;
    publish(client, &subject, None, Bytes::new()).await?;
    next(&mut echo, within).await?;
    bounded("unsubscribe", within, echo.unsubscribe()).await
}

/// Subscribes to `subject` and waits until the server has processed it.
pub async fn subscribe(
    client: &Client,
    subject: &str,
    within: Duration,
) -> BenchResult<Subscriber> {
    let subscribing = client.subscribe(subject.to_owned());
    let subscriber = bounded("subscribe", within, subscribing).await?;
    sync(client, within).await?;
    Ok(subscriber)
}

/// The next message of a subscription.
pub async fn next(subscriber: &mut Subscriber, within: Duration) -> BenchResult<Message> {
    let next = async { subscriber.next().await.ok_or("subscription ended") };
    bounded("message", within, next).await
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
    let (subject, reply_to) = (subject.to_owned(), reply_to.map(str::to_owned));
    let sent = match reply_to {
        Some(reply) => client.publish_with_reply(subject, reply, payload).await,
        None => client.publish(subject, payload).await,
    };
    sent.map_err(|e| format!("nats publish: {e}"))
}
