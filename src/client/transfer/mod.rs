//! The transparent channel in the engine: commands (SendCmd) and bulk transfers
//! (SendBuffer, SendFile).
//!
//! Flow control is end to end: the receiver's SDK grants credit in bytes, a window of
//! [`WINDOW_BYTES`] at a time, and refills it as its sink (see [`sink`]) consumes chunks;
//! the sender's upload task sends only what the credit covers. So per transfer at most one
//! window is in flight (in the sender's bulk lane, the server's queues, the receiver's
//! socket and its sink's queue), whatever the speeds. A receiving app that does not keep up
//! with delivered data (more than [`UNDELIVERED_DATA_LIMIT`] of commands and buffers
//! waiting for its callbacks) stops getting new credit for buffers and new command
//! acknowledgements until it catches up.
//!
//! Integrity: the sender hashes every byte it sends (BLAKE3) and sends the digest last; the
//! receiver hashes what arrived and compares before anything reaches the app.

pub(crate) mod filling;
pub mod incoming;
pub(crate) mod lent;
pub(crate) mod names;
pub mod outgoing;
pub(crate) mod sink;

use std::collections::{BTreeSet, HashMap};

use bytes::Bytes;
use crvideo_proto::data::{chunk_header_len, decode_data, encode_command, DataFrame};
use crvideo_proto::{encode, ClientFrame, Event as WireEvent, Request, TransferKind};
use tokio_tungstenite::tungstenite::Message;

use super::engine::Engine;
use super::{RequestSpec, SessionLocal};
use crate::dispatch::Event;
use crate::ErrorCode;
pub use incoming::Incoming;
pub use outgoing::{Outgoing, Source};

/// The receiver's window per transfer. On loopback (docs/BENCHMARKS.md) 2 MiB left the
/// pipeline idle while the sink caught up; 8 MiB measured no faster than 4 (1,017 vs 1,014
/// MiB/s) and would let one transfer take all of [`SESSION_CREDIT_BYTES`].
pub const WINDOW_BYTES: u64 = 4 * 1024 * 1024;
/// Largest chunk payload (smaller when the server's frame limit is lower).
pub const CHUNK_BYTES: usize = 256 * 1024;
/// Received data the app may have waiting before credit is held back.
pub const UNDELIVERED_DATA_LIMIT: usize = 64 * 1024 * 1024;
/// Most credit outstanding over all of a session's incoming transfers (granted, not yet
/// arrived): within what the server queues for one receiver (16 MiB, beyond which it drops
/// a session as not reading), however many transfers arrive at once; two transfers get a
/// whole window each, more share it as data arrives.
pub const SESSION_CREDIT_BYTES: u64 = 8 * 1024 * 1024;

/// The session's transfers.
#[derive(Default)]
pub struct Transfers {
    pub outgoing: HashMap<String, Outgoing>,
    pub incoming: HashMap<String, Incoming>,
    /// Incoming buffer transfers whose credit is held back while the app is behind.
    held_credit: BTreeSet<String>,
    /// Command acknowledgements held back while the app is behind.
    held_acks: Vec<u64>,
    /// Incoming transfers so far (their arrival numbers).
    arrivals: u64,
}

impl Transfers {
    pub fn has_held(&self) -> bool {
        !self.held_credit.is_empty() || !self.held_acks.is_empty()
    }
}

/// A one-way message (no reply): request id 0.
pub(crate) fn one_way(request: Request) -> Message {
    Message::text(encode(&ClientFrame { id: 0, request }))
}

impl Engine {
    /// Sends a one-way message on the current connection (dropped when offline).
    fn notify(&self, request: Request) {
        if let Some(link) = self.link() {
            link.send(one_way(request));
        }
    }

