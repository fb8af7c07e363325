//! One client: answers what comes to it as an SDK would, and runs the operations it is given.

use super::*;

/// An operation the scheduler gives a client (which, and its peer, it reserved).
pub struct Op {
    pub kind: OpKind,
    pub peer: Option<usize>,
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

/// `code 7 (ANCTPSWD_ERR)`.
fn code_name(code: i32) -> String {
    match ErrorCode::from_code(code) {
        Some(c) => format!("code {code} ({})", c.name()),
        None => format!("code {code}"),
    }
}

pub struct Client {
    idx: usize,
    sh: Arc<Shared>,
    conn: Option<Conn>,
    next_id: u64,
    /// Requests sent and not answered: what they are and when they were sent.
    pending: HashMap<u64, (Timed, Instant)>,
    /// The session's resume token, once `enable_resume` granted one.
    token: Option<String>,
    /// The server's text frames, counted from the frame after the `enable_resume` reply.
    received: Option<u64>,
    /// This client's text frames since its `enable_resume` request, until acknowledged.
    replay: Replay<String>,
    ping: tokio::time::Interval,
    /// The call this client accepted as callee, until it is hung up.
    callee_call: Option<String>,
    /// Calls placed and DND changes so far.
    calls: u64,
    dnd_changes: u64,
}

impl Client {
    pub fn new(idx: usize, sh: Arc<Shared>) -> Client {
        // Spread the clients' pings over the heartbeat period.
        let period = Duration::from_millis(sh.args.heartbeat_ms);
        let offset = period.mul_f64((idx as f64 * 0.618_034).fract());
        let mut ping = interval_at(tokio::time::Instant::now() + offset, period);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Client {
            idx,
            sh,
            conn: None,
            next_id: 1,
            pending: HashMap::new(),
            token: None,
            received: None,
            replay: Replay::new(REPLAY_FRAMES, REPLAY_BYTES),
            ping,
            callee_call: None,
            calls: 0,
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
        let conn = self.conn.as_mut().ok_or("no connection")?;
        conn.try_send(message).await
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
        let sent = self.sh.t0.elapsed().as_nanos() as u64;
        let mut payload = sent.to_be_bytes().to_vec();
        payload.extend(self.received.map(u64::to_be_bytes).into_iter().flatten());
        self.send(Message::Ping(payload.into())).await
    }

    /// One turn: the next frame (handled as an SDK would), the next operation (when `rx` is
    /// given), a ping when due, or the deadline.
    async fn step(&mut self, rx: Option<&mut mpsc::Receiver<Op>>, within: Duration) -> Step {
        let Some(conn) = self.conn.as_mut() else {
            return Step::Closed("no connection".into());
        };
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
            _ = tokio::time::sleep(within) => Step::Timeout,
        }
    }

