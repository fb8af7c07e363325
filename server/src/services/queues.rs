//! Call-center queues: customers waiting, agents serving, and the assignment engine.
//!
//! The queues of a tenant are those of its config, processed in queue `prio` order (lower
//! first), then by ID. Tenants are isolated: each has its own state under its own lock, and
//! the same queue ID in two tenants names two queues.
//!
//! Every transition — its events, the requester's reply (`respond`) and the automatic
//! assignments it enables — happens under the tenant's lock, so every session sees its queue
//! events in the order the transitions happened, each once (an agent never sees a
//! `CancelAssignUser` before the `AutoAssignUser` it cancels). Lock order (the server's one
//! order: see the [crate]
//! documentation): the calls' table may be held when a tenant's queues are taken (a call
//! placed or ended); under a tenant's queues, the directory and session lanes; the queues
//! never call into the calls.
//!
//! **Customers** wait in one queue at a time, in arrival order. A customer's position is its
//! index among the queue's customers (assigned-but-not-accepted ones included). It gets its
//! `QueuingInfo` when it joins and `QueuingInfo(not_queuing)` when it leaves the queue
//! (StopQueuing, or an agent accepted it), both as part of that transition; moves caused by
//! others leaving are *published* (below).
//!
//! **Agents** serve one or more queues, each with a priority (lower first). An agent has at
//! most one pending assignment or one service at a time, across its queues. It is *free*
//! when it has neither and is not in a call.
//!
//! **Automatic assignment** runs after every change, in two rounds. First, for each queue in
//! order, for each of its customers in arrival order that has no pending assignment, the
//! free agents of that queue with DND off that never *passed over* that customer (below)
//! are candidates; the one with the lowest priority number for the queue gets it, ties
//! going to the one free the longest. Then the same for the customers still unassigned,
//! with the agents that passed over them more than `call_timeout_secs` ago as candidates.
//! An assigned customer is never reassigned by this. The agent gets `AutoAssignUser`. With
//! DND on, an agent only gets customers through `ReqAssignUser`.
//!
//! An agent *passes over* a customer by rejecting its assignment or by not answering it
//! within `call_timeout_secs` (then it is cancelled: `CancelAssignUser`). The customer keeps
//! its place, without assignment. The rule (no starvation): a customer never waits while an
//! agent of its queue asks for one, and is offered to the agents that did not pass it over
//! first. So, while it stays queued: automatic assignment offers it to an agent that passed
//! it over only once `call_timeout_secs` (the time any other agent had to take it — also the
//! time an agent has to answer) went by since, and only after the customers that agent did
//! not pass over; `ReqAssignUser` returns the earliest customer the agent did not pass over,
//! else (rather than `QUE_NOUSER`) the earliest one it did.
//!
//! Accepting takes the customer out of the queue and puts the agent *in service* (presence
//! busy; calls from others than its customer are refused as busy, see [`crate::services::calls`])
//! until a call between the two ends after having been placed, either goes offline, the
//! agent stops serving that queue or asks for the next customer, or no call between them
//! was placed within `call_timeout_secs`.
//!
//! `QueueStatus` counts (`agent_num` agents serving, `wait_num` customers in the queue,
//! `srv_num` agents in service with a customer of the queue) go to the queue's agents and
//! waiting customers when they change, and to a session that starts waiting or serving.
//!
//! **Publishing** positions and counts is coalesced: at most once per `notify_every`
//! (`queue_notify_ms`, default 100 ms; 0 publishes at every transition) per tenant, with
//! the values of that moment. A transition after a quiet interval publishes at once, in its own transaction; one within the interval leaves it to
//! a publication at its end. So a waiting customer receives at most one `QueuingInfo` move
//! and one `QueueStatus` per interval, whatever the rate of transitions: without this, a
//! queue of W customers cost O(W) frames per transition, O(W²) for W joins (see
//! docs/BENCHMARKS.md, issue 21). A customer may therefore skip positions (2 → 0) and a
//! session intermediate counts; what it holds after a quiet interval is current.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crvideo_proto::{
    encode, ErrorCode, Event, QueueInfo, QueueList, QueueStatus, QueueUser, QueuingInfo,
    ServerFrame,
};
use tokio::task::AbortHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::config::TenantConfig;
use crate::directory::handle::SessionHandle;
use crate::directory::outbound::SessionId;
use crate::directory::{Activity, Directory};

/// In a cluster: how a node's queues reach a tenant's engine on another node (see
/// `crate::cluster::queues`). Without one, every engine is here.
pub trait RemoteEngine: Send + Sync {
    /// Whether `tenant`'s engine is on another node, as far as this node knows.
    fn elsewhere(&self, tenant: &str) -> bool;
    /// Tells the engine's node that a call between `caller` and `callee` was placed
    /// (`placed`) or ended.
    fn call(&self, caller: &SessionHandle, callee: &SessionHandle, placed: bool);
    /// Tells the other nodes that `agent` started serving `customer` (or stopped: None),
    /// for their calls' busy checks.
    fn service(&self, agent: &SessionHandle, customer: Option<SessionId>);
    /// Tells the node of `customer` (connected to another node) whether it waits in a
    /// queue of this engine now, as the `QueuingInfo` it is being sent says: if this node
    /// dies, that node tells the customers still waiting that they no longer queue.
    fn queuing(&self, customer: &SessionHandle, queuing: bool);
}

/// The queues of every tenant.
pub struct Queues {
    /// Fixed at start: one entry per configured tenant.
    tenants: HashMap<Arc<str>, Mutex<TenantQueues>>,
    /// Unanswered assignments, and services without a call, end after this.
    timeout: Duration,
    /// Positions and counts are published at most once per this.
    notify_every: Duration,
    directory: Arc<dyn Directory>,
    /// For the timers' tasks.
    me: Weak<Queues>,
    /// Set in a cluster (see [`RemoteEngine`]).
    remote: std::sync::OnceLock<Arc<dyn RemoteEngine>>,
    /// In a cluster: the services of agents whose tenant's engine is on another node,
    /// agent → (that node, the customer).
    services_elsewhere: Mutex<HashMap<SessionId, (Arc<str>, SessionId)>>,
}

