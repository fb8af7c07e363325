//! The event queue between the engine and the app, and the thread that runs callbacks.
//!
//! The engine pushes [`Event`]s in the order things happen; one consumer delivers them to the
//! app's C callbacks: the `crvideo-dispatch` thread in `"thread"` mode, or the app's own
//! thread through `CRVideo_PollEvents` in `"poll"` mode. The queue is unbounded on purpose:
//! a slow callback must never stall networking, and events are never dropped; bulk data is
//! bounded separately by flow control.

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::ffi::{c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::ffi::callbacks::CRVideo_Callbacks;

/// Something the app is told about, in Rust form; one variant per callback.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    LoginSuccess {
        user_id: String,
        cookie: String,
    },
    LoginFail {
        code: i32,
        cookie: String,
    },
    LineOff {
        code: i32,
    },
    SetDNDStatusSuccess {
        cookie: String,
    },
    SetDNDStatusFail {
        code: i32,
        cookie: String,
    },
    GetUserStatusSuccess {
        json: String,
        cookie: String,
    },
    GetUserStatusFail {
        code: i32,
        cookie: String,
    },
    StartUserStatusNotifyRslt {
        code: i32,
        cookie: String,
    },
    NotifyUserStatus {
        json: String,
        cookie: String,
    },
    StopUserStatusNotifyRslt {
        code: i32,
        cookie: String,
    },
    CreateMeetingSuccess {
        json: String,
        cookie: String,
    },
    CreateMeetingFail {
        code: i32,
        cookie: String,
    },
    DestroyMeetingRslt {
        code: i32,
        cookie: String,
    },
    GetMeetingsSuccess {
        json: String,
        cookie: String,
    },
    GetMeetingsFail {
        code: i32,
        cookie: String,
    },
    CallSuccess {
        call_id: String,
        cookie: String,
    },
    CallFail {
        call_id: String,
        code: i32,
        cookie: String,
    },
    AcceptCallSuccess {
        call_id: String,
        cookie: String,
    },
    AcceptCallFail {
        call_id: String,
        code: i32,
        cookie: String,
    },
    RejectCallSuccess {
        call_id: String,
        cookie: String,
    },
    RejectCallFail {
        call_id: String,
        code: i32,
        cookie: String,
    },
    HangupCallSuccess {
        call_id: String,
        cookie: String,
    },
    HangupCallFail {
        call_id: String,
        code: i32,
        cookie: String,
    },
    ClientInviteRslt {
        invite_id: String,
        code: i32,
        cookie: String,
    },
    ClientCancelInviteRslt {
        invite_id: String,
        code: i32,
        cookie: String,
    },
    NotifyCallIn {
        call_id: String,
        meet_obj: String,
        caller_id: String,
        usr_ext_dat: String,
    },
    NotifyCallAccepted {
        call_id: String,
        meet_obj: String,
        usr_ext_dat: String,
    },
    NotifyCallRejected {
        call_id: String,
        code: i32,
        usr_ext_dat: String,
    },
    NotifyCallHungup {
        call_id: String,
        usr_ext_dat: String,
    },
    NotifyInviteStatus {
        invite_id: String,
        status: i32,
    },
    SendCmdRlst {
        task_id: String,
        code: i32,
        cookie: String,
    },
    SendBufferRlst {
        task_id: String,
        code: i32,
        cookie: String,
    },
    SendFileRlst {
        task_id: String,
        file_name: String,
        code: i32,
        cookie: String,
    },
    SendProgress {
        task_id: String,
        sent: i64,
        total: i64,
        cookie: String,
    },
    CancelSendRlst {
        task_id: String,
        code: i32,
        cookie: String,
    },
    NotifyCmdData {
        source: String,
        data: Vec<u8>,
    },
    NotifyBufferData {
        source: String,
        data: Vec<u8>,
    },
    NotifyFileData {
        source: String,
        tmp_file: String,
        org_name: String,
    },
    NotifyCancelSend {
        task_id: String,
    },
    InitQueueDatRslt {
        code: i32,
        cookie: String,
    },
    QueueStatusChanged {
        json: String,
    },
    QueuingInfoChanged {
        json: String,
    },
    StartQueuingRslt {
        code: i32,
        cookie: String,
    },
    StopQueuingRslt {
        code: i32,
        cookie: String,
    },
    StartServiceRslt {
        que_id: i32,
        code: i32,
        cookie: String,
    },
    StopServiceRslt {
        que_id: i32,
        code: i32,
        cookie: String,
    },
    ResponseAssignUserRslt {
        code: i32,
        cookie: String,
    },
    AutoAssignUser {
        json: String,
    },
    ReqAssignUserRslt {
        code: i32,
        json: String,
        cookie: String,
    },
    CancelAssignUser {
        que_id: i32,
        user_id: String,
    },
    EnterMeetingRslt {
        code: i32,
    },
    UserEnterMeeting {
        user_id: String,
    },
    UserLeftMeeting {
        user_id: String,
    },
    StopMeetingRslt {
        code: i32,
    },
    MeetingStopped,
    MeetingDropped,
    AudioStatusChanged {
        user_id: String,
        old: i32,
        new: i32,
    },
    VideoStatusChanged {
        user_id: String,
        old: i32,
        new: i32,
    },
    SendIMmsgRlst {
        task_id: String,
        code: i32,
        cookie: String,
    },
    NotifyIMmsg {
        from: String,
        text: String,
        send_time: i64,
    },
    StartScreenShareRslt {
        code: i32,
    },
    StopScreenShareRslt {
        code: i32,
    },
    NotifyScreenShareStarted,
    NotifyScreenShareStopped,
    NotifyGiveCtrlRight {
        oper: String,
        target: String,
    },
    NotifyReleaseCtrlRight {
        oper: String,
        target: String,
    },
    NotifySwitchToPage {
        main_page: i32,
        page_id: String,
    },
    NotifyVideoWallMode {
        mode: i32,
    },
    NotifyMainVideoChanged {
        oper: String,
        target: String,
    },
    NetStateChanged {
        level: i32,
    },
    NotifyInitBoards {
        boards_json: String,
    },
    NotifyInitBoardPageDat {
        board_id: String,
        page_no: i32,
        img_id: String,
        elements_json: String,
        oper: String,
    },
    NotifyCreateBoard {
        board_json: String,
        oper: String,
    },
    NotifyCloseBoard {
        board_id: String,
        oper: String,
    },
    NotifyAddBoardElement {
        board_id: String,
        page_no: i32,
        element_json: String,
        oper: String,
    },
    NotifyModifyBoardElement {
        board_id: String,
        page_no: i32,
        element_json: String,
        oper: String,
    },
    NotifyDelBoardElement {
        board_id: String,
        page_no: i32,
        element_ids: String,
        oper: String,
    },
    NotifyMouseHotSpot {
        board_id: String,
        x: i32,
        y: i32,
        oper: String,
    },
    Reconnecting,
    Reconnected,
    /// Several events from one outcome; queued as its members, in order.
    Batch(Vec<Event>),
}

