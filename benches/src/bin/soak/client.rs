//! One client.

use super::*;

/// An operation the scheduler gives a client (which, and its peer, it reserved).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Op {
    pub(crate) kind: OpKind,
    pub(crate) peer: Option<usize>,
}

/// What one turn of a client's loop produced, for the operation it is running.
pub(crate) enum Step {
    Nothing,
    Op(Op),
    Reply(Reply),
    CallAccepted(String),
    Closed(String),
    Timeout,
    Shutdown,
}

/// Why an operation did not complete: already counted as an error (`None`), or not yet.
pub(crate) type OpResult = Result<(), Option<String>>;

pub(crate) struct Client {
    pub(crate) idx: usize,
    pub(crate) sh: Arc<Shared>,
    pub(crate) subscriber: bool,
    pub(crate) ws: Option<Ws>,
    pub(crate) next_id: u64,
    /// Requests sent and not answered: what they are and when they were sent.
    pub(crate) pending: HashMap<u64, (Timed, Instant)>,
    /// The session's resume token, once `enable_resume` granted one.
    pub(crate) token: Option<String>,
    /// Counting the server's text frames (from the frame after the `enable_resume` reply).
    pub(crate) counting: bool,
    pub(crate) received: u64,
    /// This client's text frames since its `enable_resume` request, until acknowledged.
    pub(crate) replay: Replay<String>,
    pub(crate) ping: tokio::time::Interval,
    /// The call this client accepted as callee, until it is hung up.
    pub(crate) callee_call: Option<String>,
    pub(crate) calls_placed: u64,
    pub(crate) dnd_changes: u64,
}

pub(crate) async fn recv_op(rx: Option<&mut mpsc::Receiver<Op>>) -> Option<Op> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

impl Client {
    pub(crate) fn new(idx: usize, sh: Arc<Shared>, subscriber: bool) -> Client {
        // Spread the clients' pings over the heartbeat period.
        let period = Duration::from_millis(sh.heartbeat_ms);
        let offset = period.mul_f64((idx as f64 * 0.618_034).fract());
        let mut ping = interval_at(tokio::time::Instant::now() + offset, period);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Client {
            idx,
            sh,
            subscriber,
            ws: None,
            next_id: 1,
            pending: HashMap::new(),
            token: None,
            counting: false,
            received: 0,
            replay: Replay::new(REPLAY_FRAMES, REPLAY_BYTES),
            ping,
            callee_call: None,
            calls_placed: 0,
            dnd_changes: 0,
        }
    }

    pub(crate) fn user(&self) -> &str {
        &self.sh.users[self.idx]
    }

    pub(crate) fn error(&self, what: String) {
        self.sh.error(self.idx, what);
    }

    pub(crate) fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub(crate) async fn send_message(&mut self, message: Message) -> Result<(), String> {
        let ws = self.ws.as_mut().ok_or("no connection")?;
        ws.send(message).await.map_err(|e| format!("send: {e}"))
    }

    /// Sends a text frame of the session (kept for a resume once counting).
    pub(crate) async fn send_text(&mut self, text: String) -> Result<(), String> {
        self.replay.record(&text, text.len());
        self.send_message(Message::text(text)).await
    }

    /// Sends a request and remembers it; returns its id.
    pub(crate) async fn send_request(
        &mut self,
        what: Timed,
        request: Request,
    ) -> Result<u64, String> {
        let id = self.take_id();
        self.pending.insert(id, (what, Instant::now()));
        self.send_text(encode(&ClientFrame { id, request })).await?;
        Ok(id)
    }

    /// A ping as the SDK sends it: its send time, then (once counting) the count of the
    /// server's text frames, which lets the server drop what it kept for a resume.
    pub(crate) async fn send_ping(&mut self) -> Result<(), String> {
        let mut payload = (self.sh.t0.elapsed().as_nanos() as u64)
            .to_be_bytes()
            .to_vec();
        if self.counting {
            payload.extend_from_slice(&self.received.to_be_bytes());
        }
        self.send_message(Message::Ping(payload.into())).await
    }

