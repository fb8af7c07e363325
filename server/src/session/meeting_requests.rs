//! The meeting requests that need both the durable store and the live rooms: create, destroy
//! and list meetings, and enter one's room. The other room requests go straight to
//! [`Rooms`](crate::services::rooms::Rooms).

use crvideo_proto::{ErrorCode, MeetingList, Reply};

use super::Session;
use crate::directory::handle::SessionHandle;
use crate::directory::outbound::Stop;
use crate::services::meetings;
use crate::services::rooms::{EnterError, Lookup};

/// Store lookups an enter tries while meetings keep being destroyed under it.
const ENTER_TRIES: usize = 8;

impl Session {
    /// Creates a meeting of `me`'s tenant, within the configured caps.
    pub(crate) async fn create_meeting(
        &self,
        re: u64,
        me: &SessionHandle,
        subject: String,
        with_password: bool,
    ) -> Option<Stop> {
        let limits = &self.shared.config.limits;
        let caps = meetings::Caps {
            per_user: limits.max_meetings_per_user,
            per_tenant: limits.max_meetings_per_tenant,
        };
        let (tenant, user) = (me.tenant(), me.user_id());
        let created = meetings::create(
            &self.shared.store,
            caps,
            tenant,
            user,
            subject,
            with_password,
        )
        .await;
        self.reply(Reply::from_result(re, created))
    }

    /// Destroys a meeting `me` created; a live room stops first: its members hear it before
    /// this reply.
    pub(crate) async fn destroy_meeting(
        &self,
        re: u64,
        me: &SessionHandle,
        meet_id: i32,
    ) -> Option<Stop> {
        let shared = &self.shared;
        let tenant = me.tenant();
        let destroyed = meetings::destroy(&shared.store, tenant, me.user_id(), meet_id).await;
        if destroyed.is_ok() {
            shared
                .rooms
                .meeting_destroyed(&*shared.directory, tenant, meet_id);
            // Its room may live on another node.
            if let Some(node) = &shared.cluster {
                node.meeting_destroyed(tenant, meet_id);
            }
        }
        self.reply(Reply::from_result(re, destroyed))
    }

    /// The meetings of `me`'s tenant, each with its room's member count.
    pub(crate) async fn get_meetings(&self, re: u64, me: &SessionHandle) -> Option<Stop> {
        let tenant = me.tenant();
        let max = self.shared.config.limits.max_meetings_per_tenant;
        let listed = meetings::list(&self.shared.store, tenant, max).await;
        // In a cluster, rooms on other nodes count too (as their homes recorded them).
        let elsewhere = match (&self.shared.cluster, &listed) {
            (Some(node), Ok(_)) => node.room_counts(tenant).await,
            _ => Default::default(),
        };
        let listed = listed.map(|mut meetings| {
            for m in &mut meetings {
                let here = self.shared.rooms.member_count(tenant, m.id);
                let count = match here {
                    0 => elsewhere.get(&m.id).copied().unwrap_or(0),
                    here => here,
                };
                m.member_count = count.try_into().unwrap_or(i32::MAX);
            }
            MeetingList { meetings }
        });
        self.reply(Reply::from_result(re, listed))
    }

    /// Looks the meeting up in the store, then enters its room (again if a meeting was
    /// destroyed meanwhile: the lookup may be out of date).
    pub(crate) async fn enter_meeting(
        &self,
        re: u64,
        me: &SessionHandle,
        meet_id: i32,
        pswd: &str,
    ) -> Option<Stop> {
        let shared = &self.shared;
        for _ in 0..ENTER_TRIES {
            let destroyed = shared.rooms.destroyed();
            let row = match meetings::get(&shared.store, me.tenant(), meet_id).await {
                Ok(row) => row,
                Err(code) => return self.refuse(re, code),
            };
            let lookup = Lookup {
                meet_id,
                row,
                destroyed,
            };
            let mut stop = None;
            let entered = shared
                .rooms
                .enter(&*shared.directory, me, lookup, pswd, |state| {
                    stop = self.reply(Reply::ok(re, state))
                });
            match entered {
                Ok(()) => return stop,
                Err(EnterError::Refused(code)) => return self.refuse(re, code),
                Err(EnterError::Stale) => continue,
            }
        }
        self.refuse(re, ErrorCode::ServerException)
    }
}
