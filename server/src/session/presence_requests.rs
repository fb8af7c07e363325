//! Presence requests: DND, the status list, and status subscriptions. The state and the
//! fan-out live in the [`Directory`](crate::directory::Directory).

use crvideo_proto::{ErrorCode, Reply, UserStatusList};

use crate::directory::handle::SessionHandle;
use crate::directory::outbound::Stop;
use crate::session::Session;

impl Session {
    pub(crate) fn set_dnd(&mut self, re: u64, handle: &SessionHandle, dnd: i32) -> Option<Stop> {
        let mut stop = None;
        let applied = self
            .shared
            .directory
            .set_dnd(handle, dnd, &mut || stop = self.reply(Reply::ok(re, ())));
        if applied {
            // DND off may make an agent free for customers.
            self.shared.queues.reassign(handle.tenant());
            stop
        } else {
            // Replaced by a relogin: this session is being kicked.
            self.reply(Reply::err(re, ErrorCode::NotLogin))
        }
    }

    pub(crate) fn get_user_status(&mut self, re: u64, handle: &SessionHandle) -> Option<Stop> {
        let users = self.shared.directory.statuses(handle.tenant());
        self.reply(Reply::ok(re, UserStatusList { users }))
    }

    pub(crate) fn subscribe_status(&mut self, re: u64, handle: &SessionHandle) -> Option<Stop> {
        let mut stop = None;
        let subscribed = self
            .shared
            .directory
            .subscribe(handle, &mut || stop = self.reply(Reply::ok(re, ())));
        if subscribed {
            stop
        } else {
            self.reply(Reply::err(re, ErrorCode::NotLogin))
        }
    }

    pub(crate) fn unsubscribe_status(&mut self, re: u64, handle: &SessionHandle) -> Option<Stop> {
        let mut stop = None;
        self.shared
            .directory
            .unsubscribe(handle, &mut || stop = self.reply(Reply::ok(re, ())));
        stop
    }
}