    /// Whether the app has more received data waiting (delivered or still being assembled
    /// into buffers) than [`UNDELIVERED_DATA_LIMIT`].
    fn app_is_behind(&self) -> bool {
        let assembling: u64 = self
            .local
            .transfers
            .incoming
            .values()
            .filter(|i| i.is_buffer())
            .map(|i| i.received)
            .sum();
        self.events.undelivered_data() as u64 + assembling > UNDELIVERED_DATA_LIMIT as u64
    }

    /// The incoming buffer transfer that arrived first: it gets credit while the app has less
    /// than [`UNDELIVERED_DATA_LIMIT`] of finished data waiting, whatever is being assembled,
    /// so held-back transfers finish one after another instead of all waiting on each
    /// other. (Not whatever the app has waiting: then, while the app stalls, each buffer
    /// finished would make the next one the oldest, and all would be taken in.)
    fn oldest_buffer(&self) -> Option<&str> {
        let incoming = &self.local.transfers.incoming;
        incoming
            .iter()
            .filter(|(_, i)| i.is_buffer())
            .min_by_key(|(_, i)| i.arrival)
            .map(|(id, _)| id.as_str())
    }

    /// `CRVideo_SendCmd`: a binary command frame answered like a request.
    pub(crate) fn send_cmd(
        &mut self,
        task_id: String,
        target: String,
        payload: Vec<u8>,
        cookie: String,
    ) {
        let handler = Box::new(
            move |_: &mut SessionLocal, result: Result<serde_json::Value, i32>| {
                Some(Event::SendCmdRlst {
                    task_id,
                    sdk_err: result.err().unwrap_or(0),
                    cookie,
                })
            },
        );
        self.request_with(handler, |id| {
            Message::Binary(encode_command(id, &target, &payload).into())
        });
    }

    /// `CRVideo_SendBuffer` / `CRVideo_SendFile`: offers the transfer; chunks follow credit.
    pub(crate) fn send_bulk(
        &mut self,
        task_id: String,
        target: String,
        kind: TransferKind,
        name: String,
        outgoing: Outgoing,
    ) {
        if self.link().is_none() {
            self.events
                .push(outgoing.result(&task_id, ErrorCode::NotLogin.code()));
            return;
        }
        let total = outgoing.total;
        self.local
            .transfers
            .outgoing
            .insert(task_id.clone(), outgoing);
        let request = Request::TransferOffer {
            transfer_id: task_id.clone(),
            target,
            kind,
            name,
            total,
        };
        self.request(RequestSpec::new(
            request,
            move |local: &mut SessionLocal, result| {
                let code = result.err()?;
                let outgoing = local.transfers.outgoing.remove(&task_id)?;
                Some(outgoing.result(&task_id, code))
            },
        ));
    }

    /// `CRVideo_CancelSend`.
    pub(crate) fn cancel_send(&mut self, task_id: String) {
        let Some(outgoing) = self.local.transfers.outgoing.get_mut(&task_id) else {
            self.events.push(Event::CancelSendRlst {
                task_id,
                sdk_err: ErrorCode::TransIdInvalid.code(),
                cookie: String::new(),
            });
            return;
        };
        // No more chunks from here on, whatever the server says.
        outgoing.stop();
        let cookie = outgoing.cookie.clone();
        let request = Request::TransferCancel {
            transfer_id: task_id.clone(),
        };
        self.request(RequestSpec::new(
            request,
            move |local: &mut SessionLocal, result| {
                let code = result.err().unwrap_or(0);
                let outgoing = local.transfers.outgoing.remove(&task_id);
                if code != 0 {
                    // The server no longer knows it: it ended on its own; make sure the task
                    // has its result.
                    if let Some(outgoing) = outgoing {
                        return Some(outgoing.result(&task_id, code));
                    }
                }
                Some(Event::CancelSendRlst {
                    task_id,
                    sdk_err: code,
                    cookie,
                })
            },
        ));
    }