struct TenantQueues {
    tenant: Arc<str>,
    /// In processing order: `prio`, then ID.
    queues: Vec<Queue>,
    /// By session: agents serving at least one queue.
    agents: BTreeMap<SessionId, Agent>,
    /// Orders the moments agents become free; identifies timers.
    tick: u64,
    /// Events of the current transition, sent after the requester's reply.
    pending: Vec<(SessionHandle, Event)>,
    /// When positions and counts were last published (tokio's clock: tests pause it).
    published_at: Option<tokio::time::Instant>,
    /// A publication is due at the end of the interval.
    publish_due: bool,
}

struct Queue {
    info: QueueInfo,
    /// In arrival order.
    customers: Vec<Customer>,
    /// Customers from this index on may have moved since the last publication.
    moved_from: Option<usize>,
    /// The counts last published.
    told: Option<QueueStatus>,
    /// Sessions that started waiting or serving since the last publication: they get the
    /// counts even when those did not change.
    untold: Vec<SessionHandle>,
}

impl Queue {
    /// Takes the customer at `ci` out: those behind it move up.
    fn take_customer(&mut self, ci: usize) -> Customer {
        self.moved_from = Some(self.moved_from.map_or(ci, |m| m.min(ci)));
        self.customers.remove(ci)
    }
}

struct Customer {
    handle: SessionHandle,
    since: Instant,
    usr_ext_dat: String,
    /// The agent holding a pending assignment of this customer.
    assigned_to: Option<SessionId>,
    /// The position it was last told.
    told_position: i32,
    /// Agents that passed this customer over (rejected it, or let its assignment time out)
    /// while it waited.
    passed_over_by: HashMap<SessionId, PassedOver>,
}

/// An agent passed a customer over: see the module documentation.
struct PassedOver {
    /// Identifies `hold`'s timer.
    tick: u64,
    /// While set, automatic assignment does not offer the customer to this agent; its timer
    /// clears it after `call_timeout_secs`.
    hold: Option<AbortHandle>,
}

impl Customer {
    fn queuing_time(&self) -> i64 {
        secs_since(self.since)
    }

    fn passed_over(&self, agent: SessionId) -> bool {
        self.passed_over_by.contains_key(&agent)
    }

    /// `agent` passed it over, but long enough ago to be offered it again.
    fn may_come_back_to(&self, agent: SessionId) -> bool {
        self.passed_over_by
            .get(&agent)
            .is_some_and(|p| p.hold.is_none())
    }
}

impl Drop for Customer {
    /// Leaving the queue (in any way) stops its timers.
    fn drop(&mut self) {
        for p in self.passed_over_by.values() {
            if let Some(hold) = &p.hold {
                hold.abort();
            }
        }
    }
}

struct Agent {
    handle: SessionHandle,
    /// Queue ID → this agent's priority for it.
    serving: BTreeMap<i32, i32>,
    state: AgentState,
    /// The tick at which the agent last became free (or started serving).
    free_since: u64,
}

enum AgentState {
    Free,
    /// A customer was assigned; waiting for accept or reject.
    Assigned {
        user: QueueUser,
        customer: SessionId,
        timer: AbortHandle,
        tick: u64,
    },
    /// Accepted: serving the customer (who left the queue).
    Serving {
        que_id: i32,
        customer: SessionId,
        /// A call between the two was placed.
        call_started: bool,
        /// Ends the service if no call is placed in time.
        timer: Option<AbortHandle>,
        tick: u64,
    },
}

fn secs_since(since: Instant) -> i64 {
    i64::try_from(since.elapsed().as_secs()).unwrap_or(i64::MAX)
}

fn send(to: &SessionHandle, e: Event) {
    // A session that cannot take it is being ended anyway.
    let _ = to.send(&ServerFrame::Event(e));
}