impl Event {
    /// Payload bytes the event holds (received data waiting for the app).
    fn data_len(&self) -> usize {
        match self {
            Event::NotifyCmdData { data, .. } | Event::NotifyBufferData { data, .. } => data.len(),
            _ => 0,
        }
    }

    /// The outgoing transfer task this event reports on, if any (what [`Dispatcher::hold`]
    /// matches).
    fn outgoing_task(&self) -> Option<&str> {
        match self {
            Event::SendProgress { task_id, .. }
            | Event::SendBufferRlst { task_id, .. }
            | Event::SendFileRlst { task_id, .. }
            | Event::CancelSendRlst { task_id, .. } => Some(task_id),
            _ => None,
        }
    }
}

/// The app's `userData` pointer; the SDK only hands it back.
#[derive(Clone, Copy)]
pub struct UserData(pub *mut c_void);
// SAFETY: the pointer is opaque to the SDK; the app owns what it points to and receives it
// only on the dispatch thread (or its own polling thread).
unsafe impl Send for UserData {}

#[derive(Clone, Copy)]
struct Registered {
    table: CRVideo_Callbacks,
    user_data: UserData,
}

struct Queue {
    events: VecDeque<Event>,
    /// No more events will come; the consumer drains what is left, then stops.
    closed: bool,
    /// Events of tasks whose creating call has not returned yet (see [`Dispatcher::hold`]).
    held: HashMap<String, Vec<Event>>,
}