    /// One turn: the next frame (handled as an SDK would), the next operation (when `rx` is
    /// given), a ping when due, or the deadline.
    pub(crate) async fn step(
        &mut self,
        rx: Option<&mut mpsc::Receiver<Op>>,
        deadline: Option<tokio::time::Instant>,
    ) -> Step {
        let Some(ws) = self.ws.as_mut() else {
            return Step::Closed("no connection".into());
        };
        let deadline = deadline.unwrap_or_else(|| tokio::time::Instant::now() + STEP_TIMEOUT * 360);
        tokio::select! {
            message = ws.next() => self.on_message(message).await,
            op = recv_op(rx) => match op {
                Some(op) => Step::Op(op),
                None => Step::Shutdown,
            },
            _ = self.ping.tick() => match self.send_ping().await {
                Ok(()) => Step::Nothing,
                Err(e) => Step::Closed(e),
            },
            _ = sleep_until(deadline) => Step::Timeout,
        }
    }

    pub(crate) async fn on_message(&mut self, message: Option<Result<Message, WsError>>) -> Step {
        let message = match message {
            None => return Step::Closed("connection closed".into()),
            Some(Err(e)) => return Step::Closed(format!("read: {e}")),
            Some(Ok(message)) => message,
        };
        match message {
            Message::Text(text) => {
                if self.counting {
                    self.received += 1;
                    if self.received.is_multiple_of(RESUME_ACK_EVERY) {
                        if let Err(e) = self.send_ping().await {
                            return Step::Closed(e);
                        }
                    }
                }
                match decode::<ServerFrame>(text.as_str()) {
                    Ok(ServerFrame::Reply(reply)) => self.on_reply(reply),
                    Ok(ServerFrame::Event(event)) => self.on_event(event).await,
                    Err(e) => {
                        self.error(format!("undecodable frame {:?}: {e}", text.as_str()));
                        Step::Nothing
                    }
                }
            }
            Message::Binary(data) => self.on_binary(&data).await,
            Message::Ping(payload) => {
                // The server's count of this client's text frames (when resumable).
                if let Some(count) = payload.get(..8) {
                    self.replay
                        .ack(u64::from_be_bytes(count.try_into().expect("8 bytes")));
                }
                Step::Nothing
            }
            Message::Close(frame) => Step::Closed(format!("server closed: {frame:?}")),
            Message::Pong(_) | Message::Frame(_) => Step::Nothing,
        }
    }

    pub(crate) fn on_reply(&mut self, reply: Reply) -> Step {
        let Some((what, sent)) = self.pending.remove(&reply.re) else {
            self.error(format!("reply to no pending request: {reply:?}"));
            return Step::Nothing;
        };
        self.sh.record_code(what, reply.code);
        if reply.code == 0 {
            self.sh.record(what, sent.elapsed());
        } else {
            self.error(format!("{} failed: {}", what.name(), code_name(reply.code)));
        }
        Step::Reply(reply)
    }

    pub(crate) async fn on_event(&mut self, event: Event) -> Step {
        let sent = match event {
            Event::UserStatus(_) => {
                self.sh.seen(Seen::UserStatus);
                if !self.subscriber {
                    self.error("user_status event without a subscription".into());
                }
                return Step::Nothing;
            }
            Event::CallIn { call_id, .. } => {
                self.sh.seen(Seen::CallIn);
                if let Some(old) = self.callee_call.replace(call_id.clone()) {
                    self.error(format!("call_in {call_id} while still in call {old}"));
                }
                self.send_request(
                    Timed::AcceptCall,
                    Request::AcceptCall {
                        call_id,
                        meet_obj: String::new(),
                        usr_ext_dat: String::new(),
                    },
                )
                .await
            }
            Event::CallAccepted { call_id, .. } => {
                self.sh.seen(Seen::CallAccepted);
                return Step::CallAccepted(call_id);
            }
            Event::CallHungup { call_id, .. } => {
                self.sh.seen(Seen::CallHungup);
                if self.callee_call.as_deref() == Some(call_id.as_str()) {
                    self.callee_call = None;
                } else {
                    self.error(format!("call_hungup for call {call_id}, not ours"));
                }
                return Step::Nothing;
            }
            other => {
                self.error(format!("unexpected event {other:?}"));
                return Step::Nothing;
            }
        };
        match sent {
            Ok(_) => Step::Nothing,
            Err(e) => Step::Closed(e),
        }
    }