    /// A binary frame from the server: a command for the app, a chunk of a transfer, or a
    /// video frame.
    pub(crate) fn on_data(&mut self, data: Bytes) {
        match decode_data(&data) {
            Ok(DataFrame::Command { id, peer, payload }) => {
                self.events.push(Event::NotifyCmdData {
                    source_user_id: peer.to_owned(),
                    data: payload.to_vec(),
                });
                if self.app_is_behind() {
                    self.local.transfers.held_acks.push(id);
                } else {
                    self.notify(Request::CmdAck { relay_id: id });
                }
            }
            Ok(DataFrame::Chunk {
                transfer_id,
                offset,
                payload,
            }) => {
                let Some(incoming) = self.local.transfers.incoming.get_mut(transfer_id) else {
                    return; // cancelled or failed meanwhile
                };
                // Credit follows once the sink has consumed it (`on_sink_consumed`).
                match incoming.write(offset, data.slice_ref(payload)) {
                    Ok(()) => {
                        // What arrived frees session credit that others may be waiting for.
                        if !self.local.transfers.held_credit.is_empty() {
                            self.release_held();
                        }
                    }
                    Err(code) => self.fail_incoming(transfer_id.to_owned(), code),
                }
            }
            Ok(DataFrame::Video(frame)) => self.config.video.on_frame(&frame, &data),
            Ok(DataFrame::Screen(frame)) => self.config.video.on_screen_frame(&frame, &data),
            Ok(DataFrame::Audio(frame)) => self.config.audio.on_frame(&frame, &data),
            Ok(DataFrame::DiskChunk {
                key,
                offset,
                payload,
            }) => self.on_disk_chunk(key, offset, data.slice_ref(payload)),
            Err(e) => tracing::warn!("ignoring a binary frame from the server: {e}"),
        }
    }

    /// A transfer event from the server (the engine routes them here).
    pub(crate) fn on_transfer_event(&mut self, event: WireEvent) {
        match event {
            WireEvent::TransferOffered {
                transfer_id,
                source,
                kind,
                name,
                total,
            } => {
                let opened = Incoming::open(
                    &transfer_id,
                    source,
                    kind,
                    &name,
                    total,
                    &self.config.tmp_dir,
                    self.config.max_buffer_bytes,
                    self.internal.clone(),
                );
                match opened {
                    Ok(mut incoming) => {
                        incoming.ungranted = WINDOW_BYTES;
                        self.local.transfers.arrivals += 1;
                        incoming.arrival = self.local.transfers.arrivals;
                        self.local
                            .transfers
                            .incoming
                            .insert(transfer_id.clone(), incoming);
                        self.grant_credit(&transfer_id);
                    }
                    Err(code) => self.notify(Request::TransferAbort {
                        transfer_id,
                        code: code.code(),
                    }),
                }
            }
            WireEvent::TransferCredit {
                transfer_id,
                bytes,
                received,
            } => self.on_credit(transfer_id, bytes, received),
            WireEvent::TransferEnd {
                transfer_id,
                digest,
            } => self.on_end(transfer_id, digest),
            WireEvent::TransferResult { transfer_id, code } => {
                if let Some(mut outgoing) = self.local.transfers.outgoing.remove(&transfer_id) {
                    if code == 0 {
                        let total = outgoing.total;
                        self.events.extend(outgoing.progress(&transfer_id, total));
                    }
                    self.events.push(outgoing.result(&transfer_id, code));
                }
            }
            WireEvent::TransferCancelled { transfer_id } => {
                if let Some(incoming) = self.local.transfers.incoming.remove(&transfer_id) {
                    incoming.discard();
                    self.local.transfers.held_credit.remove(&transfer_id);
                    self.events.push(Event::NotifyCancelSend {
                        task_id: transfer_id,
                    });
                }
            }
            // The engine routes only transfer events here.
            _ => {}
        }
    }