impl TenantQueues {
    fn new(tenant: &TenantConfig) -> TenantQueues {
        let mut queues: Vec<Queue> = tenant
            .queues
            .iter()
            .map(|q| Queue {
                info: QueueInfo {
                    que_id: q.id,
                    name: q.name.clone(),
                    desc: q.desc.clone(),
                    prio: q.prio,
                },
                customers: Vec::new(),
                moved_from: None,
                told: None,
                untold: Vec::new(),
            })
            .collect();
        queues.sort_by_key(|q| (q.info.prio, q.info.que_id));
        TenantQueues {
            tenant: Arc::from(tenant.account.as_str()),
            queues,
            agents: BTreeMap::new(),
            tick: 0,
            pending: Vec::new(),
            published_at: None,
            publish_due: false,
        }
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    fn queue_index(&self, que_id: i32) -> Result<usize, ErrorCode> {
        self.queues
            .iter()
            .position(|q| q.info.que_id == que_id)
            .ok_or(ErrorCode::QueIdInvalid)
    }

    /// (queue index, position) of a customer session.
    fn find_customer(&self, session: SessionId) -> Option<(usize, usize)> {
        self.queues.iter().enumerate().find_map(|(qi, q)| {
            q.customers
                .iter()
                .position(|c| c.handle.session_id() == session)
                .map(|ci| (qi, ci))
        })
    }

    fn infos(&self) -> Vec<QueueInfo> {
        self.queues.iter().map(|q| q.info.clone()).collect()
    }

    fn statuses(&self) -> Vec<QueueStatus> {
        self.queues
            .iter()
            .map(|q| {
                let que_id = q.info.que_id;
                let count = |f: &dyn Fn(&Agent) -> bool| self.agents.values().filter(|a| f(a)).count();
                QueueStatus {
                    que_id,
                    agent_num: count(&|a| a.serving.contains_key(&que_id)) as i32,
                    wait_num: q.customers.len() as i32,
                    srv_num: count(&|a| {
                        matches!(a.state, AgentState::Serving { que_id: s, .. } if s == que_id)
                    }) as i32,
                }
            })
            .collect()
    }

    /// Sends the events of the transition. A customer's `QueuingInfo` says whether it waits
    /// now; `remote` (in a cluster) tells that to the node of a customer connected elsewhere.
    fn flush(&mut self, remote: Option<&Arc<dyn RemoteEngine>>) {
        for (to, e) in self.pending.drain(..) {
            if let (Some(remote), Event::QueuingInfo(info)) = (remote, &e) {
                if to.is_remote() {
                    remote.queuing(&to, info.que_id >= 0);
                }
            }
            send(&to, e);
        }
    }

    /// Whether a publication of `statuses` (the counts now) would tell anyone anything.
    fn has_news(&self, statuses: &[QueueStatus]) -> bool {
        self.queues.iter().zip(statuses).any(|(q, now)| {
            q.moved_from.is_some() || !q.untold.is_empty() || q.told.as_ref() != Some(now)
        })
    }

    /// Publishes positions and counts (see the module documentation): `QueuingInfo` to every
    /// customer whose position is not the one it was last told, and each queue's
    /// `QueueStatus` to its agents and waiting customers if it changed, else to the sessions
    /// that started waiting or serving since. Each status is encoded once: the recipients'
    /// copies share the bytes. `statuses` are the counts now.
    fn publish(&mut self, statuses: Vec<QueueStatus>) {
        self.published_at = Some(tokio::time::Instant::now());
        for (q, now) in self.queues.iter_mut().zip(statuses) {
            if let Some(from) = q.moved_from.take() {
                for (pos, c) in q.customers.iter_mut().enumerate().skip(from) {
                    let pos = pos as i32;
                    if c.told_position != pos {
                        c.told_position = pos;
                        send(
                            &c.handle,
                            Event::QueuingInfo(QueuingInfo {
                                que_id: q.info.que_id,
                                position: pos,
                                queuing_time: c.queuing_time(),
                            }),
                        );
                    }
                }
            }
            let untold = std::mem::take(&mut q.untold);
            let changed = q.told.as_ref() != Some(&now);
            if !changed && untold.is_empty() {
                continue;
            }
            let que_id = q.info.que_id;
            let agents = self
                .agents
                .values()
                .filter(|a| a.serving.contains_key(&que_id))
                .map(|a| &a.handle);
            let everyone = agents.chain(q.customers.iter().map(|c| &c.handle));
            let to: Vec<&SessionHandle> = if changed {
                everyone.collect()
            } else {
                let new: HashSet<SessionId> = untold.iter().map(|h| h.session_id()).collect();
                everyone.filter(|h| new.contains(&h.session_id())).collect()
            };
            let status =
                Message::text(encode(&ServerFrame::Event(Event::QueueStatus(now.clone()))));
            q.told = Some(now);
            let mut told = HashSet::with_capacity(to.len());
            for h in to {
                // One status per session, though agent and customer.
                if told.insert(h.session_id()) {
                    // A session that cannot take it is being ended anyway.
                    let _ = h.send_message(status.clone());
                }
            }
        }
    }

    /// Withdraws the agent's pending assignment, if any: the customer stays in place without
    /// assignment, the agent is free, and is told (`CancelAssignUser`) if `tell`. Returns
    /// the customer's session if it is still queued.
    fn withdraw_assignment(&mut self, agent: SessionId, tell: bool) -> Option<SessionId> {
        let tick = self.next_tick();
        let a = self.agents.get_mut(&agent)?;
        let AgentState::Assigned { .. } = a.state else {
            return None;
        };
        let AgentState::Assigned {
            user,
            customer,
            timer,
            ..
        } = std::mem::replace(&mut a.state, AgentState::Free)
        else {
            unreachable!("checked above")
        };
        timer.abort();
        a.free_since = tick;
        if tell {
            self.pending.push((
                a.handle.clone(),
                Event::CancelAssignUser {
                    que_id: user.que_id,
                    user_id: user.user_id,
                },
            ));
        }
        let (qi, ci) = self.find_customer(customer)?;
        let c = &mut self.queues[qi].customers[ci];
        if c.assigned_to == Some(agent) {
            c.assigned_to = None;
        }
        Some(customer)
    }

    /// A customer that left its queue hears it in this transition.
    fn tell_not_queuing(&mut self, c: &Customer) {
        self.pending.push((
            c.handle.clone(),
            Event::QueuingInfo(QueuingInfo::not_queuing()),
        ));
    }

    /// Removes a customer from its queue, withdrawing its pending assignment (the agent is
    /// told); the customer is told it no longer queues if `tell`. False if it was not
    /// queuing.
    fn remove_customer(&mut self, session: SessionId, tell: bool) -> bool {
        let Some((qi, ci)) = self.find_customer(session) else {
            return false;
        };
        let c = self.queues[qi].take_customer(ci);
        if tell {
            self.tell_not_queuing(&c);
        }
        if let Some(agent) = c.assigned_to {
            let tick = self.next_tick();
            if let Some(a) = self.agents.get_mut(&agent) {
                if let AgentState::Assigned {
                    customer, timer, ..
                } = &a.state
                {
                    if *customer == session {
                        timer.abort();
                        a.state = AgentState::Free;
                        a.free_since = tick;
                        self.pending.push((
                            a.handle.clone(),
                            Event::CancelAssignUser {
                                que_id: self.queues[qi].info.que_id,
                                user_id: c.handle.user_id().to_owned(),
                            },
                        ));
                    }
                }
            }
        }
        true
    }
}

impl Queues {
    /// The queues of the configured tenants. `timeout` is `call_timeout_secs`; positions and
    /// counts are published at most once per `notify_every` (see the module documentation).
    pub fn new(
        tenants: &[TenantConfig],
        directory: Arc<dyn Directory>,
        timeout: Duration,
        notify_every: Duration,
    ) -> Arc<Queues> {
        Arc::new_cyclic(|me| Queues {
            tenants: tenants
                .iter()
                .map(|t| {
                    (
                        Arc::from(t.account.as_str()),
                        Mutex::new(TenantQueues::new(t)),
                    )
                })
                .collect(),
            timeout,
            notify_every,
            directory,
            me: me.clone(),
            remote: std::sync::OnceLock::new(),
            services_elsewhere: Mutex::new(HashMap::new()),
        })
    }

    /// Makes this node's queues part of a cluster (see [`RemoteEngine`]).
    pub fn set_remote(&self, remote: Arc<dyn RemoteEngine>) {
        let _ = self.remote.set(remote);
    }

    /// The engine on `node` says `agent` serves `customer` (None: no longer).
    pub fn service_elsewhere(
        &self,
        node: &Arc<str>,
        agent: SessionId,
        customer: Option<SessionId>,
    ) {
        let mut services = self.services_elsewhere.lock().unwrap();
        match customer {
            Some(customer) => services.insert(agent, (node.clone(), customer)),
            None => services.remove(&agent),
        };
    }