/// The event queue plus the registered callbacks.
pub struct Dispatcher {
    queue: Mutex<Queue>,
    ready: Condvar,
    callbacks: Mutex<Option<Registered>>,
    /// Bytes of received data (commands, buffers) queued and not yet handed to the app.
    undelivered_data: AtomicUsize,
    /// Woken when the app has consumed data (see [`Dispatcher::undelivered_data`]).
    pub data_consumed: tokio::sync::Notify,
}

/// Releases a task's held events when dropped (see [`Dispatcher::hold`]).
pub struct Held<'a> {
    dispatcher: &'a Dispatcher,
    task: String,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        // Under one lock, so that no newer event of the task can slip in between.
        let mut q = self.dispatcher.queue.lock();
        let parked = q.held.remove(&self.task).unwrap_or_default();
        if q.closed || parked.is_empty() {
            return;
        }
        for event in parked {
            self.dispatcher
                .undelivered_data
                .fetch_add(event.data_len(), Ordering::AcqRel);
            q.events.push_back(event);
        }
        drop(q);
        self.dispatcher.ready.notify_one();
    }
}

thread_local! {
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// True on a thread that is currently running one of the app's callbacks.
pub fn in_callback() -> bool {
    IN_CALLBACK.with(Cell::get)
}

impl Default for Dispatcher {
    fn default() -> Self {
        Dispatcher {
            queue: Mutex::new(Queue {
                events: VecDeque::new(),
                closed: false,
                held: HashMap::new(),
            }),
            ready: Condvar::new(),
            callbacks: Mutex::new(None),
            undelivered_data: AtomicUsize::new(0),
            data_consumed: tokio::sync::Notify::new(),
        }
    }
}

impl Dispatcher {
    /// Registers (replaces) the app's callbacks; takes effect from the next event.
    pub fn set_callbacks(&self, table: CRVideo_Callbacks, user_data: UserData) {
        *self.callbacks.lock() = Some(Registered { table, user_data });
    }

    /// Bytes of received data queued for the app and not yet delivered. The engine holds
    /// back flow-control credit while this is high, so a slow app slows its senders down
    /// instead of growing memory.
    pub fn undelivered_data(&self) -> usize {
        self.undelivered_data.load(Ordering::Acquire)
    }

    /// Queues an event for delivery. Ignored once the queue is closed.
    pub fn push(&self, event: Event) {
        if let Event::Batch(events) = event {
            return self.extend(events);
        }
        let mut q = self.queue.lock();
        if q.closed {
            tracing::debug!("event after close dropped");
            return;
        }
        if let Some(parked) = event.outgoing_task().and_then(|t| q.held.get_mut(t)) {
            parked.push(event);
            return;
        }
        self.undelivered_data
            .fetch_add(event.data_len(), Ordering::AcqRel);
        q.events.push_back(event);
        drop(q);
        self.ready.notify_one();
    }

    /// Holds back the events of outgoing transfer task `task` until the returned guard is
    /// dropped: a call that creates a task and takes long before returning its ID (the copy
    /// in `CRVideo_SendBuffer`) must not have the task's callbacks run before the app holds
    /// that ID. Other events flow meanwhile; the task's own keep their order.
    pub fn hold(&self, task: &str) -> Held<'_> {
        self.queue.lock().held.insert(task.to_owned(), Vec::new());
        Held {
            dispatcher: self,
            task: task.to_owned(),
        }
    }

    /// Queues several events, in order.
    pub fn extend(&self, events: impl IntoIterator<Item = Event>) {
        for event in events {
            self.push(event);
        }
    }

    /// Accepts no more events; the consumer still delivers those already queued.
    pub fn close(&self) {
        self.queue.lock().closed = true;
        self.ready.notify_all();
    }

    /// Accepts no more events and forgets those not yet delivered.
    pub fn close_and_discard(&self) {
        let mut q = self.queue.lock();
        q.closed = true;
        for event in q.events.drain(..) {
            self.undelivered_data
                .fetch_sub(event.data_len(), Ordering::AcqRel);
        }
        drop(q);
        self.ready.notify_all();
    }

    /// Runs callbacks until the queue is closed and empty (the dispatch thread's body).
    pub fn run_until_closed(&self) {
        while let Some(event) = self.next_event(None) {
            self.deliver(&event);
        }
    }

    /// Runs the callbacks of pending events, waiting up to `timeout` for the first one.
    /// Returns how many ran.
    pub fn poll(&self, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        let mut ran = 0;
        while let Some(event) = self.next_event(if ran == 0 {
            Some(deadline)
        } else {
            Some(Instant::now())
        }) {
            self.deliver(&event);
            ran += 1;
        }
        ran
    }

    /// The next event, waiting until one comes, the queue closes, or `deadline` passes.
    fn next_event(&self, deadline: Option<Instant>) -> Option<Event> {
        let mut q = self.queue.lock();
        loop {
            if let Some(event) = q.events.pop_front() {
                return Some(event);
            }
            if q.closed {
                return None;
            }
            match deadline {
                None => self.ready.wait(&mut q),
                Some(deadline) => {
                    if self.ready.wait_until(&mut q, deadline).timed_out() && q.events.is_empty() {
                        return None;
                    }
                }
            }
        }
    }

    /// Calls the app's callback for `event`, with no SDK lock held.
    fn deliver(&self, event: &Event) {
        let Some(registered) = *self.callbacks.lock() else {
            self.consumed(event);
            return;
        };
        IN_CALLBACK.with(|c| c.set(true));
        let result = catch_unwind(AssertUnwindSafe(|| {
            invoke(&registered.table, registered.user_data.0, event)
        }));
        IN_CALLBACK.with(|c| c.set(false));
        if result.is_err() {
            tracing::error!("panic while delivering an event");
        }
        self.consumed(event);
    }

    fn consumed(&self, event: &Event) {
        let len = event.data_len();
        if len > 0 {
            self.undelivered_data.fetch_sub(len, Ordering::AcqRel);
            self.data_consumed.notify_one();
        }
    }
}

