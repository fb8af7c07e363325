//! Call-center queues across nodes: each tenant's queue engine (its queues, customers,
//! agents, assignments, timers) lives on one node, its *engine home*, recorded in Redis
//! (`crv:obj:<tenant>:queues:engine`) by the first node that needed it and taken over by
//! the next one when that node is no longer alive (the same script as a room's home).
//!
//! Queue requests of a session connected elsewhere are forwarded to the engine home and
//! served for its mirror; the engine's events reach it through the mirror. The calls
//! between agents and customers tell the engine when they are placed and end (a `QueueCall`
//! message to the engine home), and the engine tells every node which agent serves whom
//! (`Service` events), for their calls' busy checks.
//!
//! When the engine home dies its state is gone: each node tells its waiting customers they
//! are no longer queuing (`QueuingInfo`, queue -1) and registers its agents again with the
//! new engine (their services and assignments there are lost; they are free agents again).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crvideo_proto::{ClientFrame, Event, QueuingInfo, Request, ServerFrame};

use super::wire::{self, tag_of, Control, DirEvent};
use super::Node;
use crate::directory::handle::SessionHandle;
use crate::directory::outbound::SessionId;
use crate::services::queues::RemoteEngine;
use crate::state::Shared;

/// What this node knows of one of its sessions using a queue engine on another node.
pub(crate) struct QueueUse {
    home: Arc<str>,
    member: SessionHandle,
    /// Waiting in a queue there, as the engine last told (see [`Node::on_queuing`]).
    queuing: bool,
    /// The queues it serves as an agent, with its priority in each.
    serving: BTreeMap<i32, i32>,
}

impl Node {
    /// The node holding `tenant`'s queue engine: as known, or looked up (and taken by this
    /// node if none alive holds it).
    pub(crate) async fn queue_home(&self, tenant: &str) -> Arc<str> {
        let known = self.queue_homes.lock().unwrap().get(tenant).cloned();
        if let Some(home) = known {
            return home;
        }
        // Kept until taken over: nodes remember it, and would not see it expire.
        let key = wire::object_key(tenant, "queues", "engine");
        let home = self.claim_home(&key, 0).await;
        let mut homes = self.queue_homes.lock().unwrap();
        homes.insert(Arc::from(tenant), home.clone());
        home
    }

    /// Notes what a queue request of `member` forwarded to `home` changes of its use of the
    /// engine there (to put right if that node dies).
    pub(crate) fn queue_request_forwarded(
        &self,
        home: &Arc<str>,
        member: &SessionHandle,
        request: &Request,
    ) {
        let mut uses = self.queue_uses.lock().unwrap();
        let entry = uses.entry(member.session_id()).or_insert_with(|| QueueUse {
            home: home.clone(),
            member: member.clone(),
            queuing: false,
            serving: BTreeMap::new(),
        });
        entry.home = home.clone();
        // Whether it waits is told by the engine (see `Node::on_queuing`): it knows if a
        // StartQueuing was refused, or ended by an agent's accept.
        match request {
            Request::StartService { que_id, priority } => {
                entry.serving.insert(*que_id, *priority);
            }
            Request::StopService { que_id } => {
                entry.serving.remove(que_id);
            }
            _ => {}
        }
    }

    /// The engine on another node told one of this node's sessions whether it waits in a
    /// queue there.
    pub(crate) fn on_queuing(&self, session: SessionId, queuing: bool) {
        if let Some(u) = self.queue_uses.lock().unwrap().get_mut(&session) {
            u.queuing = queuing;
        }
    }

    /// Forgets the queue use of a session that went offline.
    pub(crate) fn forget_queue_use(&self, session: SessionId) {
        self.queue_uses.lock().unwrap().remove(&session);
    }

    /// The other nodes holding engines this node knows of (watched: a dead one is forgotten
    /// and its engines' users put right). Every engine a session here uses is among them:
    /// a request is forwarded only to a home looked up through [`Node::queue_home`].
    pub(crate) fn queue_homes_in_use(&self) -> Vec<Arc<str>> {
        let homes = self.queue_homes.lock().unwrap();
        let mut homes: Vec<Arc<str>> = (homes.values())
            .filter(|home| ***home != *self.id)
            .cloned()
            .collect();
        homes.sort();
        homes.dedup();
        homes
    }

