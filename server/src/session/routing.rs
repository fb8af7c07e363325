//! The requests of one session. A text frame is checked (nesting, JSON, rate), then routed,
//! once: by its kind and the session's phase, in the one `match` of [`Session::route`], to
//! the typed method that serves it — a service's (the directory, calls, queues, relay,
//! rooms) or the session's own (login, resume, meetings, call placement). Binary frames are
//! in [`super::relay_requests`].

use crvideo_proto::{ClientFrame, ErrorCode, Reply, Request, UserStatusList};
use serde::de::IgnoredAny;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tracing::{debug, warn};

use super::json_depth::json_depth_exceeds;
use super::relay_requests::one_way;
use super::Phase::{AwaitHello, AwaitLogin, LoggedIn};
use super::Session;
use crate::auth::unix_now;
use crate::directory::handle::SessionHandle;
use crate::directory::outbound::Stop;
use crate::services::calls::{Kind, Placement};
use crate::services::relay::Offer;

impl Session {
    /// Handles one text frame. `Some(stop)` ends the session.
    pub(crate) async fn on_text(&mut self, text: &str) -> Option<Stop> {
        let max_depth = self.shared.config.limits.max_json_depth;
        if json_depth_exceeds(text, max_depth) {
            warn!(
                peer = %self.peer(),
                session = self.id(),
                "closing: JSON nested deeper than {max_depth} levels"
            );
            return Some(Stop::close(CloseCode::Policy, "JSON nested too deeply"));
        }
        let frame: ClientFrame = match crvideo_proto::decode(text) {
            Ok(frame) => frame,
            Err(e) => {
                // The error text may quote values (a password of the wrong type): log only
                // where it went wrong.
                let (code, what) = if serde_json::from_str::<IgnoredAny>(text).is_err() {
                    (CloseCode::Invalid, "invalid JSON")
                } else {
                    (CloseCode::Policy, "not a known request")
                };
                warn!(
                    peer = %self.peer(),
                    session = self.id(),
                    "closing: {what} ({:?} error at column {})",
                    e.classify(),
                    e.column()
                );
                return Some(Stop::close(code, what));
            }
        };
        let re = frame.id;
        // One-way messages (flow control, acknowledgements) are not limited.
        if re != 0 && !self.requests.take() {
            debug!(
                peer = %self.peer(),
                session = self.id(),
                "{} (id {re}) refused: over the request rate limit",
                frame.request.op()
            );
            return self.refuse(re, ErrorCode::TooFrequent);
        }
        if self.forwarded(&frame.request, text).await {
            return None;
        }
        self.route(re, frame.request).await
    }

    /// Serves a request another cluster node forwarded (see [`super::forwarding`]): as
    /// [`Session::on_text`], without the checks the receiving node made.
    pub(crate) async fn on_forwarded(&mut self, text: &str) -> Option<Stop> {
        let frame: ClientFrame = crvideo_proto::decode(text).ok()?;
        // Only what a node forwards: a request about a call or transfer held here.
        if !super::forwarding::is_forwardable(&frame.request) {
            warn!(
                session = self.id(),
                "a forwarded {} ignored: not a request nodes forward",
                frame.request.op()
            );
            return None;
        }
        // Entering a room whose home is yet another node: on to it.
        if let (Some(node), super::Phase::LoggedIn(me)) = (&self.shared.cluster, &self.phase) {
            if matches!(frame.request, Request::EnterMeeting { .. })
                && (self.forwarded_to_room(node, me, &frame.request, text, false)).await
            {
                return None;
            }
        }
        self.route(frame.id, frame.request).await
    }

