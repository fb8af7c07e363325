//! One client: answers what comes to it as an SDK would, and runs the operations it is given.

use super::*;

/// An operation the scheduler gives a client (which, and its peer, it reserved).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Op {
    pub(crate) kind: OpKind,
    pub(crate) peer: Option<usize>,
}

/// What one turn of a client's loop produced, for the operation it is running.
enum Step {
    Nothing,
    Op(Op),
    Reply(Reply),
    CallAccepted(String),
    Closed(String),
    Timeout,
    Shutdown,
}

/// Why an operation did not complete: already counted as an error (`None`), or not yet.
type OpResult<T = ()> = Result<T, Option<String>>;

/// [`Step::Nothing`] once sent, else the connection is gone.
fn sent<T>(result: Result<T, String>) -> Step {
    result.map_or_else(Step::Closed, |_| Step::Nothing)
}

pub(crate) struct Client {
    idx: usize,
    sh: Arc<Shared>,
    subscriber: bool,
    conn: Option<Conn>,
    next_id: u64,
    /// Requests sent and not answered: what they are and when they were sent.
    pending: HashMap<u64, (Timed, Instant)>,
    /// The session's resume token, once `enable_resume` granted one.
    token: Option<String>,
    /// Counting the server's text frames (from the frame after the `enable_resume` reply).
    counting: bool,
    received: u64,
    /// This client's text frames since its `enable_resume` request, until acknowledged.
    replay: Replay<String>,
    ping: tokio::time::Interval,
    /// The call this client accepted as callee, until it is hung up.
    callee_call: Option<String>,
    calls_placed: u64,
    dnd_changes: u64,
}

impl Client {
    pub(crate) fn new(idx: usize, sh: Arc<Shared>) -> Client {
        // Spread the clients' pings over the heartbeat period.
        let period = Duration::from_millis(sh.args.heartbeat_ms);
        let offset = period.mul_f64((idx as f64 * 0.618_034).fract());
        let mut ping = interval_at(tokio::time::Instant::now() + offset, period);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Client {
            idx,
            subscriber: idx < sh.args.subscribers,
            sh,
            conn: None,
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

    fn error(&self, what: String) {
        self.sh.error(self.idx, what);
    }

    /// [`Client::error`], and nothing else to do.
    fn unexpected(&self, what: String) -> Step {
        self.error(what);
        Step::Nothing
    }

    fn take_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id - 1
    }

    async fn send(&mut self, message: Message) -> Result<(), String> {
        self.conn
            .as_mut()
            .ok_or("no connection")?
            .try_send(message)
            .await
    }

    /// Sends a text frame of the session (kept for a resume once counting).
    async fn send_text(&mut self, text: String) -> Result<(), String> {
        self.replay.record(&text, text.len());
        self.send(Message::text(text)).await
    }

    /// Sends a request and remembers it; returns its id.
    async fn send_request(&mut self, what: Timed, request: Request) -> Result<u64, String> {
        let id = self.take_id();
        self.pending.insert(id, (what, Instant::now()));
        self.send_text(encode(&ClientFrame { id, request })).await?;
        Ok(id)
    }

    /// A ping as the SDK sends it: its send time, then (once counting) the count of the
    /// server's text frames, which lets the server drop what it kept for a resume.
    async fn send_ping(&mut self) -> Result<(), String> {
        let mut payload = (self.sh.t0.elapsed().as_nanos() as u64)
            .to_be_bytes()
            .to_vec();
        if self.counting {
            payload.extend_from_slice(&self.received.to_be_bytes());
        }
        self.send(Message::Ping(payload.into())).await
    }

    /// One turn: the next frame (handled as an SDK would), the next operation (when `rx` is
    /// given), a ping when due, or the deadline.
    async fn step(
        &mut self,
        rx: Option<&mut mpsc::Receiver<Op>>,
        deadline: Option<tokio::time::Instant>,
    ) -> Step {
        let Some(conn) = self.conn.as_mut() else {
            return Step::Closed("no connection".into());
        };
        let far = tokio::time::Instant::now() + STEP_TIMEOUT * 360;
        let next_op = async {
            match rx {
                Some(rx) => rx.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            message = conn.ws.next() => self.on_message(message).await,
            op = next_op => op.map_or(Step::Shutdown, Step::Op),
            _ = self.ping.tick() => sent(self.send_ping().await),
            _ = sleep_until(deadline.unwrap_or(far)) => Step::Timeout,
        }
    }

    async fn on_message(&mut self, message: Option<Result<Message, WsError>>) -> Step {
        let text = match message {
            None => return Step::Closed("connection closed".into()),
            Some(Err(e)) => return Step::Closed(format!("read: {e}")),
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Binary(data))) => return self.on_binary(&data).await,
            // The server's count of this client's text frames (when resumable).
            Some(Ok(Message::Ping(payload))) => {
                if let Some(count) = payload.get(..8) {
                    self.replay
                        .ack(u64::from_be_bytes(count.try_into().expect("8 bytes")));
                }
                return Step::Nothing;
            }
            Some(Ok(Message::Close(frame))) => {
                return Step::Closed(format!("server closed: {frame:?}"))
            }
            Some(Ok(_)) => return Step::Nothing,
        };
        if self.counting {
            self.received += 1;
            if self.received.is_multiple_of(RESUME_ACK_EVERY) {
                if let Err(e) = self.send_ping().await {
                    return Step::Closed(e);
                }
            }
        }
        match decode::<ServerFrame>(text.as_str()) {
            Ok(ServerFrame::Reply(reply)) => {
                let Some((what, sent)) = self.pending.remove(&reply.re) else {
                    return self.unexpected(format!("reply to no pending request: {reply:?}"));
                };
                self.count_reply(what, sent, reply.code);
                Step::Reply(reply)
            }
            Ok(ServerFrame::Event(event)) => self.on_event(event).await,
            Err(e) => self.unexpected(format!("undecodable frame {:?}: {e}", text.as_str())),
        }
    }