    /// A call between two sessions was placed or ended on another node; this node holds the
    /// tenant's engine.
    pub(crate) fn on_queue_call(
        &self,
        shared: &Shared,
        tenant: &str,
        caller: (&str, SessionId),
        callee: (&str, SessionId),
        placed: bool,
    ) {
        let find =
            |(user, session): (&str, SessionId)| self.directory.session(tenant, user, session);
        let (Some(caller), Some(callee)) = (find(caller), find(callee)) else {
            return; // one of them went offline: the engine heard of that already
        };
        if placed {
            shared.queues.call_placed(&caller, &callee);
        } else {
            shared.queues.call_ended(&caller, &callee);
        }
    }

    /// `home` died with the queue engines it held: customers waiting there are told they are
    /// no longer queuing, agents are registered again with the tenant's new engine.
    pub(crate) async fn queue_home_died(&self, shared: &Shared, home: &str) {
        shared.queues.forget_services_of(home);
        self.queue_homes.lock().unwrap().retain(|_, h| **h != *home);
        let orphaned: Vec<(SessionHandle, bool, BTreeMap<i32, i32>)> = {
            let mut uses = self.queue_uses.lock().unwrap();
            let mut orphaned = Vec::new();
            uses.retain(|_, u| {
                if *u.home != *home {
                    return true;
                }
                orphaned.push((u.member.clone(), u.queuing, std::mem::take(&mut u.serving)));
                false
            });
            orphaned
        };
        for (member, queuing, serving) in orphaned {
            if queuing {
                let event = Event::QueuingInfo(QueuingInfo::not_queuing());
                let _ = member.send(&ServerFrame::Event(event));
            }
            if serving.is_empty() {
                continue;
            }
            let new_home = self.queue_home(member.tenant()).await;
            for (que_id, priority) in serving {
                let request = Request::StartService { que_id, priority };
                if *new_home == *self.id {
                    // Not answered: the agent asked once, of the engine that died.
                    shared
                        .queues
                        .start_service(&member, que_id, priority, |_| {});
                } else {
                    // As the client would send it; id 0: no reply.
                    let frame = ClientFrame {
                        id: 0,
                        request: request.clone(),
                    };
                    let text = crvideo_proto::encode(&frame);
                    self.queue_request_forwarded(&new_home, &member, &request);
                    self.forward_request(&new_home, &member, &text);
                }
            }
        }
    }
}

/// The queues' way to an engine on another node (see [`RemoteEngine`]).
pub(crate) struct NodeEngine(pub(crate) Arc<Node>);

impl RemoteEngine for NodeEngine {
    fn elsewhere(&self, tenant: &str) -> bool {
        let homes = self.0.queue_homes.lock().unwrap();
        homes.get(tenant).is_some_and(|home| **home != *self.0.id)
    }

    fn call(&self, caller: &SessionHandle, callee: &SessionHandle, placed: bool) {
        let home = self
            .0
            .queue_homes
            .lock()
            .unwrap()
            .get(caller.tenant())
            .cloned();
        let Some(home) = home else { return };
        self.0.bus.control(
            &home,
            Control::QueueCall {
                tenant: caller.tenant().to_owned(),
                caller: (caller.user_id().to_owned(), caller.session_id()),
                callee: (callee.user_id().to_owned(), callee.session_id()),
                placed,
            },
        );
    }

    fn service(&self, agent: &SessionHandle, customer: Option<SessionId>) {
        self.0.bus.event(&DirEvent::Service {
            node: self.0.id.to_string(),
            tenant: agent.tenant().to_owned(),
            agent: agent.session_id(),
            customer,
        });
    }

    fn queuing(&self, customer: &SessionHandle, queuing: bool) {
        let session = customer.session_id();
        if let Some(node) = self.0.directory.node_of_tag(tag_of(session)) {
            (self.0.bus).control(&node, Control::Queuing { session, queuing });
        }
    }
}

pub(crate) type QueueUses = HashMap<SessionId, QueueUse>;
