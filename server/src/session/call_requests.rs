//! Call and invitation requests of a session; the state machine is in [`crate::services::calls`].

use std::sync::Arc;
use std::time::Duration;

use crvideo_proto::{Reply, Request};

use crate::directory::handle::SessionHandle;
use crate::directory::outbound::Stop;
use crate::services::calls::{Kind, Placement};
use crate::session::Session;

impl Session {
    pub(crate) fn call_request(
        &mut self,
        re: u64,
        handle: &SessionHandle,
        request: Request,
    ) -> Option<Stop> {
        let shared = self.shared.clone();
        let (calls, directory) = (&shared.calls, &*shared.directory);
        let mut stop = None;
        let ack = || stop = self.reply(Reply::ok(re, ()));
        let result = match request {
            Request::Call {
                call_id,
                callee,
                meet_obj,
                usr_ext_dat,
            } => self.place(
                handle,
                Placement {
                    kind: Kind::Call,
                    id: call_id,
                    callee,
                    meet_obj,
                    usr_ext_dat,
                },
                ack,
            ),
            Request::Invite {
                invite_id,
                invitee,
                meet_obj,
            } => self.place(
                handle,
                Placement {
                    kind: Kind::Invite,
                    id: invite_id,
                    callee: invitee,
                    meet_obj,
                    usr_ext_dat: String::new(),
                },
                ack,
            ),
            Request::AcceptCall {
                call_id,
                meet_obj,
                usr_ext_dat,
            } => calls.accept(handle, &call_id, meet_obj, usr_ext_dat, ack),
            Request::RejectCall {
                call_id,
                usr_ext_dat,
            } => calls.reject(directory, handle, &call_id, usr_ext_dat, ack),
            Request::HangupCall {
                call_id,
                usr_ext_dat,
            } => calls.hang_up(directory, handle, &call_id, usr_ext_dat, ack),
            Request::CancelInvite { invite_id } => {
                calls.cancel_invite(directory, handle, &invite_id, ack)
            }
            other => unreachable!("not a call request: {}", other.op()),
        };
        match result {
            Ok(()) => stop,
            Err(code) => self.reply(Reply::err(re, code)),
        }
    }

    fn place(
        &self,
        handle: &SessionHandle,
        placement: Placement,
        ack: impl FnOnce(),
    ) -> Result<(), crvideo_proto::ErrorCode> {
        let shared = &self.shared;
        let tenant = handle.tenant();
        let timer_shared = Arc::clone(shared);
        let timer_tenant = handle.tenant_arc();
        shared.calls.place(
            &*shared.directory,
            handle,
            placement,
            |user| shared.is_known_user(tenant, user),
            move |id, after: Duration| {
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    let directory = &*timer_shared.directory;
                    timer_shared.calls.no_answer(directory, timer_tenant, &id);
                })
                .abort_handle()
            },
            ack,
        )
    }
}