    /// Counts a reply's code and, when 0, its latency (a resume is timed as a whole by its
    /// operation); any other code is an error. Whether it was 0.
    fn count_reply(&self, what: Timed, sent: Instant, code: i32) -> bool {
        self.sh
            .stats(|s| *s.codes.entry((what, code)).or_default() += 1);
        if code != 0 {
            self.error(format!("{} failed: {}", what.name(), code_name(code)));
        } else if what != Timed::Resume {
            self.sh.record(what, sent.elapsed());
        }
        code == 0
    }

    async fn on_event(&mut self, event: Event) -> Step {
        match event {
            Event::UserStatus(_) => {
                self.sh.stats(|s| s.seen[Seen::UserStatus as usize] += 1);
                if !self.subscriber {
                    return self.unexpected("user_status event without a subscription".into());
                }
                Step::Nothing
            }
            Event::CallIn { call_id, .. } => {
                self.sh.stats(|s| s.seen[Seen::CallIn as usize] += 1);
                if let Some(old) = self.callee_call.replace(call_id.clone()) {
                    self.error(format!("call_in {call_id} while still in call {old}"));
                }
                let (meet_obj, usr_ext_dat) = (String::new(), String::new());
                let accept = Request::AcceptCall {
                    call_id,
                    meet_obj,
                    usr_ext_dat,
                };
                sent(self.send_request(Timed::AcceptCall, accept).await)
            }
            Event::CallAccepted { call_id, .. } => {
                self.sh.stats(|s| s.seen[Seen::CallAccepted as usize] += 1);
                Step::CallAccepted(call_id)
            }
            Event::CallHungup { call_id, .. } => {
                self.sh.stats(|s| s.seen[Seen::CallHungup as usize] += 1);
                if self.callee_call.as_deref() != Some(call_id.as_str()) {
                    return self.unexpected(format!("call_hungup for call {call_id}, not ours"));
                }
                self.callee_call = None;
                Step::Nothing
            }
            other => self.unexpected(format!("unexpected event {other:?}")),
        }
    }

    async fn on_binary(&mut self, data: &[u8]) -> Step {
        match decode_data(data) {
            Ok(DataFrame::Command { id, payload, .. }) => {
                self.sh.stats(|s| s.seen[Seen::CmdIn as usize] += 1);
                if payload != self.sh.cmd_payload.as_slice() {
                    self.error(format!(
                        "command of {} bytes, not the one sent",
                        payload.len()
                    ));
                }
                let ack = ClientFrame {
                    id: 0,
                    request: Request::CmdAck { relay_id: id },
                };
                sent(self.send_text(encode(&ack)).await)
            }
            Ok(other) => self.unexpected(format!("unexpected binary frame {other:?}")),
            Err(e) => self.unexpected(format!("undecodable binary frame: {e}")),
        }
    }