    pub(crate) async fn on_binary(&mut self, data: &[u8]) -> Step {
        match decode_data(data) {
            Ok(DataFrame::Command { id, payload, .. }) => {
                self.sh.seen(Seen::CmdIn);
                if payload != self.sh.cmd_payload.as_slice() {
                    self.error(format!(
                        "command of {} bytes, not the one sent",
                        payload.len()
                    ));
                }
                let ack = encode(&ClientFrame {
                    id: 0,
                    request: Request::CmdAck { relay_id: id },
                });
                match self.send_text(ack).await {
                    Ok(()) => Step::Nothing,
                    Err(e) => Step::Closed(e),
                }
            }
            Ok(other) => {
                self.error(format!("unexpected binary frame {other:?}"));
                Step::Nothing
            }
            Err(e) => {
                self.error(format!("undecodable binary frame: {e}"));
                Step::Nothing
            }
        }
    }

    /// Runs turns until the reply to `id`.
    pub(crate) async fn wait_reply(
        &mut self,
        id: u64,
        what: Timed,
    ) -> Result<Reply, Option<String>> {
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            match self.step(None, Some(deadline)).await {
                Step::Reply(reply) if reply.re == id => return Ok(reply),
                Step::Reply(_) | Step::Nothing => {}
                Step::CallAccepted(call_id) => {
                    self.error(format!("call_accepted for call {call_id}, not placed now"));
                }
                Step::Closed(why) => {
                    return Err(Some(format!(
                        "waiting for the {} reply: {why}",
                        what.name()
                    )))
                }
                Step::Timeout => {
                    return Err(Some(format!(
                        "no {} reply within {STEP_TIMEOUT:?}",
                        what.name()
                    )))
                }
                Step::Op(_) | Step::Shutdown => unreachable!("no operations taken meanwhile"),
            }
        }
    }

    /// Sends a request and waits for its reply, which must be 0 (a failure is already
    /// counted by [`Client::on_reply`]).
    pub(crate) async fn request_ok(
        &mut self,
        what: Timed,
        request: Request,
    ) -> Result<Reply, Option<String>> {
        let id = self.send_request(what, request).await.map_err(Some)?;
        let reply = self.wait_reply(id, what).await?;
        if reply.code != 0 {
            return Err(None);
        }
        Ok(reply)
    }

    // ---- connections ------------------------------------------------------------------

    /// A new WebSocket connection to the server.
    pub(crate) async fn open(&self) -> Result<Ws, String> {
        let addr = self.sh.addr;
        let opened = async { Ok(Conn::connect(addr, STEP_TIMEOUT).await?.into_parts().0) };
        timeout(STEP_TIMEOUT, opened)
            .await
            .map_err(|_| format!("connecting took over {STEP_TIMEOUT:?}"))?
    }

    /// A request on a connection that carries nothing else yet (hello, login, resume):
    /// not part of the session's counted frames.
    pub(crate) async fn handshake_request(
        &mut self,
        ws: &mut Ws,
        what: Timed,
        request: Request,
    ) -> Result<Reply, Option<String>> {
        let id = self.take_id();
        let sent = Instant::now();
        ws.send(Message::text(encode(&ClientFrame { id, request })))
            .await
            .map_err(|e| Some(format!("{}: send: {e}", what.name())))?;
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            let message = tokio::time::timeout_at(deadline, ws.next())
                .await
                .map_err(|_| Some(format!("no {} reply within {STEP_TIMEOUT:?}", what.name())))?
                .ok_or_else(|| Some(format!("{}: connection closed", what.name())))?
                .map_err(|e| Some(format!("{}: read: {e}", what.name())))?;
            let text = match message {
                Message::Text(text) => text,
                Message::Close(frame) => {
                    return Err(Some(format!("{}: server closed: {frame:?}", what.name())))
                }
                _ => continue,
            };
            match decode::<ServerFrame>(text.as_str()) {
                Ok(ServerFrame::Reply(reply)) if reply.re == id => {
                    self.sh.record_code(what, reply.code);
                    if reply.code != 0 {
                        self.error(format!("{} failed: {}", what.name(), code_name(reply.code)));
                        return Err(None);
                    }
                    // A resume is timed as a whole cycle by its operation.
                    if what != Timed::Resume {
                        self.sh.record(what, sent.elapsed());
                    }
                    return Ok(reply);
                }
                _ => {
                    return Err(Some(format!(
                        "{}: unexpected {:?} before the reply",
                        what.name(),
                        text.as_str()
                    )))
                }
            }
        }
    }

    /// Logs in on a new connection, enables resume, subscribes (subscribers).
    pub(crate) async fn fresh_login(&mut self) -> OpResult {
        self.ws = None;
        self.pending.clear();
        self.token = None;
        self.counting = false;
        self.received = 0;
        self.replay = Replay::new(REPLAY_FRAMES, REPLAY_BYTES);
        self.callee_call = None;
        self.sh.dnd[self.idx].store(false, Ordering::Relaxed);

        let started = Instant::now();
        let mut ws = self.open().await.map_err(Some)?;
        let hello = Request::Hello {
            version: PROTOCOL_VERSION,
            agent: AGENT.into(),
        };
        self.handshake_request(&mut ws, Timed::Hello, hello).await?;
        let login = Request::Login(LoginRequest {
            tenant: BENCH_TENANT.into(),
            password: BENCH_PASSWORD.into(),
            nickname: self.user().into(),
            user_id: self.user().into(),
            auth_code: String::new(),
        });
        let id = self.take_id();
        self.pending.insert(id, (Timed::Login, started));
        ws.send(Message::text(encode(&ClientFrame { id, request: login })))
            .await
            .map_err(|e| Some(format!("login: send: {e}")))?;
        self.ws = Some(ws);
        let reply = self.wait_reply(id, Timed::Login).await?;
        if reply.code != 0 {
            return Err(None);
        }
        let ok: LoginOk = reply
            .into_result()
            .map_err(|code| Some(format!("login reply: {}", code_name(code))))?;
        if ok.user_id != self.user() {
            return Err(Some(format!("logged in as {:?}", ok.user_id)));
        }

        // As the SDK does right after login: from the frame after this request on, this
        // side's frames are counted; from the frame after its reply, the server's.
        let id = self
            .send_request(
                Timed::EnableResume,
                Request::EnableResume {
                    window_ms: RESUME_WINDOW_MS,
                },
            )
            .await
            .map_err(Some)?;
        self.replay.start_counting();
        let reply = self.wait_reply(id, Timed::EnableResume).await?;
        if reply.code != 0 {
            return Err(None);
        }
        match reply.into_result::<ResumeInfo>() {
            Ok(info) if !info.token.is_empty() && info.window_ms > 0 => {
                self.token = Some(info.token);
                self.counting = true;
            }
            other => {
                self.replay.stop_counting();
                return Err(Some(format!("enable_resume not granted: {other:?}")));
            }
        }
        if self.subscriber {
            self.request_ok(Timed::SubscribeStatus, Request::SubscribeStatus)
                .await?;
        }
        Ok(())
    }

    /// After an unexpected loss: a new session (the old one's state is gone or will go).
    pub(crate) async fn recover(&mut self) -> bool {
        match self.fresh_login().await {
            Ok(()) => true,
            Err(why) => {
                if let Some(why) = why {
                    self.error(format!("could not log in again: {why}"));
                }
                false
            }
        }
    }

    // ---- operations -------------------------------------------------------------------

    pub(crate) async fn run_op(&mut self, op: Op) -> bool {
        // Counted in the phase that issued it.
        let phase = self.sh.phase();
        self.sh
            .with_stats_in(phase, |s| s.issued[op.kind as usize] += 1);
        let result = match op.kind {
            OpKind::Relogin => self.relogin().await,
            OpKind::Presence => self.presence().await,
            OpKind::Call => self.call(op.peer.expect("a call has a peer")).await,
            OpKind::Cmd => self.cmd(op.peer.expect("a command has a peer")).await,
            OpKind::Resume => self.resume().await,
        };
        let alive = match result {
            Ok(()) => {
                self.sh
                    .with_stats_in(phase, |s| s.done[op.kind as usize] += 1);
                true
            }
            Err(why) => {
                self.sh
                    .with_stats_in(phase, |s| s.failed[op.kind as usize] += 1);
                if let Some(why) = why {
                    self.error(format!("{}: {why}", op.kind.name()));
                }
                // A broken or confused session: start a new one.
                let broken = self.ws.is_none() || !self.pending.is_empty();
                !broken || self.recover().await
            }
        };
        if let Some(peer) = op.peer {
            self.sh.release(peer);
        }
        alive
    }

    pub(crate) async fn relogin(&mut self) -> OpResult {
        let started = Instant::now();
        self.logout().await?;
        if !self.pending.is_empty() {
            let lost: Vec<&str> = self.pending.values().map(|(w, _)| w.name()).collect();
            return Err(Some(format!(
                "logged out with requests unanswered: {lost:?}"
            )));
        }
        self.fresh_login().await?;
        self.sh.record(Timed::Relogin, started.elapsed());
        Ok(())
    }

    /// The next DND value of this client: off when on, else 1, 2 or 3.
    pub(crate) fn next_dnd(&mut self) -> i32 {
        self.dnd_changes += 1;
        match self.sh.dnd[self.idx].load(Ordering::Relaxed) {
            true => 0,
            false => 1 + (self.dnd_changes % 3) as i32,
        }
    }

    /// Logs out and reads up to the server's Close (which also sends ours back).
    pub(crate) async fn logout(&mut self) -> OpResult {
        self.request_ok(Timed::Logout, Request::Logout).await?;
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            match self.step(None, Some(deadline)).await {
                Step::Closed(_) => break,
                Step::Timeout => return Err(Some("no Close after the logout reply".into())),
                _ => {}
            }
        }
        if let Some(mut ws) = self.ws.take() {
            let _ = timeout(Duration::from_secs(2), ws.next()).await;
        }
        Ok(())
    }

    pub(crate) async fn presence(&mut self) -> OpResult {
        let dnd = self.next_dnd();
        self.request_ok(Timed::SetDnd, Request::SetDnd { dnd })
            .await?;
        self.sh.dnd[self.idx].store(dnd != 0, Ordering::Relaxed);
        Ok(())
    }

    pub(crate) async fn call(&mut self, peer: usize) -> OpResult {
        self.calls_placed += 1;
        let call_id = format!("soak-{}-{}", self.idx, self.calls_placed);
        let started = Instant::now();
        let request = Request::Call {
            call_id: call_id.clone(),
            callee: self.sh.users[peer].clone(),
            meet_obj: String::new(),
            usr_ext_dat: String::new(),
        };
        let id = self
            .send_request(Timed::Call, request)
            .await
            .map_err(Some)?;
        let (mut replied, mut accepted) = (false, false);
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        while !(replied && accepted) {
            match self.step(None, Some(deadline)).await {
                Step::Reply(reply) if reply.re == id => {
                    if reply.code != 0 {
                        return Err(None);
                    }
                    replied = true;
                }
                Step::CallAccepted(accepted_id) if accepted_id == call_id => {
                    self.sh.record(Timed::CallSetup, started.elapsed());
                    accepted = true;
                }
                Step::CallAccepted(other) => {
                    self.error(format!("call_accepted for call {other}, not {call_id}"));
                }
                Step::Reply(_) | Step::Nothing => {}
                Step::Closed(why) => return Err(Some(format!("during call setup: {why}"))),
                Step::Timeout => {
                    return Err(Some(format!(
                        "call {call_id} to {}: replied {replied}, accepted {accepted} after {STEP_TIMEOUT:?}",
                        self.sh.users[peer]
                    )))
                }
                Step::Op(_) | Step::Shutdown => unreachable!("no operations taken meanwhile"),
            }
        }
        let hangup = Request::HangupCall {
            call_id,
            usr_ext_dat: String::new(),
        };
        self.request_ok(Timed::HangupCall, hangup).await?;
        Ok(())
    }

    pub(crate) async fn cmd(&mut self, peer: usize) -> OpResult {
        let id = self.take_id();
        let frame = encode_command(id, &self.sh.users[peer], &self.sh.cmd_payload);
        self.pending.insert(id, (Timed::SendCmd, Instant::now()));
        self.send_message(Message::binary(frame))
            .await
            .map_err(Some)?;
        let reply = self.wait_reply(id, Timed::SendCmd).await?;
        if reply.code != 0 {
            return Err(None);
        }
        Ok(())
    }

    /// Sends a `set_dnd`, drops the connection at once without a goodbye, resumes the
    /// session on a new one and waits for that request's reply there: the server either got
    /// the request before the drop (it sends the reply again) or not (this client sends the
    /// request again).
    pub(crate) async fn resume(&mut self) -> OpResult {
        let token = self
            .token
            .clone()
            .ok_or_else(|| Some("no resume token".to_string()))?;
        let dnd = self.next_dnd();
        let id = self
            .send_request(Timed::SetDndAcrossResume, Request::SetDnd { dnd })
            .await
            .map_err(Some)?;
        let started = Instant::now();
        // Whatever the server sent and this client did not read yet is lost with the socket
        // (closed with unread data: a reset, which may also lose what was just sent).
        drop(self.ws.take());
        let mut ws = self.open().await.map_err(Some)?;
        let hello = Request::Hello {
            version: PROTOCOL_VERSION,
            agent: AGENT.into(),
        };
        self.handshake_request(&mut ws, Timed::Hello, hello).await?;
        let resume = Request::Resume {
            token,
            received: self.received,
        };
        let reply = self
            .handshake_request(&mut ws, Timed::Resume, resume)
            .await?;
        let resumed: Resumed = reply
            .into_result()
            .map_err(|code| Some(format!("resume reply: {}", code_name(code))))?;
        self.replay.ack(resumed.received);
        let resend = self.replay.after(resumed.received).ok_or_else(|| {
            Some(format!(
                "the server got {} of this client's frames: cannot send again what it missed",
                resumed.received
            ))
        })?;
        let resent = resend.len() as u64;
        for text in resend {
            ws.send(Message::text(text))
                .await
                .map_err(|e| Some(format!("resending: {e}")))?;
        }
        self.ws = Some(ws);
        self.sh.record(Timed::Resume, started.elapsed());
        self.sh.with_stats(|s| {
            s.resent_by_clients += resent;
            s.resumes_resending += u64::from(resent > 0);
        });
        let reply = self.wait_reply(id, Timed::SetDndAcrossResume).await?;
        if reply.code != 0 {
            return Err(None);
        }
        self.sh.dnd[self.idx].store(dnd != 0, Ordering::Relaxed);
        Ok(())
    }
}

