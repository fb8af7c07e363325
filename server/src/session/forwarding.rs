//! In a cluster: requests about state another node holds are served there.
//!
//! A call, an invitation or a transfer lives on the node its creator is connected to (that
//! node's services hold it, with its timers). Creating one first records its owner in Redis
//! ([`crate::cluster::Node::claim_object`]), so before the other party can hear of it. A request
//! that names one this node does not hold is looked up there and, if another node owns it,
//! forwarded as it arrived; the owner serves it for the requester's mirror, so the reply and
//! the events it causes come back through the requester's own node. Anything not found
//! anywhere is served here, and refused as it would be on a single node.
//!
//! A meeting room lives on its home node (see `crate::cluster::rooms`): the room requests
//! of a member connected elsewhere are forwarded there, and so is entering a room whose
//! home is another node. A tenant's queue engine lives on one node too
//! (`crate::cluster::queues`): every queue request goes there.

use crvideo_proto::Request;

use super::Phase::LoggedIn;
use super::Session;
use crate::cluster::ObjectKind;

/// The object a request names, and whether the request creates it.
fn object_of(request: &Request) -> Option<(ObjectKind, &str, bool)> {
    use ObjectKind::{Call, Transfer};
    Some(match request {
        Request::Call { call_id, .. } => (Call, call_id, true),
        Request::Invite { invite_id, .. } => (Call, invite_id, true),
        Request::AcceptCall { call_id, .. }
        | Request::RejectCall { call_id, .. }
        | Request::HangupCall { call_id, .. } => (Call, call_id, false),
        Request::CancelInvite { invite_id } => (Call, invite_id, false),
        Request::TransferOffer { transfer_id, .. } => (Transfer, transfer_id, true),
        Request::TransferCredit { transfer_id, .. }
        | Request::TransferEnd { transfer_id, .. }
        | Request::TransferComplete { transfer_id }
        | Request::TransferAbort { transfer_id, .. }
        | Request::TransferCancel { transfer_id } => (Transfer, transfer_id, false),
        _ => return None,
    })
}

/// Whether `request` is about the room the session is in, or enters one.
fn is_room_request(request: &Request) -> bool {
    use Request as R;
    matches!(
        request,
        R::EnterMeeting { .. }
            | R::ExitMeeting
            | R::StopMeeting
            | R::SetMedia { .. }
            | R::SendIm { .. }
            | R::StartScreenShare
            | R::StopScreenShare
            | R::StartMedia { .. }
            | R::PauseMedia { .. }
            | R::SetMediaPos { .. }
            | R::StopMedia { .. }
            | R::SetCtrlRight { .. }
            | R::SwitchToPage { .. }
            | R::SetVideoWallMode { .. }
            | R::SetMainVideo { .. }
            | R::CreateBoard { .. }
            | R::CloseBoard { .. }
            | R::SetBoardElement { .. }
            | R::DelBoardElements { .. }
            | R::SetMouseHotSpot { .. }
            | R::SetBoardBkImage { .. }
            | R::SetVideoDevs(_)
            | R::SetWatchVideos { .. }
            | R::RequestKeyFrame { .. }
    )
}

/// Whether `request` is for the tenant's queue engine.
fn is_queue_request(request: &Request) -> bool {
    use Request as R;
    matches!(
        request,
        R::QueueInit
            | R::QueueRefresh
            | R::StartQueuing { .. }
            | R::StopQueuing
            | R::StartService { .. }
            | R::StopService { .. }
            | R::ReqAssignUser
            | R::AcceptAssignUser { .. }
            | R::RejectAssignUser { .. }
    )
}

/// Whether `request` is one a node forwards: about a call or transfer (not creating one),
/// a room, or the queues.
pub(crate) fn is_forwardable(request: &Request) -> bool {
    matches!(object_of(request), Some((_, _, false)))
        || is_room_request(request)
        || is_queue_request(request)
}

impl Session {
    /// Forwards `text` (which decoded to `request`) to the node that holds what it names,
    /// if that is another node: true if forwarded (nothing more to do here).
    pub(crate) async fn forwarded(&self, request: &Request, text: &str) -> bool {
        let (Some(node), LoggedIn(me)) = (&self.shared.cluster, &self.phase) else {
            return false;
        };
        if is_room_request(request) {
            return self.forwarded_to_room(node, me, request, text, true).await;
        }
        if is_queue_request(request) {
            let home = node.queue_home(me.tenant()).await;
            if *home == *node.id() {
                return false;
            }
            node.queue_request_forwarded(&home, me, request);
            node.forward_request(&home, me, text);
            return true;
        }
        let Some((kind, id, creates)) = object_of(request) else {
            return false;
        };
        let tenant = me.tenant();
        if creates {
            node.claim_object(tenant, kind, id).await;
            return false;
        }
        let here = match kind {
            ObjectKind::Call => self.shared.calls.knows(tenant, id),
            ObjectKind::Transfer => self.shared.relay.knows(tenant, id),
        };
        if here {
            return false;
        }
        match node.owner_of_object(tenant, kind, id).await {
            Some(owner) => {
                node.forward_request(&owner, me, text);
                true
            }
            None => false,
        }
    }

    /// Forwards room request `text` of `me` to its room's home if that is another node:
    /// the home of the room `me` is in (if `follow_route`: a request of this node's own
    /// session), or, entering, of the meeting's room. True if forwarded.
    ///
    /// An entry goes to the home of the room `me` is in first (which refuses it if `me` is
    /// still a member there); a node serving it for a member not in a room there sends it on
    /// to the meeting's home (`follow_route` false: the route it came by may be out of date).
    pub(crate) async fn forwarded_to_room(
        &self,
        node: &crate::cluster::Node,
        me: &crate::directory::handle::SessionHandle,
        request: &Request,
        text: &str,
        follow_route: bool,
    ) -> bool {
        let session = me.session_id();
        if self.shared.rooms.is_member(session) {
            return false;
        }
        if follow_route {
            if let Some(home) = node.room_route(session) {
                node.forward_request(&home, me, text);
                return true;
            }
        }
        if let Request::EnterMeeting { meet_id, .. } = request {
            let home = node.claim_room(me.tenant(), *meet_id).await;
            if *home == *node.id() {
                node.forget_route(session);
                return false;
            }
            node.forward_request(&home, me, text);
            return true;
        }
        false
    }
}