    /// Runs turns until the reply to `id`, which must be 0 (a failure is already counted).
    async fn wait_reply(&mut self, id: u64, what: Timed) -> OpResult<Reply> {
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            match self.step(None, Some(deadline)).await {
                Step::Reply(reply) if reply.re == id => {
                    return if reply.code == 0 {
                        Ok(reply)
                    } else {
                        Err(None)
                    };
                }
                Step::Reply(_) | Step::Nothing => {}
                Step::CallAccepted(call_id) => {
                    self.error(format!("call_accepted for call {call_id}, not placed now"));
                }
                Step::Closed(why) => Err(format!("waiting for the {} reply: {why}", what.name()))?,
                Step::Timeout => Err(format!("no {} reply within {STEP_TIMEOUT:?}", what.name()))?,
                Step::Op(_) | Step::Shutdown => unreachable!("no operations taken meanwhile"),
            }
        }
    }

    /// Sends a request and waits for its reply, which must be 0.
    async fn request_ok(&mut self, what: Timed, request: Request) -> OpResult<Reply> {
        let id = self.send_request(what, request).await?;
        self.wait_reply(id, what).await
    }

    /// A new connection to the server, with hello said (a request on a connection that
    /// carries nothing else yet: not part of the session's counted frames).
    async fn connect(&mut self) -> OpResult<Conn> {
        let connecting = timeout(STEP_TIMEOUT, Conn::connect(self.sh.addr, STEP_TIMEOUT));
        let connected = connecting
            .await
            .map_err(|_| format!("connecting took over {STEP_TIMEOUT:?}"));
        let mut conn = connected??;
        let hello = Request::Hello {
            version: PROTOCOL_VERSION,
            agent: AGENT.into(),
        };
        self.handshake(&mut conn, Timed::Hello, hello).await?;
        Ok(conn)
    }

    /// A request on a new connection, before anything else on it (hello, resume).
    async fn handshake(
        &mut self,
        conn: &mut Conn,
        what: Timed,
        request: Request,
    ) -> OpResult<Reply> {
        let (id, sent) = (self.take_id(), Instant::now());
        let reply = async {
            conn.try_send(Message::text(encode(&ClientFrame { id, request })))
                .await?;
            let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
            loop {
                match conn
                    .read(deadline, STEP_TIMEOUT)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    Incoming::Frame(ServerFrame::Reply(r)) if r.re == id => return Ok(r),
                    Incoming::Frame(other) => {
                        Err(format!("unexpected {other:?} before the reply"))?
                    }
                    Incoming::Binary(_) => {}
                }
            }
        };
        let reply: Reply = reply
            .await
            .map_err(|e: String| format!("{}: {e}", what.name()))?;
        if self.count_reply(what, sent, reply.code) {
            Ok(reply)
        } else {
            Err(None)
        }
    }

    /// Logs in on a new connection, enables resume, subscribes (subscribers).
    async fn fresh_login(&mut self) -> OpResult {
        self.conn = None;
        self.pending.clear();
        self.token = None;
        self.counting = false;
        self.received = 0;
        self.replay = Replay::new(REPLAY_FRAMES, REPLAY_BYTES);
        self.callee_call = None;
        self.sh.dnd[self.idx].store(false, Ordering::Relaxed);

        let started = Instant::now();
        let mut conn = self.connect().await?;
        let user = self.sh.users[self.idx].clone();
        let login = Request::Login(LoginRequest {
            tenant: BENCH_TENANT.into(),
            password: BENCH_PASSWORD.into(),
            nickname: user.clone(),
            user_id: user.clone(),
            auth_code: String::new(),
        });
        let id = self.take_id();
        self.pending.insert(id, (Timed::Login, started));
        conn.try_send(Message::text(encode(&ClientFrame { id, request: login })))
            .await?;
        self.conn = Some(conn);
        let reply = self.wait_reply(id, Timed::Login).await?;
        let ok: LoginOk = reply
            .into_result()
            .map_err(|c| format!("login reply: {}", code_name(c)))?;
        if ok.user_id != user {
            return Err(Some(format!("logged in as {:?}", ok.user_id)));
        }

        // As the SDK does right after login: from the frame after this request on, this
        // side's frames are counted; from the frame after its reply, the server's.
        let enable = Request::EnableResume {
            window_ms: RESUME_WINDOW_MS,
        };
        let id = self.send_request(Timed::EnableResume, enable).await?;
        self.replay.start_counting();
        match self
            .wait_reply(id, Timed::EnableResume)
            .await?
            .into_result::<ResumeInfo>()
        {
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

    /// A new session after an unexpected loss (the old one's state is gone or will go);
    /// whether there is one.
    async fn recover(&mut self, context: &str) -> bool {
        let result = self.fresh_login().await;
        if let Err(Some(why)) = &result {
            self.error(format!("{context}: {why}"));
        }
        result.is_ok()
    }

    /// Runs `op`; whether the client still has a session.
    async fn run_op(&mut self, op: Op) -> bool {
        // Counted in the phase that issued it.
        let (phase, k) = (self.sh.phase(), op.kind as usize);
        self.sh.stats_in(phase, |s| s.issued[k] += 1);
        let result = match op.kind {
            OpKind::Relogin => self.relogin().await,
            OpKind::Presence => self.set_dnd(None).await,
            OpKind::Call => self.call(op.peer.expect("a call has a peer")).await,
            OpKind::Cmd => self.cmd(op.peer.expect("a command has a peer")).await,
            OpKind::Resume => match self.token.clone() {
                Some(token) => self.set_dnd(Some(token)).await,
                None => Err(Some("no resume token".into())),
            },
        };
        self.sh.stats_in(phase, |s| match result {
            Ok(()) => s.done[k] += 1,
            Err(_) => s.failed[k] += 1,
        });
        let alive = match result {
            Ok(()) => true,
            Err(why) => {
                if let Some(why) = why {
                    self.error(format!("{}: {why}", op.kind.name()));
                }
                // A broken or confused session: start a new one.
                let broken = self.conn.is_none() || !self.pending.is_empty();
                !broken || self.recover("could not log in again").await
            }
        };
        if let Some(peer) = op.peer {
            self.sh.release(peer);
        }
        alive
    }

    async fn relogin(&mut self) -> OpResult {
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

    /// Logs out and reads up to the server's Close (which also sends ours back).
    async fn logout(&mut self) -> OpResult {
        self.request_ok(Timed::Logout, Request::Logout).await?;
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            match self.step(None, Some(deadline)).await {
                Step::Closed(_) => break,
                Step::Timeout => Err("no Close after the logout reply".to_string())?,
                _ => {}
            }
        }
        if let Some(mut conn) = self.conn.take() {
            let _ = timeout(Duration::from_secs(2), conn.ws.next()).await;
        }
        Ok(())
    }

    /// The next DND value of this client: off when on, else 1, 2 or 3.
    fn next_dnd(&mut self) -> i32 {
        self.dnd_changes += 1;
        match self.sh.dnd[self.idx].load(Ordering::Relaxed) {
            true => 0,
            false => 1 + (self.dnd_changes % 3) as i32,
        }
    }

    /// A DND change. With a resume token: the connection is dropped at once after the
    /// request, without a goodbye, and the session resumed on a new one, where the reply must
    /// come (the server either got the request before the drop and sends the reply again, or
    /// not and this client sends the request again).
    async fn set_dnd(&mut self, resume: Option<String>) -> OpResult {
        let what = match resume {
            Some(_) => Timed::SetDndAcrossResume,
            None => Timed::SetDnd,
        };
        let dnd = self.next_dnd();
        let id = self.send_request(what, Request::SetDnd { dnd }).await?;
        if let Some(token) = resume {
            self.resume(token).await?;
        }
        self.wait_reply(id, what).await?;
        self.sh.dnd[self.idx].store(dnd != 0, Ordering::Relaxed);
        Ok(())
    }

    async fn call(&mut self, peer: usize) -> OpResult {
        self.calls_placed += 1;
        let call_id = format!("soak-{}-{}", self.idx, self.calls_placed);
        let started = Instant::now();
        let request = Request::Call {
            call_id: call_id.clone(),
            callee: self.sh.users[peer].clone(),
            meet_obj: String::new(),
            usr_ext_dat: String::new(),
        };
        let id = self.send_request(Timed::Call, request).await?;
        let (mut replied, mut accepted) = (false, false);
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        while !(replied && accepted) {
            match self.step(None, Some(deadline)).await {
                Step::Reply(reply) if reply.re == id && reply.code != 0 => return Err(None),
                Step::Reply(reply) if reply.re == id => replied = true,
                Step::CallAccepted(accepted_id) if accepted_id == call_id => {
                    self.sh.record(Timed::CallSetup, started.elapsed());
                    accepted = true;
                }
                Step::CallAccepted(other) => {
                    self.error(format!("call_accepted for call {other}, not {call_id}"));
                }
                Step::Reply(_) | Step::Nothing => {}
                Step::Closed(why) => Err(format!("during call setup: {why}"))?,
                Step::Timeout => Err(format!(
                    "call {call_id} to {}: replied {replied}, accepted {accepted} after \
                     {STEP_TIMEOUT:?}",
                    self.sh.users[peer]
                ))?,
                Step::Op(_) | Step::Shutdown => unreachable!("no operations taken meanwhile"),
            }
        }
        let hangup = Request::HangupCall {
            call_id,
            usr_ext_dat: String::new(),
        };
        self.request_ok(Timed::HangupCall, hangup).await.map(drop)
    }

    async fn cmd(&mut self, peer: usize) -> OpResult {
        let id = self.take_id();
        let frame = encode_command(id, &self.sh.users[peer], &self.sh.cmd_payload);
        self.pending.insert(id, (Timed::SendCmd, Instant::now()));
        self.send(Message::binary(frame)).await?;
        self.wait_reply(id, Timed::SendCmd).await.map(drop)
    }

    async fn resume(&mut self, token: String) -> OpResult {
        let started = Instant::now();
        // Whatever the server sent and this client did not read yet is lost with the socket
        // (closed with unread data: a reset, which may also lose what was just sent).
        drop(self.conn.take());
        let mut conn = self.connect().await?;
        let resume = Request::Resume {
            token,
            received: self.received,
        };
        let reply = self.handshake(&mut conn, Timed::Resume, resume).await?;
        let resumed: Resumed = reply
            .into_result()
            .map_err(|c| format!("resume reply: {}", code_name(c)))?;
        self.replay.ack(resumed.received);
        let Some(resend) = self.replay.after(resumed.received) else {
            let got = resumed.received;
            return Err(Some(format!(
                "the server got {got} of this client's frames: cannot send again what it missed"
            )));
        };
        let resent = resend.len() as u64;
        for text in resend {
            conn.try_send(Message::text(text))
                .await
                .map_err(|e| format!("resending: {e}"))?;
        }
        self.conn = Some(conn);
        self.sh.record(Timed::Resume, started.elapsed());
        self.sh.stats(|s| {
            s.resent_by_clients += resent;
            s.resumes_resending += u64::from(resent > 0);
        });
        Ok(())
    }
}

/// `code 7 (ANCTPSWD_ERR)`.
pub(crate) fn code_name(code: i32) -> String {
    match ErrorCode::from_code(code) {
        Some(c) => format!("code {code} ({})", c.name()),
        None => format!("code {code}"),
    }
}

/// A client's life: log in (at most `--login-in-flight` at a time), then answer what comes
/// and run the operations it is given, until the scheduler is gone; then log out.
pub(crate) async fn client_main(
    mut client: Client,
    mut rx: mpsc::Receiver<Op>,
    gate: Arc<Semaphore>,
    ready: Arc<(AtomicUsize, Notify)>,
) {
    let permit = gate.acquire().await;
    let mut alive = client.recover("login").await;
    drop(permit);
    if !alive {
        client.sh.state[client.idx].store(DEAD, Ordering::Release);
    }
    ready.0.fetch_add(1, Ordering::AcqRel);
    ready.1.notify_one();
    while alive {
        alive = match client.step(Some(&mut rx), None).await {
            Step::Op(op) => {
                let alive = client.run_op(op).await;
                if alive {
                    client.sh.release(client.idx);
                }
                alive
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
                client.recover("could not log in again").await
            }
            Step::CallAccepted(call_id) => {
                client.unexpected(format!("call_accepted for call {call_id} while idle"));
                true
            }
            Step::Reply(_) | Step::Nothing | Step::Timeout => true,
        };
    }
    client.sh.state[client.idx].store(DEAD, Ordering::Release);
}