    /// `node` died: the services its engine held are over.
    pub fn forget_services_of(&self, node: &str) {
        let mut services = self.services_elsewhere.lock().unwrap();
        services.retain(|_, (home, _)| **home != *node);
    }

    /// The cluster's engine of `tenant` is elsewhere: the hook to reach it.
    fn remote_for(&self, tenant: &str) -> Option<&Arc<dyn RemoteEngine>> {
        self.remote.get().filter(|r| r.elsewhere(tenant))
    }

    /// Runs one transition of `tenant`'s queues: `change` (which replies to the requester, if
    /// any), then the events it queued, then automatic assignment, then the position and
    /// status notifications (now, or at the end of the interval: see the module
    /// documentation). False if the tenant has no queues state (not configured).
    fn transact(&self, tenant: &str, change: impl FnOnce(&mut TenantQueues)) -> bool {
        let Some(state) = self.tenants.get(tenant) else {
            return false;
        };
        let mut t = state.lock().unwrap();
        change(&mut t);
        t.flush(self.remote.get());
        self.auto_assign(&mut t);
        t.flush(self.remote.get());
        self.publish_soon(&mut t);
        true
    }

    /// Publishes now after a quiet interval, else once at the end of the current one.
    fn publish_soon(&self, t: &mut TenantQueues) {
        if t.publish_due {
            return;
        }
        let statuses = t.statuses();
        if !t.has_news(&statuses) {
            return;
        }
        let due = match t.published_at {
            Some(at) if at.elapsed() < self.notify_every => at + self.notify_every,
            _ => return t.publish(statuses),
        };
        t.publish_due = true;
        let me = self.me.clone();
        let tenant = t.tenant.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(due).await;
            let Some(queues) = me.upgrade() else { return };
            if let Some(state) = queues.tenants.get(&tenant) {
                let mut t = state.lock().unwrap();
                t.publish_due = false;
                let statuses = t.statuses();
                t.publish(statuses);
            }
        });
    }

    /// `QueueInit`: the tenant's queues and their counts.
    pub fn queue_init(
        &self,
        who: &SessionHandle,
        respond: impl FnOnce(Result<QueueList, ErrorCode>),
    ) {
        self.request(who, respond, |t| {
            Ok(QueueList {
                queues: t.infos(),
                statuses: t.statuses(),
            })
        })
    }

    /// `QueueRefresh`: the counts of the tenant's queues.
    pub fn queue_refresh(
        &self,
        who: &SessionHandle,
        respond: impl FnOnce(Result<QueueList, ErrorCode>),
    ) {
        self.request(who, respond, |t| {
            Ok(QueueList {
                queues: Vec::new(),
                statuses: t.statuses(),
            })
        })
    }

    /// `who` waits in queue `que_id` as a customer (again in the same queue: nothing
    /// happens; in another one: `ALREADY_OTHERQUE`).
    pub fn start_queuing(
        &self,
        who: &SessionHandle,
        que_id: i32,
        usr_ext_dat: String,
        respond: impl FnOnce(Result<(), ErrorCode>),
    ) {
        self.request(who, respond, |t| {
            let qi = t.queue_index(que_id)?;
            if let Some((qj, _)) = t.find_customer(who.session_id()) {
                return if qj == qi {
                    Ok(())
                } else {
                    Err(ErrorCode::AlreadyOtherQue)
                };
            }
            let q = &mut t.queues[qi];
            let position = q.customers.len() as i32;
            q.customers.push(Customer {
                handle: who.clone(),
                since: Instant::now(),
                usr_ext_dat,
                assigned_to: None,
                told_position: position,
                passed_over_by: HashMap::new(),
            });
            q.untold.push(who.clone());
            t.pending.push((
                who.clone(),
                Event::QueuingInfo(QueuingInfo {
                    que_id,
                    position,
                    queuing_time: 0,
                }),
            ));
            Ok(())
        })
    }

    /// `who` leaves the queue it waits in, if any.
    pub fn stop_queuing(&self, who: &SessionHandle, respond: impl FnOnce(Result<(), ErrorCode>)) {
        self.request(who, respond, |t| {
            t.remove_customer(who.session_id(), true);
            Ok(())
        })
    }

    /// `who` serves queue `que_id` as an agent with `priority` (lower first).
    pub fn start_service(
        &self,
        who: &SessionHandle,
        que_id: i32,
        priority: i32,
        respond: impl FnOnce(Result<(), ErrorCode>),
    ) {
        self.request(who, respond, |t| {
            let qi = t.queue_index(que_id)?;
            let tick = t.next_tick();
            let agent = t.agents.entry(who.session_id()).or_insert_with(|| Agent {
                handle: who.clone(),
                serving: BTreeMap::new(),
                state: AgentState::Free,
                free_since: tick,
            });
            if agent.serving.insert(que_id, priority).is_none() {
                t.queues[qi].untold.push(who.clone());
            }
            Ok(())
        })
    }

    /// `who` stops serving queue `que_id`: its pending assignment from that queue is
    /// withdrawn, its service of a customer of it ends.
    pub fn stop_service(
        &self,
        who: &SessionHandle,
        que_id: i32,
        respond: impl FnOnce(Result<(), ErrorCode>),
    ) {
        self.request(who, respond, |t| {
            let me = who.session_id();
            t.queue_index(que_id)?;
            let agent = self.serving_agent(t, me, que_id)?;
            match agent.state {
                AgentState::Assigned { ref user, .. } if user.que_id == que_id => {
                    t.withdraw_assignment(me, true);
                }
                AgentState::Serving { que_id: q, .. } if q == que_id => {
                    self.end_service(t, me, false)
                }
                _ => {}
            }
            let agent = t.agents.get_mut(&me).expect("checked above");
            agent.serving.remove(&que_id);
            if agent.serving.is_empty() {
                t.agents.remove(&me);
            }
            Ok(())
        })
    }

    /// `ReqAssignUser`: the agent `who`'s pending assignment again, or (after ending its
    /// service) the earliest waiting customer of its queues it did not pass over, else the
    /// earliest one it did.
    pub fn req_assign_user(
        &self,
        who: &SessionHandle,
        respond: impl FnOnce(Result<QueueUser, ErrorCode>),
    ) {
        self.request(who, respond, |t| self.req_assign(t, who.session_id()))
    }

    /// The agent `who` accepts its pending assignment of (`que_id`, `user_id`): the
    /// customer leaves the queue and the agent serves it.
    pub fn accept_assign_user(
        &self,
        who: &SessionHandle,
        que_id: i32,
        user_id: &str,
        respond: impl FnOnce(Result<(), ErrorCode>),
    ) {
        self.request(who, respond, |t| {
            self.accept(t, who.session_id(), que_id, user_id)
        })
    }

    /// The agent `who` rejects its pending assignment of (`que_id`, `user_id`): it passes
    /// the customer over.
    pub fn reject_assign_user(
        &self,
        who: &SessionHandle,
        que_id: i32,
        user_id: &str,
        respond: impl FnOnce(Result<(), ErrorCode>),
    ) {
        self.request(who, respond, |t| {
            let me = who.session_id();
            t.queue_index(que_id)?;
            self.serving_agent(t, me, que_id)?;
            self.pending_assignment(t, me, que_id, user_id)?;
            self.pass_over(t, me, false);
            Ok(())
        })
    }

    /// Runs a request of `who` as one transition of its tenant's queues: `change` judges
    /// and applies it, and `respond` gets its result under the lock, before any event it
    /// causes.
    fn request<T>(
        &self,
        who: &SessionHandle,
        respond: impl FnOnce(Result<T, ErrorCode>),
        change: impl FnOnce(&mut TenantQueues) -> Result<T, ErrorCode>,
    ) {
        let mut respond = Some(respond);
        let done = self.transact(who.tenant(), |t| {
            let result = change(t);
            if let Some(respond) = respond.take() {
                respond(result);
            }
        });
        if !done {
            // A tenant without queues state (cannot happen for configured tenants).
            if let Some(respond) = respond.take() {
                respond(Err(ErrorCode::QueIdInvalid));
            }
        }
    }

    /// The agent `me` if it serves `que_id`, else `QUE_SERVICE_NOT_START`.
    fn serving_agent<'t>(
        &self,
        t: &'t TenantQueues,
        me: SessionId,
        que_id: i32,
    ) -> Result<&'t Agent, ErrorCode> {
        t.agents
            .get(&me)
            .filter(|a| a.serving.contains_key(&que_id))
            .ok_or(ErrorCode::QueServiceNotStart)
    }

    /// The customer session of the agent's pending assignment of (que_id, user_id), else
    /// `QUE_USER_CANCELLED`.
    fn pending_assignment(
        &self,
        t: &TenantQueues,
        me: SessionId,
        que_id: i32,
        user_id: &str,
    ) -> Result<SessionId, ErrorCode> {
        match t.agents.get(&me).map(|a| &a.state) {
            Some(AgentState::Assigned { user, customer, .. })
                if user.que_id == que_id && user.user_id == user_id =>
            {
                Ok(*customer)
            }
            _ => Err(ErrorCode::QueUserCancelled),
        }
    }

    fn accept(
        &self,
        t: &mut TenantQueues,
        me: SessionId,
        que_id: i32,
        user_id: &str,
    ) -> Result<(), ErrorCode> {
        t.queue_index(que_id)?;
        self.serving_agent(t, me, que_id)?;
        let customer = self.pending_assignment(t, me, que_id, user_id)?;
        let tick = t.next_tick();
        let timer = self.start_timer(t.tenant.clone(), me, tick);
        let agent = t.agents.get_mut(&me).expect("checked above");
        if let AgentState::Assigned { timer, .. } = &agent.state {
            timer.abort();
        }
        agent.state = AgentState::Serving {
            que_id,
            customer,
            call_started: false,
            timer: Some(timer),
            tick,
        };
        self.directory
            .set_activity(&agent.handle, Activity::Service, true);
        if let Some(remote) = self.remote.get() {
            remote.service(&agent.handle, Some(customer));
        }
        if let Some((qi, ci)) = t.find_customer(customer) {
            let c = t.queues[qi].take_customer(ci);
            t.tell_not_queuing(&c);
        }
        Ok(())
    }

    /// ReqAssignUser: the agent's pending assignment again, or (after ending its service)
    /// the earliest waiting customer of its queues it did not pass over, else the earliest
    /// one it did (a customer never waits while an agent asks).
    fn req_assign(&self, t: &mut TenantQueues, me: SessionId) -> Result<QueueUser, ErrorCode> {
        let agent = t.agents.get(&me).ok_or(ErrorCode::QueServiceNotStart)?;
        match &agent.state {
            AgentState::Assigned { user, customer, .. } => {
                let mut user = user.clone();
                if let Some((qi, ci)) = t.find_customer(*customer) {
                    user.queuing_time = t.queues[qi].customers[ci].queuing_time();
                }
                return Ok(user);
            }
            AgentState::Serving { .. } => self.end_service(t, me, false),
            AgentState::Free => {}
        }
        let agent = &t.agents[&me];
        let earliest = |also_passed_over: bool| {
            t.queues.iter().enumerate().find_map(|(qi, q)| {
                if !agent.serving.contains_key(&q.info.que_id) {
                    return None;
                }
                q.customers
                    .iter()
                    .position(|c| {
                        c.assigned_to.is_none()
                            && (also_passed_over || !c.passed_over(me))
                            && c.handle.user_id() != agent.handle.user_id()
                    })
                    .map(|ci| (qi, ci))
            })
        };
        let (qi, ci) = earliest(false)
            .or_else(|| earliest(true))
            .ok_or(ErrorCode::QueNoUser)?;
        Ok(self.assign(t, qi, ci, me))
    }

    /// The agent passes over the customer of its pending assignment: a rejection, or (if
    /// `timed_out`) no answer in time, and then the agent is told `CancelAssignUser`.
    /// Automatic assignment holds that customer back from this agent for
    /// `call_timeout_secs`, for another agent to take it.
    fn pass_over(&self, t: &mut TenantQueues, agent: SessionId, timed_out: bool) {
        let Some(customer) = t.withdraw_assignment(agent, timed_out) else {
            return;
        };
        let tick = t.next_tick();
        let tenant = t.tenant.clone();
        let hold =
            self.after_timeout(move |queues| queues.hold_over(&tenant, customer, agent, tick));
        let (qi, ci) = t
            .find_customer(customer)
            .expect("withdraw_assignment found it");
        let old = t.queues[qi].customers[ci].passed_over_by.insert(
            agent,
            PassedOver {
                tick,
                hold: Some(hold),
            },
        );
        if let Some(PassedOver {
            hold: Some(old_hold),
            ..
        }) = old
        {
            old_hold.abort();
        }
    }

    /// The hold started at `tick` on offering `customer` to `agent` is over: automatic
    /// assignment may offer it to that agent again.
    fn hold_over(&self, tenant: &str, customer: SessionId, agent: SessionId, tick: u64) {
        self.transact(tenant, |t| {
            if let Some((qi, ci)) = t.find_customer(customer) {
                let c = &mut t.queues[qi].customers[ci];
                if let Some(p) = c.passed_over_by.get_mut(&agent) {
                    if p.tick == tick {
                        p.hold = None;
                    }
                }
            }
        });
    }

    /// Assigns customer `ci` of queue `qi` to agent `agent` (free) and starts the answer
    /// timer. Returns what the agent is told.
    fn assign(&self, t: &mut TenantQueues, qi: usize, ci: usize, agent: SessionId) -> QueueUser {
        let tick = t.next_tick();
        let timer = self.start_timer(t.tenant.clone(), agent, tick);
        let que_id = t.queues[qi].info.que_id;
        let c = &mut t.queues[qi].customers[ci];
        c.assigned_to = Some(agent);
        let user = QueueUser {
            que_id,
            user_id: c.handle.user_id().to_owned(),
            name: c.handle.nickname().to_owned(),
            queuing_time: c.queuing_time(),
            usr_ext_dat: c.usr_ext_dat.clone(),
        };
        let customer = c.handle.session_id();
        let a = t
            .agents
            .get_mut(&agent)
            .expect("assigning to a known agent");
        a.state = AgentState::Assigned {
            user: user.clone(),
            customer,
            timer,
            tick,
        };
        user
    }

    /// Ends the agent's service, if any: it is free again, and (unless `leaving`) no longer
    /// busy.
    fn end_service(&self, t: &mut TenantQueues, agent: SessionId, leaving: bool) {
        let tick = t.next_tick();
        let Some(a) = t.agents.get_mut(&agent) else {
            return;
        };
        if let AgentState::Serving { timer, .. } = &a.state {
            if let Some(timer) = timer {
                timer.abort();
            }
            a.state = AgentState::Free;
            a.free_since = tick;
            if !leaving {
                self.directory
                    .set_activity(&a.handle, Activity::Service, false);
            }
            if let Some(remote) = self.remote.get() {
                remote.service(&a.handle, None);
            }
        }
    }

    /// Gives waiting customers to free agents (see the module documentation).
    fn auto_assign(&self, t: &mut TenantQueues) {
        let mut available: HashSet<SessionId> = t
            .agents
            .iter()
            .filter(|(_, a)| matches!(a.state, AgentState::Free))
            .filter(|(_, a)| {
                self.directory
                    .availability(&a.handle)
                    .is_some_and(|(dnd, in_call)| dnd == 0 && !in_call)
            })
            .map(|(sid, _)| *sid)
            .collect();
        // First the agents that never passed a customer over, then those it may come back to.
        for coming_back in [false, true] {
            self.assign_round(t, &mut available, coming_back);
        }
    }

    /// One round of [`Queues::auto_assign`]: each waiting customer, in order, goes to the
    /// best of the `available` agents that never passed it over (or, if `coming_back`, that
    /// passed it over long enough ago).
    fn assign_round(
        &self,
        t: &mut TenantQueues,
        available: &mut HashSet<SessionId>,
        coming_back: bool,
    ) {
        for qi in 0..t.queues.len() {
            let que_id = t.queues[qi].info.que_id;
            for ci in 0..t.queues[qi].customers.len() {
                if available.is_empty() {
                    return;
                }
                let c = &t.queues[qi].customers[ci];
                if c.assigned_to.is_some() {
                    continue;
                }
                let best = t
                    .agents
                    .iter()
                    .filter(|(sid, a)| {
                        let eligible = if coming_back {
                            c.may_come_back_to(**sid)
                        } else {
                            !c.passed_over(**sid)
                        };
                        available.contains(sid)
                            && eligible
                            && a.handle.user_id() != c.handle.user_id()
                    })
                    .filter_map(|(sid, a)| {
                        a.serving
                            .get(&que_id)
                            .map(|prio| (*prio, a.free_since, *sid))
                    })
                    .min();
                if let Some((_, _, agent)) = best {
                    available.remove(&agent);
                    let user = self.assign(t, qi, ci, agent);
                    let to = t.agents[&agent].handle.clone();
                    t.pending.push((to, Event::AutoAssignUser(user)));
                }
            }
        }
    }

    /// A timer that calls [`Queues::expired`] after `call_timeout_secs`.
    fn start_timer(&self, tenant: Arc<str>, agent: SessionId, tick: u64) -> AbortHandle {
        self.after_timeout(move |queues| queues.expired(&tenant, agent, tick))
    }

    /// A timer that runs `then` after `call_timeout_secs` (unless the server is gone).
    fn after_timeout(&self, then: impl FnOnce(&Queues) + Send + 'static) -> AbortHandle {
        let me = self.me.clone();
        let after = self.timeout;
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            if let Some(queues) = me.upgrade() {
                then(&queues);
            }
        })
        .abort_handle()
    }

    /// The timer started at `tick` for `agent` fired: an assignment still pending is
    /// cancelled (the agent passed the customer over, and is told); a service still without
    /// a call ends.
    fn expired(&self, tenant: &str, agent: SessionId, tick: u64) {
        self.transact(tenant, |t| match t.agents.get(&agent).map(|a| &a.state) {
            Some(AgentState::Assigned { tick: at, .. }) if *at == tick => {
                self.pass_over(t, agent, true)
            }
            Some(AgentState::Serving {
                tick: at,
                call_started: false,
                ..
            }) if *at == tick => self.end_service(t, agent, false),
            _ => {}
        });
    }

    /// Whether `agent` is in service with a customer other than `other`: then it is busy
    /// for calls from `other` (its own customer may still call it, and it may call them).
    pub fn serves_other_than(&self, agent: &SessionHandle, other: &SessionHandle) -> bool {
        let elsewhere = self.services_elsewhere.lock().unwrap();
        if let Some((_, customer)) = elsewhere.get(&agent.session_id()) {
            return *customer != other.session_id();
        }
        drop(elsewhere);
        let Some(state) = self.tenants.get(agent.tenant()) else {
            return false;
        };
        let t = state.lock().unwrap();
        t.agents.get(&agent.session_id()).is_some_and(|a| {
            matches!(a.state, AgentState::Serving { customer, .. } if customer != other.session_id())
        })
    }

    /// Something that may free agents changed (e.g. a DND value): re-runs the assignment.
    pub fn reassign(&self, tenant: &str) {
        self.transact(tenant, |_| {});
    }

    /// A call between `caller` and `callee` was placed: an agent in service with the other
    /// party keeps serving until that call ends.
    pub fn call_placed(&self, caller: &SessionHandle, callee: &SessionHandle) {
        if let Some(remote) = self.remote_for(caller.tenant()) {
            return remote.call(caller, callee, true);
        }
        self.transact(caller.tenant(), |t| {
            for (agent, other) in [(caller, callee), (callee, caller)] {
                if let Some(a) = t.agents.get_mut(&agent.session_id()) {
                    if let AgentState::Serving {
                        customer,
                        call_started,
                        timer,
                        ..
                    } = &mut a.state
                    {
                        if *customer == other.session_id() {
                            *call_started = true;
                            if let Some(timer) = timer.take() {
                                timer.abort();
                            }
                        }
                    }
                }
            }
        });
    }

    /// A call between `caller` and `callee` ended: the service of an agent with the other
    /// party ends; either may be free for customers again.
    pub fn call_ended(&self, caller: &SessionHandle, callee: &SessionHandle) {
        if let Some(remote) = self.remote_for(caller.tenant()) {
            return remote.call(caller, callee, false);
        }
        self.transact(caller.tenant(), |t| {
            for (agent, other) in [(caller, callee), (callee, caller)] {
                let ends = t.agents.get(&agent.session_id()).is_some_and(|a| {
                    matches!(a.state, AgentState::Serving { customer, call_started: true, .. }
                        if customer == other.session_id())
                });
                if ends {
                    self.end_service(t, agent.session_id(), false);
                }
            }
        });
    }

    /// A session goes offline (or was replaced by a relogin): as a customer it leaves its
    /// queue (a pending assignment is withdrawn, the agent told) and ends the service of an
    /// agent serving it; as an agent its assignment is withdrawn, its service ends and it
    /// stops serving every queue.
    pub fn leave(&self, handle: &SessionHandle) {
        let me = handle.session_id();
        self.transact(handle.tenant(), |t| {
            t.remove_customer(me, false);
            let serving_me: Vec<SessionId> = t
                .agents
                .iter()
                .filter(|(_, a)| matches!(a.state, AgentState::Serving { customer, .. } if customer == me))
                .map(|(sid, _)| *sid)
                .collect();
            for agent in serving_me {
                self.end_service(t, agent, false);
            }
            if t.agents.contains_key(&me) {
                t.withdraw_assignment(me, false);
                self.end_service(t, me, true);
                t.agents.remove(&me);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::QueueConfig;
    use crate::directory::local::LocalDirectory;
    use crate::directory::outbound::{Outbound, Outbox, SessionLink};
    use crate::directory::WantedId;
    use crvideo_proto::USER_BUSY;

    /// A logged-in session whose outbound queue the test can read.
    struct Probe {
        handle: SessionHandle,
        rx: Outbox,
    }

    impl Probe {
        fn login(dir: &dyn Directory, user: &str, id: SessionId) -> Probe {
            let (l, rx, _stop) = SessionLink::new(id, "127.0.0.1:1".parse().unwrap());
            let (handle, _) = dir.register("t", WantedId::Given(user), user, l);
            Probe { handle, rx }
        }

        /// The queue events queued so far, compactly.
        fn drain(&mut self) -> Vec<String> {
            let mut out = Vec::new();
            while let Ok(Outbound::Message(m)) = self.rx.try_recv() {
                let frame: ServerFrame = crvideo_proto::decode(m.to_text().unwrap()).unwrap();
                out.push(match frame {
                    ServerFrame::Event(Event::QueueStatus(s)) => {
                        format!("status a{} w{} s{}", s.agent_num, s.wait_num, s.srv_num)
                    }
                    ServerFrame::Event(Event::QueuingInfo(i)) if i.que_id == -1 => "left".into(),
                    ServerFrame::Event(Event::QueuingInfo(i)) => format!("pos {}", i.position),
                    ServerFrame::Event(Event::AutoAssignUser(u)) => format!("auto {}", u.user_id),
                    ServerFrame::Event(Event::CancelAssignUser { user_id, .. }) => {
                        format!("cancel {user_id}")
                    }
                    other => format!("{other:?}"),
                });
            }
            out
        }
    }

    fn setup() -> (Arc<dyn Directory>, Arc<Queues>) {
        setup_publishing_every(Duration::ZERO)
    }

    fn setup_publishing_every(interval: Duration) -> (Arc<dyn Directory>, Arc<Queues>) {
        let mut tenant = TenantConfig::with_password("t", "pw");
        tenant.queues = vec![QueueConfig {
            id: 1,
            name: "q".into(),
            desc: String::new(),
            prio: 0,
        }];
        let dir: Arc<dyn Directory> = Arc::new(LocalDirectory::new());
        let queues = Queues::new(&[tenant], dir.clone(), Duration::from_secs(30), interval);
        (dir, queues)
    }

    /// What a request answered (every request is answered).
    fn answer<T>(
        request: impl FnOnce(&mut dyn FnMut(Result<T, ErrorCode>)),
    ) -> Result<T, ErrorCode> {
        let mut result = None;
        request(&mut |r| result = Some(r));
        result.expect("always answered")
    }

    fn queue_up(queues: &Queues, who: &Probe) {
        answer(|r| queues.start_queuing(&who.handle, 1, String::new(), r)).unwrap();
    }

    fn serve(queues: &Queues, who: &Probe) {
        answer(|r| queues.start_service(&who.handle, 1, 0, r)).unwrap();
    }

    #[tokio::test]
    async fn a_rejected_head_does_not_block_the_customers_behind_it() {
        let (dir, queues) = setup();
        let mut agent = Probe::login(&*dir, "agent", 1);
        let (c1, c2) = (Probe::login(&*dir, "c1", 2), Probe::login(&*dir, "c2", 3));
        serve(&queues, &agent);
        queue_up(&queues, &c1);
        answer(|r| queues.reject_assign_user(&agent.handle, 1, "c1", r)).unwrap();
        queue_up(&queues, &c2);
        assert_eq!(
            agent.drain(),
            vec![
                "status a1 w0 s0",
                "auto c1",
                "status a1 w1 s0",
                "auto c2",
                "status a1 w2 s0"
            ]
        );
    }

    #[tokio::test]
    async fn nobody_is_assigned_to_themselves() {
        let (dir, queues) = setup();
        let mut both = Probe::login(&*dir, "both", 1);
        serve(&queues, &both);
        queue_up(&queues, &both);
        assert_eq!(
            answer(|r| queues.req_assign_user(&both.handle, r)),
            Err(ErrorCode::QueNoUser)
        );
        assert_eq!(
            both.drain(),
            vec!["status a1 w0 s0", "pos 0", "status a1 w1 s0"],
            "one status per change, though agent and customer"
        );
    }

    #[tokio::test]
    async fn a_session_replaced_by_a_relogin_leaves_cleanly() {
        let (dir, queues) = setup();
        let old = Probe::login(&*dir, "agent", 1);
        let mut other = Probe::login(&*dir, "other", 2);
        let mut c = Probe::login(&*dir, "c", 3);
        serve(&queues, &old);
        queue_up(&queues, &c);
        dir.set_dnd(&other.handle, 1, &mut || {});
        serve(&queues, &other);
        dir.set_dnd(&other.handle, 0, &mut || {});
        queues.reassign("t");
        // The relogin: the old session is no longer free for customers...
        let new = Probe::login(&*dir, "agent", 4);
        c.drain();
        other.drain();
        // ...and its late cleanup hands its customer on.
        queues.leave(&old.handle);
        assert_eq!(other.drain(), vec!["auto c", "status a1 w1 s0"]);
        assert_eq!(c.drain(), vec!["status a1 w1 s0"]);
        assert_eq!(
            answer(|r| queues.req_assign_user(&new.handle, r)),
            Err(ErrorCode::QueServiceNotStart),
            "the new session serves nothing"
        );
    }

    #[tokio::test]
    async fn a_served_customer_going_offline_frees_the_agent() {
        let (dir, queues) = setup();
        let mut agent = Probe::login(&*dir, "agent", 1);
        let c = Probe::login(&*dir, "c", 2);
        serve(&queues, &agent);
        queue_up(&queues, &c);
        answer(|r| queues.accept_assign_user(&agent.handle, 1, "c", r)).unwrap();
        assert_eq!(dir.statuses("t")[0].status, USER_BUSY);
        agent.drain();
        queues.leave(&c.handle);
        assert_eq!(agent.drain(), vec!["status a1 w0 s0"]);
        assert_eq!(dir.statuses("t")[0].status, crvideo_proto::USER_IDLE);
    }

    /// Past the end of the publication interval (tokio's clock is paused in these tests:
    /// it jumps to the publication's timer, which runs first).
    async fn after_interval() {
        tokio::time::sleep(Duration::from_millis(150)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_queue_publishes_once_per_interval_with_the_latest_values() {
        let (dir, queues) = setup_publishing_every(Duration::from_millis(100));
        let mut agent = Probe::login(&*dir, "agent", 1);
        dir.set_dnd(&agent.handle, 1, &mut || {});
        serve(&queues, &agent);
        assert_eq!(
            agent.drain(),
            vec!["status a1 w0 s0"],
            "quiet before: at once"
        );
        let mut customers: Vec<Probe> = (0..5)
            .map(|i| Probe::login(&*dir, &format!("c{i}"), 10 + i))
            .collect();
        for c in &customers {
            queue_up(&queues, c);
        }
        // Each hears its own place as it joins; the counts wait for the interval's end.
        for (i, c) in customers.iter_mut().enumerate() {
            assert_eq!(c.drain(), vec![format!("pos {i}")]);
        }
        assert_eq!(agent.drain(), Vec::<String>::new());
        after_interval().await;
        for c in customers.iter_mut() {
            assert_eq!(c.drain(), vec!["status a1 w5 s0"]);
        }
        assert_eq!(agent.drain(), vec!["status a1 w5 s0"]);
        // Three customers served within one interval: the last one moves 4 -> 1 in one step.
        for (n, name) in ["c0", "c1", "c2"].iter().enumerate() {
            let user = answer(|r| queues.req_assign_user(&agent.handle, r)).unwrap();
            assert_eq!(user.user_id, *name);
            answer(|r| queues.accept_assign_user(&agent.handle, 1, name, r)).unwrap();
            assert_eq!(customers[n].drain(), vec!["left"], "told at once");
        }
        after_interval().await;
        assert_eq!(customers[3].drain(), vec!["pos 0", "status a1 w2 s1"]);
        assert_eq!(customers[4].drain(), vec!["pos 1", "status a1 w2 s1"]);
        assert_eq!(agent.drain(), vec!["status a1 w2 s1"]);
        for served in &mut customers[..3] {
            assert_eq!(served.drain(), Vec::<String>::new(), "left: hears no more");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_newcomer_gets_the_counts_though_they_did_not_change() {
        let (dir, queues) = setup_publishing_every(Duration::from_millis(100));
        let mut first = Probe::login(&*dir, "first", 1);
        let mut second = Probe::login(&*dir, "second", 2);
        queue_up(&queues, &first);
        assert_eq!(first.drain(), vec!["pos 0", "status a0 w1 s0"]);
        // Within the interval one leaves and another joins: one waiting, as published.
        answer(|r| queues.stop_queuing(&first.handle, r)).unwrap();
        queue_up(&queues, &second);
        after_interval().await;
        assert_eq!(first.drain(), vec!["left"]);
        assert_eq!(second.drain(), vec!["pos 0", "status a0 w1 s0"]);
    }
}