    fn on_credit(&mut self, transfer_id: String, bytes: u64, received: u64) {
        let chunk = self.chunk_bytes(&transfer_id);
        let bulk = self.link().map(|l| l.bulk.clone());
        let internal = self.internal.clone();
        let Some(outgoing) = self.local.transfers.outgoing.get_mut(&transfer_id) else {
            return;
        };
        outgoing
            .credit
            .add_permits(bytes.min(WINDOW_BYTES) as usize);
        let progress = outgoing.progress(&transfer_id, received);
        if let (Some(source), Some(bulk)) = (outgoing.source.take(), bulk) {
            let task = outgoing::upload(
                transfer_id.clone(),
                source,
                outgoing.total,
                chunk,
                outgoing.credit.clone(),
                bulk,
                internal,
            );
            outgoing.upload = Some(tokio::spawn(task));
        }
        self.events.extend(progress);
    }

    /// The chunk size for a transfer: what fits in the server's frame limit.
    fn chunk_bytes(&self, transfer_id: &str) -> usize {
        let max_frame = self
            .max_frame_bytes()
            .unwrap_or(crvideo_proto::DEFAULT_MAX_FRAME_BYTES);
        CHUNK_BYTES
            .min(max_frame.saturating_sub(chunk_header_len(transfer_id) + 64))
            .max(1024)
    }

    /// The upload task finished sending (or failed reading its file).
    pub(crate) fn on_upload_done(&mut self, transfer_id: String, result: Result<(), i32>) {
        if !self.local.transfers.outgoing.contains_key(&transfer_id) {
            return;
        }
        match result {
            // The receiver's answer ends the transfer.
            Ok(()) => {}
            Err(code) => {
                self.notify(Request::TransferAbort {
                    transfer_id: transfer_id.clone(),
                    code,
                });
                if let Some(outgoing) = self.local.transfers.outgoing.remove(&transfer_id) {
                    self.events.push(outgoing.result(&transfer_id, code));
                }
            }
        }
    }

    /// The sender is done: the sink verifies what arrived once it has consumed it all
    /// (`on_sink_finished` follows).
    fn on_end(&mut self, transfer_id: String, digest: String) {
        let tmp_dir = self.config.tmp_dir.clone();
        let Some(incoming) = self.local.transfers.incoming.get_mut(&transfer_id) else {
            return;
        };
        if let Err(code) = incoming.finish(digest, tmp_dir) {
            self.fail_incoming(transfer_id, code);
        }
    }

    /// An incoming transfer's sink wrote `bytes` more: they earn credit.
    pub(crate) fn on_sink_consumed(&mut self, transfer_id: String, bytes: u64) {
        if let Some(incoming) = self.local.transfers.incoming.get_mut(&transfer_id) {
            incoming.consumed(bytes);
            self.grant_credit(&transfer_id);
        }
    }

    /// An incoming transfer's sink verified and completed it (`Ok`), or failed (writing, or
    /// the digest). Verified: ask the server to complete; the app hears of the transfer
    /// only once the server confirms it was not cancelled first.
    pub(crate) fn on_sink_finished(&mut self, transfer_id: String, result: Result<(), ErrorCode>) {
        if !self.local.transfers.incoming.contains_key(&transfer_id) {
            return; // ended meanwhile
        }
        if let Err(code) = result {
            self.fail_incoming(transfer_id, code);
            return;
        }
        let request = Request::TransferComplete {
            transfer_id: transfer_id.clone(),
        };
        self.request(RequestSpec::new(
            request,
            move |local: &mut SessionLocal, result| {
                let incoming = local.transfers.incoming.remove(&transfer_id)?;
                local.transfers.held_credit.remove(&transfer_id);
                match result {
                    Ok(_) => Some(incoming.into_event()),
                    Err(_) => {
                        incoming.discard();
                        Some(Event::NotifyCancelSend {
                            task_id: transfer_id,
                        })
                    }
                }
            },
        ));
        // The finished buffer no longer counts as assembling; another may take its turn.
        self.release_held();
    }