/// A C string for a callback argument. Interior NUL bytes cannot be represented and are
/// removed (the server never sends them in IDs or JSON text).
fn c_str(s: &str) -> CString {
    CString::new(s).unwrap_or_else(|e| {
        let mut bytes = e.into_vec();
        bytes.retain(|&b| b != 0);
        CString::new(bytes).unwrap_or_default()
    })
}

/// Calls member `$member` of the table, if set, with `userData` and the arguments.
macro_rules! call {
    ($table:expr, $ud:expr, $member:ident $(, $arg:expr)*) => {
        if let Some(f) = $table.$member {
            f($ud $(, $arg)*)
        }
    };
}

/// Maps one event onto its member of the callback table.
fn invoke(cb: &CRVideo_Callbacks, ud: *mut c_void, event: &Event) {
    use Event::*;
    // SAFETY (all arms): the app registered these function pointers with the signatures
    // of the header; the C strings are temporaries that outlive each call.
    unsafe {
        match event {
            LoginSuccess { user_id, cookie } => call!(
                cb,
                ud,
                LoginSuccess,
                c_str(user_id).as_ptr(),
                c_str(cookie).as_ptr()
            ),
            LoginFail { code, cookie } => call!(cb, ud, LoginFail, *code, c_str(cookie).as_ptr()),
            LineOff { code } => call!(cb, ud, LineOff, *code),
            SetDNDStatusSuccess { cookie } => {
                call!(cb, ud, SetDNDStatusSuccess, c_str(cookie).as_ptr())
            }
            SetDNDStatusFail { code, cookie } => {
                call!(cb, ud, SetDNDStatusFail, *code, c_str(cookie).as_ptr())
            }
            GetUserStatusSuccess { json, cookie } => {
                call!(
                    cb,
                    ud,
                    GetUserStatusSuccess,
                    c_str(json).as_ptr(),
                    c_str(cookie).as_ptr()
                )
            }
            GetUserStatusFail { code, cookie } => {
                call!(cb, ud, GetUserStatusFail, *code, c_str(cookie).as_ptr())
            }
            StartUserStatusNotifyRslt { code, cookie } => {
                call!(
                    cb,
                    ud,
                    StartUserStatusNotifyRslt,
                    *code,
                    c_str(cookie).as_ptr()
                )
            }
            NotifyUserStatus { json, cookie } => {
                call!(
                    cb,
                    ud,
                    NotifyUserStatus,
                    c_str(json).as_ptr(),
                    c_str(cookie).as_ptr()
                )
            }
            StopUserStatusNotifyRslt { code, cookie } => {
                call!(
                    cb,
                    ud,
                    StopUserStatusNotifyRslt,
                    *code,
                    c_str(cookie).as_ptr()
                )
            }
            CreateMeetingSuccess { json, cookie } => {
                call!(
                    cb,
                    ud,
                    CreateMeetingSuccess,
                    c_str(json).as_ptr(),
                    c_str(cookie).as_ptr()
                )
            }
            CreateMeetingFail { code, cookie } => {
                call!(cb, ud, CreateMeetingFail, *code, c_str(cookie).as_ptr())
            }
            DestroyMeetingRslt { code, cookie } => {
                call!(cb, ud, DestroyMeetingRslt, *code, c_str(cookie).as_ptr())
            }
            GetMeetingsSuccess { json, cookie } => {
                call!(
                    cb,
                    ud,
                    GetMeetingsSuccess,
                    c_str(json).as_ptr(),
                    c_str(cookie).as_ptr()
                )
            }
            GetMeetingsFail { code, cookie } => {
                call!(cb, ud, GetMeetingsFail, *code, c_str(cookie).as_ptr())
            }
            CallSuccess { call_id, cookie } => call!(
                cb,
                ud,
                CallSuccess,
                c_str(call_id).as_ptr(),
                c_str(cookie).as_ptr()
            ),
            CallFail {
                call_id,
                code,
                cookie,
            } => {
                call!(
                    cb,
                    ud,
                    CallFail,
                    c_str(call_id).as_ptr(),
                    *code,
                    c_str(cookie).as_ptr()
                )
            }
            AcceptCallSuccess { call_id, cookie } => {
                call!(
                    cb,
                    ud,
                    AcceptCallSuccess,
                    c_str(call_id).as_ptr(),
                    c_str(cookie).as_ptr()
                )
            }
            AcceptCallFail {
                call_id,
                code,
                cookie,
            } => {
                call!(
                    cb,
                    ud,
                    AcceptCallFail,
                    c_str(call_id).as_ptr(),
                    *code,
                    c_str(cookie).as_ptr()
                )
            }
            RejectCallSuccess { call_id, cookie } => {
                call!(
                    cb,
                    ud,
                    RejectCallSuccess,
                    c_str(call_id).as_ptr(),
                    c_str(cookie).as_ptr()
                )
            }
            RejectCallFail {
                call_id,
                code,
                cookie,
            } => {
                call!(
                    cb,
                    ud,
                    RejectCallFail,
                    c_str(call_id).as_ptr(),
                    *code,
                    c_str(cookie).as_ptr()
                )
            }
            HangupCallSuccess { call_id, cookie } => {
                call!(
                    cb,
                    ud,
                    HangupCallSuccess,
                    c_str(call_id).as_ptr(),
                    c_str(cookie).as_ptr()
                )
            }
            HangupCallFail {
                call_id,
                code,
                cookie,
            } => {
                call!(
                    cb,
                    ud,
                    HangupCallFail,
                    c_str(call_id).as_ptr(),
                    *code,
                    c_str(cookie).as_ptr()
                )
            }
            ClientInviteRslt {
                invite_id,
                code,
                cookie,
            } => {
                call!(
                    cb,
                    ud,
                    ClientInviteRslt,
                    c_str(invite_id).as_ptr(),
                    *code,
                    c_str(cookie).as_ptr()
                )
            }
            ClientCancelInviteRslt {
                invite_id,
                code,
                cookie,
            } => {
                call!(
                    cb,
                    ud,
                    ClientCancelInviteRslt,
                    c_str(invite_id).as_ptr(),
                    *code,
                    c_str(cookie).as_ptr()
                )
            }
            NotifyCallIn {
                call_id,
                meet_obj,
                caller_id,
                usr_ext_dat,
            } => call!(
                cb,
                ud,
                NotifyCallIn,
                c_str(call_id).as_ptr(),
                c_str(meet_obj).as_ptr(),
                c_str(caller_id).as_ptr(),
                c_str(usr_ext_dat).as_ptr()
            ),
            NotifyCallAccepted {
                call_id,
                meet_obj,
                usr_ext_dat,
            } => call!(
                cb,
                ud,
                NotifyCallAccepted,
                c_str(call_id).as_ptr(),
                c_str(meet_obj).as_ptr(),
                c_str(usr_ext_dat).as_ptr()
            ),
            NotifyCallRejected {
                call_id,
                code,
                usr_ext_dat,
            } => {
                call!(
                    cb,
                    ud,
                    NotifyCallRejected,
                    c_str(call_id).as_ptr(),
                    *code,
                    c_str(usr_ext_dat).as_ptr()
                )
            }
            NotifyCallHungup {
                call_id,
                usr_ext_dat,
            } => {
                call!(
                    cb,
                    ud,
                    NotifyCallHungup,
                    c_str(call_id).as_ptr(),
                    c_str(usr_ext_dat).as_ptr()
                )
            }
            NotifyInviteStatus { invite_id, status } => {
                call!(
                    cb,
                    ud,
                    NotifyInviteStatus,
                    c_str(invite_id).as_ptr(),
                    *status
                )
            }
            SendCmdRlst {
                task_id,
                code,
                cookie,
            } => {
                call!(
                    cb,
                    ud,
                    SendCmdRlst,
                    c_str(task_id).as_ptr(),
                    *code,
                    c_str(cookie).as_ptr()
                )
            }
            SendBufferRlst {
                task_id,
                code,
                cookie,
            } => {
                call!(
                    cb,
                    ud,
                    SendBufferRlst,
                    c_str(task_id).as_ptr(),
                    *code,
                    c_str(cookie).as_ptr()
                )
            }
            SendFileRlst {
                task_id,
                file_name,
                code,
                cookie,
            } => call!(
                cb,
                ud,
                SendFileRlst,
                c_str(task_id).as_ptr(),
                c_str(file_name).as_ptr(),
                *code,
                c_str(cookie).as_ptr()
            ),
            SendProgress {
                task_id,
                sent,
                total,
                cookie,
            } => {
                call!(
                    cb,
                    ud,
                    SendProgress,
                    c_str(task_id).as_ptr(),
                    *sent,
                    *total,
                    c_str(cookie).as_ptr()
                )
            }
            CancelSendRlst {
                task_id,
                code,
                cookie,
            } => {
                call!(
                    cb,
                    ud,
                    CancelSendRlst,
                    c_str(task_id).as_ptr(),
                    *code,
                    c_str(cookie).as_ptr()
                )
            }
            NotifyCmdData { source, data } => {
                call!(
                    cb,
                    ud,
                    NotifyCmdData,
                    c_str(source).as_ptr(),
                    data.as_ptr(),
                    data.len()
                )
            }
            NotifyBufferData { source, data } => {
                call!(
                    cb,
                    ud,
                    NotifyBufferData,
                    c_str(source).as_ptr(),
                    data.as_ptr(),
                    data.len()
                )
            }
            NotifyFileData {
                source,
                tmp_file,
                org_name,
            } => call!(
                cb,
                ud,
                NotifyFileData,
                c_str(source).as_ptr(),
                c_str(tmp_file).as_ptr(),
                c_str(org_name).as_ptr()
            ),
            NotifyCancelSend { task_id } => {
                call!(cb, ud, NotifyCancelSend, c_str(task_id).as_ptr())
            }
            InitQueueDatRslt { code, cookie } => {
                call!(cb, ud, InitQueueDatRslt, *code, c_str(cookie).as_ptr())
            }
            QueueStatusChanged { json } => call!(cb, ud, QueueStatusChanged, c_str(json).as_ptr()),
            QueuingInfoChanged { json } => call!(cb, ud, QueuingInfoChanged, c_str(json).as_ptr()),
            StartQueuingRslt { code, cookie } => {
                call!(cb, ud, StartQueuingRslt, *code, c_str(cookie).as_ptr())
            }
            StopQueuingRslt { code, cookie } => {
                call!(cb, ud, StopQueuingRslt, *code, c_str(cookie).as_ptr())
            }
            StartServiceRslt {
                que_id,
                code,
                cookie,
            } => {
                call!(
                    cb,
                    ud,
                    StartServiceRslt,
                    *que_id,
                    *code,
                    c_str(cookie).as_ptr()
                )
            }
            StopServiceRslt {
                que_id,
                code,
                cookie,
            } => {
                call!(
                    cb,
                    ud,
                    StopServiceRslt,
                    *que_id,
                    *code,
                    c_str(cookie).as_ptr()
                )
            }
            ResponseAssignUserRslt { code, cookie } => {
                call!(
                    cb,
                    ud,
                    ResponseAssignUserRslt,
                    *code,
                    c_str(cookie).as_ptr()
                )
            }
            AutoAssignUser { json } => call!(cb, ud, AutoAssignUser, c_str(json).as_ptr()),
            ReqAssignUserRslt { code, json, cookie } => {
                call!(
                    cb,
                    ud,
                    ReqAssignUserRslt,
                    *code,
                    c_str(json).as_ptr(),
                    c_str(cookie).as_ptr()
                )
            }
            CancelAssignUser { que_id, user_id } => {
                call!(cb, ud, CancelAssignUser, *que_id, c_str(user_id).as_ptr())
            }
            EnterMeetingRslt { code } => call!(cb, ud, EnterMeetingRslt, *code),
            UserEnterMeeting { user_id } => {
                call!(cb, ud, UserEnterMeeting, c_str(user_id).as_ptr())
            }
            UserLeftMeeting { user_id } => call!(cb, ud, UserLeftMeeting, c_str(user_id).as_ptr()),
            StopMeetingRslt { code } => call!(cb, ud, StopMeetingRslt, *code),
            MeetingStopped => call!(cb, ud, MeetingStopped),
            MeetingDropped => call!(cb, ud, MeetingDropped),
            AudioStatusChanged { user_id, old, new } => {
                call!(
                    cb,
                    ud,
                    AudioStatusChanged,
                    c_str(user_id).as_ptr(),
                    *old,
                    *new
                )
            }
            VideoStatusChanged { user_id, old, new } => {
                call!(
                    cb,
                    ud,
                    VideoStatusChanged,
                    c_str(user_id).as_ptr(),
                    *old,
                    *new
                )
            }
            SendIMmsgRlst {
                task_id,
                code,
                cookie,
            } => {
                call!(
                    cb,
                    ud,
                    SendIMmsgRlst,
                    c_str(task_id).as_ptr(),
                    *code,
                    c_str(cookie).as_ptr()
                )
            }
            NotifyIMmsg {
                from,
                text,
                send_time,
            } => {
                call!(
                    cb,
                    ud,
                    NotifyIMmsg,
                    c_str(from).as_ptr(),
                    c_str(text).as_ptr(),
                    *send_time
                )
            }
            StartScreenShareRslt { code } => call!(cb, ud, StartScreenShareRslt, *code),
            StopScreenShareRslt { code } => call!(cb, ud, StopScreenShareRslt, *code),
            NotifyScreenShareStarted => call!(cb, ud, NotifyScreenShareStarted),
            NotifyScreenShareStopped => call!(cb, ud, NotifyScreenShareStopped),
            NotifyGiveCtrlRight { oper, target } => call!(
                cb,
                ud,
                NotifyGiveCtrlRight,
                c_str(oper).as_ptr(),
                c_str(target).as_ptr()
            ),
            NotifyReleaseCtrlRight { oper, target } => call!(
                cb,
                ud,
                NotifyReleaseCtrlRight,
                c_str(oper).as_ptr(),
                c_str(target).as_ptr()
            ),
            NotifySwitchToPage { main_page, page_id } => call!(
                cb,
                ud,
                NotifySwitchToPage,
                *main_page,
                c_str(page_id).as_ptr()
            ),
            NotifyVideoWallMode { mode } => call!(cb, ud, NotifyVideoWallMode, *mode),
            NotifyMainVideoChanged { oper, target } => call!(
                cb,
                ud,
                NotifyMainVideoChanged,
                c_str(oper).as_ptr(),
                c_str(target).as_ptr()
            ),
            NetStateChanged { level } => call!(cb, ud, NetStateChanged, *level),
            NotifyInitBoards { boards_json } => {
                call!(cb, ud, NotifyInitBoards, c_str(boards_json).as_ptr())
            }
            NotifyInitBoardPageDat {
                board_id,
                page_no,
                img_id,
                elements_json,
                oper,
            } => call!(
                cb,
                ud,
                NotifyInitBoardPageDat,
                c_str(board_id).as_ptr(),
                *page_no,
                c_str(img_id).as_ptr(),
                c_str(elements_json).as_ptr(),
                c_str(oper).as_ptr()
            ),
            NotifyCreateBoard { board_json, oper } => call!(
                cb,
                ud,
                NotifyCreateBoard,
                c_str(board_json).as_ptr(),
                c_str(oper).as_ptr()
            ),
            NotifyCloseBoard { board_id, oper } => call!(
                cb,
                ud,
                NotifyCloseBoard,
                c_str(board_id).as_ptr(),
                c_str(oper).as_ptr()
            ),
            NotifyAddBoardElement {
                board_id,
                page_no,
                element_json,
                oper,
            } => call!(
                cb,
                ud,
                NotifyAddBoardElement,
                c_str(board_id).as_ptr(),
                *page_no,
                c_str(element_json).as_ptr(),
                c_str(oper).as_ptr()
            ),
            NotifyModifyBoardElement {
                board_id,
                page_no,
                element_json,
                oper,
            } => call!(
                cb,
                ud,
                NotifyModifyBoardElement,
                c_str(board_id).as_ptr(),
                *page_no,
                c_str(element_json).as_ptr(),
                c_str(oper).as_ptr()
            ),
            NotifyDelBoardElement {
                board_id,
                page_no,
                element_ids,
                oper,
            } => call!(
                cb,
                ud,
                NotifyDelBoardElement,
                c_str(board_id).as_ptr(),
                *page_no,
                c_str(element_ids).as_ptr(),
                c_str(oper).as_ptr()
            ),
            NotifyMouseHotSpot {
                board_id,
                x,
                y,
                oper,
            } => call!(
                cb,
                ud,
                NotifyMouseHotSpot,
                c_str(board_id).as_ptr(),
                *x,
                *y,
                c_str(oper).as_ptr()
            ),
            Reconnecting => call!(cb, ud, Reconnecting),
            Reconnected => call!(cb, ud, Reconnected),
            // Split up by `push`: never queued.
            Batch(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn closed_queue_drains_then_stops() {
        let d = Dispatcher::default();
        d.push(Event::LineOff { code: 1 });
        d.push(Event::LineOff { code: 2 });
        d.close();
        d.push(Event::LineOff { code: 3 });
        assert_eq!(d.next_event(None), Some(Event::LineOff { code: 1 }));
        assert_eq!(d.next_event(None), Some(Event::LineOff { code: 2 }));
        assert_eq!(d.next_event(None), None);
    }

    #[test]
    fn a_held_task_waits_for_its_call_to_return_and_others_flow() {
        let d = Dispatcher::default();
        let rlst = |task: &str, code| Event::SendBufferRlst {
            task_id: task.into(),
            code,
            cookie: String::new(),
        };
        let progress = |task: &str| Event::SendProgress {
            task_id: task.into(),
            sent: 1,
            total: 2,
            cookie: String::new(),
        };
        let held = d.hold("t1");
        d.push(progress("t1"));
        d.push(rlst("t2", 0));
        d.push(rlst("t1", 7));
        d.close();
        // Only the other task's event is out while t1's call runs...
        assert_eq!(d.next_event(Some(Instant::now())), Some(rlst("t2", 0)));
        assert_eq!(d.next_event(Some(Instant::now())), None);
        // A closed queue takes no more, held events included.
        drop(held);
        assert_eq!(d.next_event(None), None);
        // Open: t1's come when its call returns, in their order.
        let d = Dispatcher::default();
        let held = d.hold("t1");
        d.push(progress("t1"));
        d.push(rlst("t1", 7));
        drop(held);
        assert_eq!(d.next_event(None), Some(progress("t1")));
        assert_eq!(d.next_event(None), Some(rlst("t1", 7)));
        // Released for good: later events go straight through.
        d.push(rlst("t1", 8));
        assert_eq!(d.next_event(None), Some(rlst("t1", 8)));
    }

    #[test]
    fn discard_forgets_pending_events() {
        let d = Dispatcher::default();
        d.push(Event::LineOff { code: 1 });
        d.close_and_discard();
        assert_eq!(d.next_event(None), None);
    }

    #[test]
    fn poll_times_out_when_idle_and_wakes_on_push() {
        let d = Arc::new(Dispatcher::default());
        assert_eq!(d.poll(Duration::from_millis(10)), 0);
        let d2 = d.clone();
        let t = std::thread::spawn(move || d2.poll(Duration::from_secs(30)));
        d.push(Event::LineOff { code: 7 });
        assert_eq!(t.join().unwrap(), 1);
    }
}