/// `7 (ANCTPSWD_ERR)`.
pub(crate) fn code_name(code: i32) -> String {
    match ErrorCode::from_code(code) {
        Some(c) => format!("code {code} ({})", c.name()),
        None => format!("code {code}"),
    }
}

/// A client's life: log in, then answer what comes and run the operations it is given,
/// until the scheduler is gone.
pub(crate) async fn client_main(
    mut client: Client,
    mut rx: mpsc::Receiver<Op>,
    gate: Arc<Semaphore>,
    ready: Arc<(AtomicUsize, Notify)>,
) {
    let permit = gate.acquire().await;
    let logged_in = client.fresh_login().await;
    drop(permit);
    let idx = client.idx;
    let alive = match logged_in {
        Ok(()) => true,
        Err(why) => {
            if let Some(why) = why {
                client.error(format!("login: {why}"));
            }
            false
        }
    };
    if !alive {
        client.sh.mark_dead(idx);
    }
    ready.0.fetch_add(1, Ordering::AcqRel);
    ready.1.notify_one();
    if !alive {
        return;
    }
    loop {
        match client.step(Some(&mut rx), None).await {
            Step::Op(op) => {
                let alive = client.run_op(op).await;
                if !alive {
                    client.sh.mark_dead(idx);
                    return;
                }
                client.sh.release(idx);
            }
            Step::Shutdown => {
                // Log out, so that the session ends now rather than waiting to be resumed.
                if let Err(Some(why)) = client.logout().await {
                    client.error(format!("final logout: {why}"));
                }
                return;
            }
            Step::Closed(why) => {
                client.error(format!("connection lost while idle: {why}"));
                if !client.recover().await {
                    client.sh.mark_dead(idx);
                    return;
                }
            }
            Step::CallAccepted(call_id) => {
                client.error(format!("call_accepted for call {call_id} while idle"));
            }
            Step::Reply(_) | Step::Nothing | Step::Timeout => {}
        }
    }
}