    /// Serves request `re`: what the session's phase allows goes to its typed method.
    async fn route(&mut self, re: u64, request: Request) -> Option<Stop> {
        let op = request.op();
        let shared = self.shared.clone();
        let dir = &*shared.directory;
        let (calls, queues, relay, rooms) =
            (&shared.calls, &shared.queues, &shared.relay, &shared.rooms);
        match (request, self.phase.clone()) {
            // Not logged in: hello first, then login (or resume).
            (Request::Hello { version, agent }, AwaitHello) => self.hello(re, version, &agent),
            (Request::Login(_) | Request::Resume { .. }, AwaitHello) => {
                self.logging_in();
                self.hello_expected(op)
            }
            (_, AwaitHello) => self.hello_expected(op),
            (Request::Hello { .. }, _) => self.refuse(re, ErrorCode::ParamErr),
            (Request::Login(login), _) => self.login(re, login).await,
            (Request::Resume { token, received }, AwaitLogin) => {
                self.resume(re, &token, received).await
            }
            (_, AwaitLogin) => self.refuse(re, ErrorCode::NotLogin),

            // The session.
            (Request::Logout, LoggedIn(_)) => self.logout(re),
            (Request::EnableResume { window_ms }, LoggedIn(_)) => self.enable_resume(re, window_ms),
            // Only right after hello, on a new connection.
            (Request::Resume { .. }, LoggedIn(_)) => self.refuse(re, ErrorCode::LoginStateError),

            // Presence.
            (Request::SetDnd { dnd }, LoggedIn(me)) => self.acked(re, |ack| {
                if !dir.set_dnd(&me, dnd, ack) {
                    // Replaced by a relogin: this session is being kicked.
                    return Err(ErrorCode::NotLogin);
                }
                // DND off may make an agent free for customers.
                queues.reassign(me.tenant());
                Ok(())
            }),
            (Request::GetUserStatus, LoggedIn(me)) => {
                let users = dir.statuses(me.tenant());
                self.reply(Reply::ok(re, UserStatusList { users }))
            }
            (Request::SubscribeStatus, LoggedIn(me)) => {
                self.acked(re, |ack| match dir.subscribe(&me, ack) {
                    true => Ok(()),
                    false => Err(ErrorCode::NotLogin),
                })
            }
            (Request::UnsubscribeStatus, LoggedIn(me)) => self.acked(re, |ack| {
                dir.unsubscribe(&me, ack);
                Ok(())
            }),

            // Meetings and their rooms.
            (
                Request::CreateMeeting {
                    subject,
                    with_password,
                },
                LoggedIn(me),
            ) => self.create_meeting(re, &me, subject, with_password).await,
            (Request::DestroyMeeting { meet_id }, LoggedIn(me)) => {
                self.destroy_meeting(re, &me, meet_id).await
            }
            (Request::GetMeetings, LoggedIn(me)) => self.get_meetings(re, &me).await,
            (Request::EnterMeeting { meet_id, pswd }, LoggedIn(me)) => {
                self.enter_meeting(re, &me, meet_id, &pswd).await
            }
            (Request::ExitMeeting, LoggedIn(me)) => self.acked(re, |ack| rooms.exit(dir, &me, ack)),
            (Request::StopMeeting, LoggedIn(me)) => self.acked(re, |ack| rooms.stop(dir, &me, ack)),
            (
                Request::SetMedia {
                    user_id,
                    kind,
                    status,
                },
                LoggedIn(me),
            ) => self.acked(re, |ack| rooms.set_media(&me, &user_id, kind, status, ack)),
            (Request::SendIm { text, to }, LoggedIn(me)) => {
                let now = unix_now() as i64;
                self.acked_with(re, |ack| rooms.send_im(&me, text, &to, now, ack))
            }
            (Request::StartScreenShare, LoggedIn(me)) => {
                self.acked(re, |ack| rooms.start_screen_share(&me, ack))
            }
            (Request::StopScreenShare, LoggedIn(me)) => {
                self.acked(re, |ack| rooms.stop_screen_share(&me, ack))
            }
            (Request::StartMedia { name }, LoggedIn(me)) => {
                self.acked(re, |ack| rooms.start_media(&me, name, ack))
            }
            (Request::PauseMedia { pause }, LoggedIn(me)) => {
                self.acked(re, |ack| rooms.pause_media(&me, pause, ack))
            }
            (Request::SetMediaPos { pos_ms }, LoggedIn(me)) => {
                self.acked(re, |ack| rooms.set_media_pos(&me, pos_ms, ack))
            }
            (Request::StopMedia { reason }, LoggedIn(me)) => {
                self.acked(re, |ack| rooms.stop_media(&me, reason, ack))
            }
            (Request::SetCtrlRight { user_id, give }, LoggedIn(me)) => {
                self.acked(re, |ack| rooms.set_ctrl_right(&me, user_id, give, ack))
            }
            (Request::SwitchToPage { main_page, page_id }, LoggedIn(me)) => {
                self.acked(re, |ack| rooms.switch_to_page(&me, main_page, page_id, ack))
            }
            (Request::SetVideoWallMode { mode }, LoggedIn(me)) => {
                self.acked(re, |ack| rooms.set_video_wall_mode(&me, mode, ack))
            }
            (Request::SetMainVideo { user_id }, LoggedIn(me)) => {
                self.acked(re, |ack| rooms.set_main_video(&me, user_id, ack))
            }
            (Request::CreateBoard { board }, LoggedIn(me)) => {
                self.acked(re, |ack| rooms.create_board(&me, board, ack))
            }
            (Request::CloseBoard { board_id }, LoggedIn(me)) => {
                self.acked(re, |ack| rooms.close_board(&me, board_id, ack))
            }
            (
                Request::SetBoardElement {
                    board_id,
                    page_no,
                    element,
                    modify,
                },
                LoggedIn(me),
            ) => self.acked(re, |ack| {
                rooms.set_board_element(&me, board_id, page_no, element, modify, ack)
            }),
            (
                Request::DelBoardElements {
                    board_id,
                    page_no,
                    element_ids,
                },
                LoggedIn(me),
            ) => self.acked(re, |ack| {
                rooms.del_board_elements(&me, board_id, page_no, element_ids, ack)
            }),
            (
                Request::SetMouseHotSpot {
                    board_id,
                    page_no,
                    x,
                    y,
                },
                LoggedIn(me),
            ) => self.acked(re, |ack| {
                rooms.set_mouse_hot_spot(&me, board_id, page_no, x, y, ack)
            }),

            (
                Request::SetBoardBkImage {
                    board_id,
                    page_no,
                    img_id,
                },
                LoggedIn(me),
            ) => self.acked(re, |ack| {
                if !img_id.is_empty() && !shared.netdisk.exists(me.tenant(), &img_id) {
                    return Err(ErrorCode::NetDiskFileIdInvalid);
                }
                rooms.set_board_bk_image(&me, board_id, page_no, img_id, ack)
            }),

            // The net disk (file bytes come as binary frames).
            (Request::NetdiskSummary, LoggedIn(me)) => {
                self.reply(Reply::ok(re, shared.netdisk.summary(&me)))
            }
            (Request::NetdiskList, LoggedIn(me)) => {
                self.reply(Reply::ok(re, shared.netdisk.list(&me)))
            }
            (Request::NetdiskDelete { file_id }, LoggedIn(me)) => {
                let deleted = shared.netdisk.delete(&me, &file_id).await;
                self.reply(Reply::from_result(re, deleted))
            }
            (
                Request::NetdiskUpload {
                    file_id,
                    org_name,
                    size,
                },
                LoggedIn(me),
            ) => {
                let now = unix_now() as i64;
                let started = shared.netdisk.upload(&me, &file_id, &org_name, size, now);
                self.reply(Reply::from_result(re, started))
            }
            (Request::NetdiskUploadEnd { file_id, md5 }, LoggedIn(me)) => {
                self.relayed(re, &me, op, |ack| {
                    one_way(shared.netdisk.end(&me, &file_id, md5), ack)
                })
            }
            (Request::NetdiskDownload { file_id, offset }, LoggedIn(me)) => {
                let started = shared.netdisk.download(&me, &file_id, offset);
                self.reply(Reply::from_result(re, started))
            }
            (Request::NetdiskCredit { file_id, upto }, LoggedIn(me)) => {
                self.relayed(re, &me, op, |ack| {
                    one_way(shared.netdisk.credit(&me, &file_id, upto), ack)
                })
            }
            (Request::NetdiskCancel { file_id }, LoggedIn(me)) => self.acked(re, |ack| {
                shared.netdisk.cancel(&me, &file_id);
                ack();
                Ok(())
            }),

            (Request::SetVideoDevs(cams), LoggedIn(me)) => {
                self.acked(re, |ack| rooms.set_video_devs(&me, cams, ack))
            }
            (Request::SetWatchVideos { videos }, LoggedIn(me)) => {
                self.acked(re, |ack| rooms.set_watch_videos(&me, videos, ack))
            }
            (Request::RequestKeyFrame { user_id, video_id }, LoggedIn(me)) => {
                self.acked(re, |ack| {
                    rooms.request_key_frame(&me, &user_id, video_id)?;
                    ack();
                    Ok(())
                })
            }

            // Calls and invitations.
            (
                Request::Call {
                    call_id,
                    callee,
                    meet_obj,
                    usr_ext_dat,
                },
                LoggedIn(me),
            ) => self.acked(re, |ack| {
                self.within_limits(re, &me, op, &usr_ext_dat, &meet_obj)?;
                let call = Placement {
                    kind: Kind::Call,
                    id: call_id,
                    callee,
                    meet_obj,
                    usr_ext_dat,
                };
                self.place(&me, call, ack)
            }),
            (
                Request::Invite {
                    invite_id,
                    invitee,
                    meet_obj,
                },
                LoggedIn(me),
            ) => self.acked(re, |ack| {
                self.within_limits(re, &me, op, "", &meet_obj)?;
                let invitation = Placement {
                    kind: Kind::Invite,
                    id: invite_id,
                    callee: invitee,
                    meet_obj,
                    usr_ext_dat: String::new(),
                };
                self.place(&me, invitation, ack)
            }),
            (
                Request::AcceptCall {
                    call_id,
                    meet_obj,
                    usr_ext_dat,
                },
                LoggedIn(me),
            ) => self.acked(re, |ack| {
                self.within_limits(re, &me, op, &usr_ext_dat, &meet_obj)?;
                calls.accept(&me, &call_id, meet_obj, usr_ext_dat, ack)
            }),
            (
                Request::RejectCall {
                    call_id,
                    usr_ext_dat,
                },
                LoggedIn(me),
            ) => self.acked(re, |ack| {
                self.within_limits(re, &me, op, &usr_ext_dat, "")?;
                calls.reject(dir, &me, &call_id, usr_ext_dat, ack)
            }),
            (
                Request::HangupCall {
                    call_id,
                    usr_ext_dat,
                },
                LoggedIn(me),
            ) => self.acked(re, |ack| {
                self.within_limits(re, &me, op, &usr_ext_dat, "")?;
                calls.hang_up(dir, &me, &call_id, usr_ext_dat, ack)
            }),
            (Request::CancelInvite { invite_id }, LoggedIn(me)) => {
                self.acked(re, |ack| calls.cancel_invite(dir, &me, &invite_id, ack))
            }

            // The transparent channel (commands themselves come as binary frames).
            (
                Request::TransferOffer {
                    transfer_id,
                    target,
                    kind,
                    name,
                    total,
                },
                LoggedIn(me),
            ) => {
                let offer = Offer {
                    transfer_id,
                    target,
                    kind,
                    name,
                    total,
                };
                self.relayed(re, &me, op, |ack| relay.offer(dir, &me, offer, ack))
            }
            (Request::TransferComplete { transfer_id }, LoggedIn(me)) => {
                self.relayed(re, &me, op, |ack| relay.complete(&me, &transfer_id, ack))
            }
            (Request::TransferCancel { transfer_id }, LoggedIn(me)) => {
                self.relayed(re, &me, op, |ack| relay.cancel(&me, &transfer_id, ack))
            }
            (
                Request::TransferCredit {
                    transfer_id,
                    bytes,
                    received,
                },
                LoggedIn(me),
            ) => self.relayed(re, &me, op, |ack| {
                one_way(relay.credit(&me, &transfer_id, bytes, received), ack)
            }),
            (
                Request::TransferEnd {
                    transfer_id,
                    digest,
                },
                LoggedIn(me),
            ) => self.relayed(re, &me, op, |ack| {
                one_way(relay.end(&me, &transfer_id, digest), ack)
            }),
            (Request::TransferAbort { transfer_id, code }, LoggedIn(me)) => {
                self.relayed(re, &me, op, |ack| {
                    one_way(relay.abort(&me, &transfer_id, code), ack)
                })
            }
            (Request::CmdAck { relay_id }, LoggedIn(me)) => self.relayed(re, &me, op, |ack| {
                // A command another cluster node relayed is acknowledged there.
                let owner = shared.cluster.as_ref().and_then(|node| {
                    let owner = node.owner_of(relay_id)?;
                    node.forward_cmd_ack(&owner, &me, relay_id);
                    Some(())
                });
                one_way(owner.is_some() || relay.cmd_ack(&me, relay_id), ack)
            }),

            // Call-center queues.
            (Request::QueueInit, LoggedIn(me)) => {
                self.responded(re, |respond| queues.queue_init(&me, respond))
            }
            (Request::QueueRefresh, LoggedIn(me)) => {
                self.responded(re, |respond| queues.queue_refresh(&me, respond))
            }
            (
                Request::StartQueuing {
                    que_id,
                    usr_ext_dat,
                },
                LoggedIn(me),
            ) => match self.within_limits(re, &me, op, &usr_ext_dat, "") {
                Ok(()) => self.responded(re, |respond| {
                    queues.start_queuing(&me, que_id, usr_ext_dat, respond)
                }),
                Err(code) => self.refuse(re, code),
            },
            (Request::StopQueuing, LoggedIn(me)) => {
                self.responded(re, |respond| queues.stop_queuing(&me, respond))
            }
            (Request::StartService { que_id, priority }, LoggedIn(me)) => self
                .responded(re, |respond| {
                    queues.start_service(&me, que_id, priority, respond)
                }),
            (Request::StopService { que_id }, LoggedIn(me)) => {
                self.responded(re, |respond| queues.stop_service(&me, que_id, respond))
            }
            (Request::ReqAssignUser, LoggedIn(me)) => {
                self.responded(re, |respond| queues.req_assign_user(&me, respond))
            }
            (Request::AcceptAssignUser { que_id, user_id }, LoggedIn(me)) => self
                .responded(re, |respond| {
                    queues.accept_assign_user(&me, que_id, &user_id, respond)
                }),
            (Request::RejectAssignUser { que_id, user_id }, LoggedIn(me)) => self
                .responded(re, |respond| {
                    queues.reject_assign_user(&me, que_id, &user_id, respond)
                }),
        }
    }

    /// A request other than `hello` came first: the session closes.
    fn hello_expected(&self, op: &str) -> Option<Stop> {
        warn!(
            peer = %self.peer(),
            session = self.id(),
            "closing: {op} before hello"
        );
        Some(Stop::close(CloseCode::Policy, "hello expected"))
    }

    /// `PARAM_ERR` if a request's free texts are longer than the configured
    /// `max_usr_ext_dat_bytes` / `max_meet_obj_bytes`.
    fn within_limits(
        &self,
        re: u64,
        me: &SessionHandle,
        op: &str,
        usr_ext_dat: &str,
        meet_obj: &str,
    ) -> Result<(), ErrorCode> {
        let limits = &self.shared.config.limits;
        if usr_ext_dat.len() <= limits.max_usr_ext_dat_bytes
            && meet_obj.len() <= limits.max_meet_obj_bytes
        {
            return Ok(());
        }
        debug!(
            session = self.id(),
            user = me.user_id(),
            "{op} (id {re}) refused: usr_ext_dat or meet_obj too long"
        );
        Err(ErrorCode::ParamErr)
    }
}