    async fn on_message(&mut self, message: Option<Result<Message, WsError>>) -> Step {
        let text = match message {
            None => return Step::Closed("connection closed".into()),
            Some(Err(e)) => return Step::Closed(format!("read: {e}")),
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Binary(data))) => return self.on_command(&data).await,
            // The server's count of this client's text frames (when resumable).
            Some(Ok(Message::Ping(payload))) => {
                if let Some(count) = payload.get(..8).and_then(|c| c.try_into().ok()) {
                    self.replay.ack(u64::from_be_bytes(count));
                }
                return Step::Nothing;
            }
            Some(Ok(Message::Close(frame))) => {
                return Step::Closed(format!("server closed: {frame:?}"));
            }
            Some(Ok(_)) => return Step::Nothing,
        };
        if let Some(received) = self.received.as_mut() {
            *received += 1;
            if received.is_multiple_of(RESUME_ACK_EVERY) {
                if let Err(e) = self.send_ping().await {
                    return Step::Closed(e);
                }
            }
        }
        let event = match decode::<ServerFrame>(text.as_str()) {
            Ok(ServerFrame::Reply(reply)) => {
                let Some((what, sent)) = self.pending.remove(&reply.re) else {
                    return self.unexpected(format!("reply to no pending request: {reply:?}"));
                };
                self.count_reply(what, sent, reply.code);
                return Step::Reply(reply);
            }
            Ok(ServerFrame::Event(event)) => event,
            Err(e) => return self.unexpected(format!("undecodable frame {text:?}: {e}")),
        };
        match event {
            Event::UserStatus(_) => {
                self.sh.count("event user_status".into());
                if self.idx >= self.sh.args.subscribers {
                    return self.unexpected("user_status event without a subscription".into());
                }
                Step::Nothing
            }
            Event::CallIn { call_id, .. } => {
                self.sh.count("event call_in".into());
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
                self.sh.count("event call_accepted".into());
                Step::CallAccepted(call_id)
            }
            Event::CallHungup { call_id, .. } => {
                self.sh.count("event call_hungup".into());
                if self.callee_call.take_if(|ours| *ours == call_id).is_none() {
                    return self.unexpected(format!("call_hungup for call {call_id}, not ours"));
                }
                Step::Nothing
            }
            other => self.unexpected(format!("unexpected event {other:?}")),
        }
    }

    /// A command from another client: acknowledged at once (one way).
    async fn on_command(&mut self, data: &[u8]) -> Step {
        let (id, payload) = match decode_data(data) {
            Ok(DataFrame::Command { id, payload, .. }) => (id, payload),
            Ok(other) => return self.unexpected(format!("unexpected binary frame {other:?}")),
            Err(e) => return self.unexpected(format!("undecodable binary frame: {e}")),
        };
        self.sh.count("event command in".into());
        if payload != self.sh.cmd_payload.as_slice() {
            let n = payload.len();
            self.error(format!("command of {n} bytes, not the one sent"));
        }
        let request = Request::CmdAck { relay_id: id };
        let ack = encode(&ClientFrame { id: 0, request });
        sent(self.send_text(ack).await)
    }

    /// Counts a reply's code and, when 0, its latency (a resume is timed as a whole by its
    /// operation); any other code is an error. Whether it was 0.
    fn count_reply(&self, what: Timed, sent: Instant, code: i32) -> bool {
        let (name, text) = (what.name(), code_name(code));
        self.sh.count(format!("reply {name}: {text}"));
        if code != 0 {
            self.error(format!("{name} failed: {text}"));
        } else if what != Timed::Resume {
            self.sh.record(what, sent.elapsed());
        }
        code == 0
    }

    /// Runs turns until the reply to `id`, which must be 0 (a failure is already counted).
    async fn wait_reply(&mut self, id: u64, what: Timed) -> OpResult<Reply> {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            match self.step(None, deadline - Instant::now()).await {
                Step::Reply(reply) if reply.re == id && reply.code != 0 => return Err(None),
                Step::Reply(reply) if reply.re == id => return Ok(reply),
                Step::CallAccepted(call_id) => {
                    self.error(format!("call_accepted for call {call_id}, not placed now"));
                }
                Step::Closed(why) => Err(format!("waiting for the {} reply: {why}", what.name()))?,
                Step::Timeout => Err(format!("no {} reply within {STEP_TIMEOUT:?}", what.name()))?,
                _ => {}
            }
        }
    }

    /// Sends a request and waits for its reply, which must be 0.
    async fn request_ok(&mut self, what: Timed, request: Request) -> OpResult<Reply> {
        let id = self.send_request(what, request).await?;
        self.wait_reply(id, what).await
    }

    /// A new connection to the server, with hello said.
    async fn connect(&mut self) -> OpResult<Conn> {
        let connect = timeout(STEP_TIMEOUT, Conn::connect(self.sh.addr, STEP_TIMEOUT));
        let connected = connect
            .await
            .map_err(|_| format!("connecting took over {STEP_TIMEOUT:?}"));
        let mut conn = connected??;
        let (version, agent) = (PROTOCOL_VERSION, AGENT.into());
        let hello = Request::Hello { version, agent };
        self.handshake(&mut conn, Timed::Hello, hello).await?;
        Ok(conn)
    }

    /// A request on a connection that carries nothing else yet (hello, resume): not part of
    /// the session's counted frames.
    async fn handshake(&mut self, conn: &mut Conn, what: Timed, req: Request) -> OpResult<Reply> {
        let (id, sent) = (self.take_id(), Instant::now());
        let reply = reply_on(conn, id, req).await;
        let reply = reply.map_err(|e| format!("{}: {e}", what.name()))?;
        match self.count_reply(what, sent, reply.code) {
            true => Ok(reply),
            false => Err(None),
        }
    }

    /// Logs in on a new connection, enables resume, subscribes (subscribers); whether there
    /// is a session (`context` names the attempt in the error, if any).
    async fn login(&mut self, context: &str) -> bool {
        let result = self.fresh_login().await;
        if let Err(Some(why)) = &result {
            self.error(format!("{context}: {why}"));
        }
        result.is_ok()
    }

    async fn fresh_login(&mut self) -> OpResult {
        (self.conn, self.token, self.received, self.callee_call) = (None, None, None, None);
        self.pending.clear();
        self.replay = Replay::new(REPLAY_FRAMES, REPLAY_BYTES);
        self.sh.dnd[self.idx].store(false, Relaxed);
        let started = Instant::now();
        self.conn = Some(self.connect().await?);
        let user = self.sh.users[self.idx].clone();
        let login = Request::Login(LoginRequest {
            tenant: BENCH_TENANT.into(),
            password: BENCH_PASSWORD.into(),
            nickname: user.clone(),
            user_id: user.clone(),
            auth_code: String::new(),
        });
        let id = self.send_request(Timed::Login, login).await?;
        // Timed from the TCP connect.
        self.pending.insert(id, (Timed::Login, started));
        let reply = self.wait_reply(id, Timed::Login).await?;
        let ok: LoginOk = reply.into_result().map_err(code_name)?;
        if ok.user_id != user {
            Err(format!("logged in as {:?}", ok.user_id))?;
        }
        // As the SDK does right after login: from the frame after this request on, this
        // side's frames are counted; from the frame after its reply, the server's.
        let (window_ms, what) = (RESUME_WINDOW_MS, Timed::EnableResume);
        let id = self
            .send_request(what, Request::EnableResume { window_ms })
            .await?;
        self.replay.start_counting();
        let reply = self.wait_reply(id, what).await?;
        match reply.into_result::<ResumeInfo>() {
            Ok(info) if !info.token.is_empty() && info.window_ms > 0 => {
                (self.token, self.received) = (Some(info.token), Some(0));
            }
            other => {
                self.replay.stop_counting();
                Err(format!("enable_resume not granted: {other:?}"))?;
            }
        }
        if self.idx < self.sh.args.subscribers {
            let subscribe = Request::SubscribeStatus;
            self.request_ok(Timed::SubscribeStatus, subscribe).await?;
        }
        Ok(())
    }

    /// Runs `op`; whether the client still has a session.
    async fn run_op(&mut self, op: Op) -> bool {
        // Counted in the phase that issued it.
        let (phase, kind) = (self.sh.phase(), op.kind.name());
        self.sh
            .stats(Some(phase), |s| s.add(format!("op {kind}: issued"), 1));
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
        let outcome = if result.is_ok() { "done" } else { "failed" };
        self.sh
            .stats(Some(phase), |s| s.add(format!("op {kind}: {outcome}"), 1));
        let alive = match result {
            Ok(()) => true,
            Err(why) => {
                if let Some(why) = why {
                    self.error(format!("{}: {why}", op.kind.name()));
                }
                // A broken or confused session: start a new one.
                let broken = self.conn.is_none() || !self.pending.is_empty();
                !broken || self.login("could not log in again").await
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
            Err(format!("logged out with requests unanswered: {lost:?}"))?;
        }
        self.fresh_login().await?;
        self.sh.record(Timed::Relogin, started.elapsed());
        Ok(())
    }

    /// Logs out and reads up to the server's Close (which also sends ours back).
    async fn logout(&mut self) -> OpResult {
        self.request_ok(Timed::Logout, Request::Logout).await?;
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            match self.step(None, deadline - Instant::now()).await {
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

    /// A DND change (off when on, else 1, 2 or 3). With a resume token: the connection is
    /// dropped at once after the request, without a goodbye, and the session resumed on a
    /// new one, where the reply must come (the server either got the request before the
    /// drop and sends the reply again, or not and this client sends the request again).
    async fn set_dnd(&mut self, resume: Option<String>) -> OpResult {
        let what = match resume {
            Some(_) => Timed::SetDndAcrossResume,
            None => Timed::SetDnd,
        };
        self.dnd_changes += 1;
        let dnd = match self.sh.dnd[self.idx].load(Relaxed) {
            true => 0,
            false => 1 + (self.dnd_changes % 3) as i32,
        };
        let id = self.send_request(what, Request::SetDnd { dnd }).await?;
        if let Some(token) = resume {
            self.resume(token).await?;
        }
        self.wait_reply(id, what).await?;
        self.sh.dnd[self.idx].store(dnd != 0, Relaxed);
        Ok(())
    }

    async fn resume(&mut self, token: String) -> OpResult {
        let started = Instant::now();
        // Whatever the server sent and this client did not read yet is lost with the socket
        // (closed with unread data: a reset, which may also lose what was just sent).
        drop(self.conn.take());
        let mut conn = self.connect().await?;
        let received = self.received.unwrap_or(0);
        let resume = Request::Resume { token, received };
        let reply = self.handshake(&mut conn, Timed::Resume, resume).await?;
        let resumed: Resumed = reply.into_result().map_err(code_name)?;
        self.replay.ack(resumed.received);
        let Some(resend) = self.replay.after(resumed.received) else {
            let why = format!(
                "the server got {} of this client's frames",
                resumed.received
            );
            return Err(Some(format!("{why}: cannot send again what it missed")));
        };
        let resent = resend.len() as u64;
        for text in resend {
            let sent = conn.try_send(Message::text(text)).await;
            sent.map_err(|e| format!("resending: {e}"))?;
        }
        self.conn = Some(conn);
        self.sh.record(Timed::Resume, started.elapsed());
        self.sh.stats(None, |s| {
            s.add("resume: frames sent again".into(), resent);
            s.add(
                "resume: resumes that sent frames again".into(),
                u64::from(resent > 0),
            );
        });
        Ok(())
    }

    async fn call(&mut self, peer: usize) -> OpResult {
        self.calls += 1;
        let call_id = format!("soak-{}-{}", self.idx, self.calls);
        let started = Instant::now();
        let request = Request::Call {
            call_id: call_id.clone(),
            callee: self.sh.users[peer].clone(),
            meet_obj: String::new(),
            usr_ext_dat: String::new(),
        };
        let id = self.send_request(Timed::Call, request).await?;
        let (mut replied, mut accepted) = (false, false);
        let deadline = Instant::now() + STEP_TIMEOUT;
        while !(replied && accepted) {
            match self.step(None, deadline - Instant::now()).await {
                Step::Reply(reply) if reply.re == id && reply.code != 0 => return Err(None),
                Step::Reply(reply) if reply.re == id => replied = true,
                Step::CallAccepted(accepted_id) if accepted_id == call_id => {
                    self.sh.record(Timed::CallSetup, started.elapsed());
                    accepted = true;
                }
                Step::CallAccepted(other) => {
                    self.error(format!("call_accepted for call {other}, not {call_id}"));
                }
                Step::Closed(why) => Err(format!("during call setup: {why}"))?,
                Step::Timeout => {
                    let (callee, t) = (&self.sh.users[peer], STEP_TIMEOUT);
                    let state = format!("replied {replied}, accepted {accepted} after {t:?}");
                    Err(format!("call {call_id} to {callee}: {state}"))?
                }
                _ => {}
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
}

/// Sends request `id` on a new connection and reads its reply (binary frames skipped).
async fn reply_on(conn: &mut Conn, id: u64, request: Request) -> Result<Reply, String> {
    let text = encode(&ClientFrame { id, request });
    conn.try_send(Message::text(text)).await?;
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    loop {
        let incoming = conn.read(deadline, STEP_TIMEOUT).await;
        match incoming.map_err(|e| e.to_string())? {
            Incoming::Frame(ServerFrame::Reply(reply)) if reply.re == id => return Ok(reply),
            Incoming::Frame(other) => return Err(format!("unexpected {other:?} before the reply")),
            Incoming::Binary(_) => {}
        }
    }
}

/// A client's life: log in (at most `--login-in-flight` at a time), then answer what comes
/// and run the operations it is given, until the scheduler is gone; then log out.
pub async fn client_main(
    mut client: Client,
    mut rx: mpsc::Receiver<Op>,
    gate: Arc<Semaphore>,
    ready: mpsc::UnboundedSender<()>,
) {
    let permit = gate.acquire().await;
    let mut alive = client.login("login").await;
    drop(permit);
    let dead = |client: &Client| client.sh.state[client.idx].store(DEAD, Release);
    if !alive {
        dead(&client);
    }
    let _ = ready.send(());
    while alive {
        alive = match client.step(Some(&mut rx), STEP_TIMEOUT * 360).await {
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
                client.login("could not log in again").await
            }
            Step::CallAccepted(call_id) => {
                client.error(format!("call_accepted for call {call_id} while idle"));
                true
            }
            _ => true,
        };
    }
    dead(&client);
}
