//! In a cluster: requests about state another node holds are served there.
//!
//! A call, an invitation or a transfer lives on the node its creator is connected to (that
//! node's services hold it, with its timers). Creating one first records its owner in Redis
//! ([`crate::cluster::Node::claim_object`]), so before the other party can hear of it. A request
//! that names one this node does not hold is looked up there and, if another node owns it,
//! forwarded as it arrived; the owner serves it for the requester's mirror, so the reply and
//! the events it causes come back through the requester's own node. Anything not found
//! anywhere is served here, and refused as it would be on a single node.

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

/// Whether `request` is one a node forwards (about a call or transfer, not creating one).
pub(crate) fn is_forwardable(request: &Request) -> bool {
    matches!(object_of(request), Some((_, _, false)))
}

impl Session {
    /// Forwards `text` (which decoded to `request`) to the node that holds what it names,
    /// if that is another node: true if forwarded (nothing more to do here).
    pub(crate) async fn forwarded(&self, request: &Request, text: &str) -> bool {
        let (Some(node), LoggedIn(me)) = (&self.shared.cluster, &self.phase) else {
            return false;
        };
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
}