    /// An incoming transfer cannot go on: tell the sender, drop what arrived, tell the app.
    fn fail_incoming(&mut self, transfer_id: String, code: ErrorCode) {
        tracing::warn!(%transfer_id, "incoming transfer failed: {code}");
        self.notify(Request::TransferAbort {
            transfer_id: transfer_id.clone(),
            code: code.code(),
        });
        if let Some(incoming) = self.local.transfers.incoming.remove(&transfer_id) {
            incoming.discard();
        }
        self.local.transfers.held_credit.remove(&transfer_id);
        self.events.push(Event::NotifyCancelSend {
            task_id: transfer_id,
        });
    }

    /// Grants the credit an incoming transfer has earned, unless it is a buffer and the app
    /// is behind (the oldest buffer: the app has the limit's worth of finished data waiting):
    /// then it waits for [`Engine::release_held`].
    fn grant_credit(&mut self, transfer_id: &str) {
        let hold = if self.oldest_buffer() == Some(transfer_id) {
            self.events.undelivered_data() >= UNDELIVERED_DATA_LIMIT
        } else {
            self.app_is_behind()
        };
        let Some(incoming) = self.local.transfers.incoming.get_mut(transfer_id) else {
            return;
        };
        if hold && incoming.is_buffer() {
            self.local
                .transfers
                .held_credit
                .insert(transfer_id.to_owned());
            return;
        }
        self.local.transfers.held_credit.remove(transfer_id);
        let Some(due) = incoming.credit_due() else {
            return;
        };
        // Within what the session may have outstanding over all its incoming transfers; the
        // rest waits for data to arrive (see `on_data`).
        let outstanding: u64 = self
            .local
            .transfers
            .incoming
            .values()
            .map(|i| i.granted.saturating_sub(i.received))
            .sum();
        let bytes = due.min(SESSION_CREDIT_BYTES.saturating_sub(outstanding));
        let incoming = self
            .local
            .transfers
            .incoming
            .get_mut(transfer_id)
            .expect("looked up above");
        if bytes < due {
            incoming.ungranted += due - bytes;
            self.local
                .transfers
                .held_credit
                .insert(transfer_id.to_owned());
        }
        if bytes > 0 {
            incoming.granted += bytes;
            // What the sender reports as progress: bytes this side holds.
            let received = incoming.consumed;
            self.notify(Request::TransferCredit {
                transfer_id: transfer_id.to_owned(),
                bytes,
                received,
            });
        }
    }

    /// The app consumed data (or a buffer finished): send what was held back and may go now.
    pub(crate) fn release_held(&mut self) {
        if !self.app_is_behind() {
            for relay_id in std::mem::take(&mut self.local.transfers.held_acks) {
                self.notify(Request::CmdAck { relay_id });
            }
        }
        let held: Vec<String> = self.local.transfers.held_credit.iter().cloned().collect();
        for transfer_id in held {
            if let Some(incoming) = self.local.transfers.incoming.get_mut(&transfer_id) {
                // Whatever was earned while held, in one grant.
                incoming.force_credit_due();
            }
            self.grant_credit(&transfer_id);
        }
    }

    /// The session ended: unfinished outgoing transfers fail with `code`; incoming ones are
    /// dropped (partial files removed) and reported cancelled.
    pub(crate) fn end_transfers(&mut self, code: ErrorCode) {
        let transfers = std::mem::take(&mut self.local.transfers);
        let mut outgoing: Vec<_> = transfers.outgoing.into_iter().collect();
        outgoing.sort_by(|a, b| a.0.cmp(&b.0));
        for (task_id, outgoing) in outgoing {
            self.events.push(outgoing.result(&task_id, code.code()));
        }
        for (task_id, incoming) in transfers.incoming {
            incoming.discard();
            self.events.push(Event::NotifyCancelSend { task_id });
        }
    }
}
