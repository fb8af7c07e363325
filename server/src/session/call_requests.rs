//! Placing a call or an invitation: what the session adds to
//! [`Calls::place`](crate::services::calls::Calls::place) — whether the callee ever existed
//! (for `ERR_USER_NOT_FOUND`), and the timer that ends a call nobody answers. The other call
//! requests go straight to [`Calls`](crate::services::calls::Calls).

use std::sync::Arc;
use std::time::Duration;

use crvideo_proto::ErrorCode;

use super::Session;
use crate::directory::handle::SessionHandle;
use crate::services::calls::Placement;

impl Session {
    /// Places the call or invitation `placement` from `caller`: `ack` (the reply), then the
    /// callee rings until it answers or `call_timeout_secs` pass.
    pub(crate) fn place(
        &self,
        caller: &SessionHandle,
        placement: Placement,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        let shared = &self.shared;
        let tenant = caller.tenant();
        let timer_shared = Arc::clone(shared);
        let timer_tenant = caller.tenant_arc();
        shared.calls.place(
            &*shared.directory,
            caller,
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
