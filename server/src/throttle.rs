//! Abuse limits: the login back-off (per source address, with the tenant account's as a
//! ceiling), the limits on login attempts checked at once, and the per-session token
//! buckets.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Failure counters not touched for this long are forgotten.
pub const FORGET_AFTER: Duration = Duration::from_secs(600);
/// Most entries each failure table holds; beyond, the least recently touched goes.
pub const MAX_ENTRIES: usize = 100_000;

struct Entry {
    failures: u32,
    last: Instant,
    /// Key of this entry in `Table::order`.
    seq: u64,
}

/// Failure counts by key, bounded in size and age. Least recently touched first in `order`.
struct Table<K> {
    entries: HashMap<K, Entry>,
    order: BTreeMap<u64, K>,
    next_seq: u64,
    capacity: usize,
}

impl<K: Hash + Eq + Clone> Table<K> {
    fn new(capacity: usize) -> Table<K> {
        Table {
            entries: HashMap::new(),
            order: BTreeMap::new(),
            next_seq: 0,
            capacity,
        }
    }

    /// Drops the entries idle for [`FORGET_AFTER`] (the oldest are first in `order`).
    fn expire(&mut self, now: Instant) {
        while let Some((&seq, key)) = self.order.first_key_value() {
            let idle = !matches!(self.entries.get(key), Some(e)
                if e.seq == seq && now.saturating_duration_since(e.last) < FORGET_AFTER);
            if !idle {
                break;
            }
            let key = self.order.remove(&seq).expect("just seen");
            if self.entries.get(&key).is_some_and(|e| e.seq == seq) {
                self.entries.remove(&key);
            }
        }
    }

    fn failures(&mut self, key: &K, now: Instant) -> u32 {
        self.expire(now);
        self.entries.get(key).map_or(0, |e| e.failures)
    }

    fn record_failure(&mut self, key: &K, now: Instant) {
        self.expire(now);
        let seq = self.next_seq;
        self.next_seq += 1;
        let failures = match self.entries.remove(key) {
            Some(old) => {
                self.order.remove(&old.seq);
                old.failures.saturating_add(1)
            }
            None => {
                while self.entries.len() >= self.capacity {
                    let Some((_, oldest)) = self.order.pop_first() else {
                        break;
                    };
                    self.entries.remove(&oldest);
                }
                1
            }
        };
        self.entries.insert(
            key.clone(),
            Entry {
                failures,
                last: now,
                seq,
            },
        );
        self.order.insert(seq, key.clone());
    }

    fn reset(&mut self, key: &K) {
        if let Some(old) = self.entries.remove(key) {
            self.order.remove(&old.seq);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Failed logins per source address and per tenant account. An attempt from an address with
/// `a` failures for an account with `c` failures waits `min(max, base × 2^(n−1))`, where
/// `n = a` when `a` is 0 and `max(a, c)` otherwise, before it is checked; a success resets
/// both counters.
///
/// So the back-off is per source first: failures from elsewhere never delay an address that
/// has not failed itself, and the owner of an account under attack logs in from their own
/// address at once. The account's count is a ceiling for the addresses that fail: a guesser
/// spread over many addresses pays the account's back-off from its second guess at each.
/// (Attempts from one address cannot run in parallel to dodge the back-off: see
/// [`Concurrency`].)
pub struct LoginThrottle {
    accounts: Mutex<Table<String>>,
    addresses: Mutex<Table<IpAddr>>,
    base: Duration,
    max: Duration,
}

impl LoginThrottle {
    pub fn new(base: Duration, max: Duration) -> LoginThrottle {
        LoginThrottle::with_capacity(base, max, MAX_ENTRIES)
    }

    fn with_capacity(base: Duration, max: Duration, capacity: usize) -> LoginThrottle {
        LoginThrottle {
            accounts: Mutex::new(Table::new(capacity)),
            addresses: Mutex::new(Table::new(capacity)),
            base,
            max,
        }
    }

    fn delay_for(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32 << (failures - 1).min(20);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// How long a login attempt for `account` from `address` waits before it is checked.
    pub fn delay(&self, account: &str, address: IpAddr) -> Duration {
        let now = Instant::now();
        let by_address = self.addresses.lock().unwrap().failures(&address, now);
        if by_address == 0 {
            return Duration::ZERO;
        }
        let by_account = self
            .accounts
            .lock()
            .unwrap()
            .failures(&account.to_owned(), now);
        self.delay_for(by_account.max(by_address))
    }

    pub fn failed(&self, account: &str, address: IpAddr) {
        let now = Instant::now();
        self.accounts
            .lock()
            .unwrap()
            .record_failure(&account.to_owned(), now);
        self.addresses.lock().unwrap().record_failure(&address, now);
    }

    pub fn succeeded(&self, account: &str, address: IpAddr) {
        self.accounts.lock().unwrap().reset(&account.to_owned());
        self.addresses.lock().unwrap().reset(&address);
    }
}

/// At most `max` holders per key at once; the others wait their turn (first come, first
/// served). Keys without holders or waiters are forgotten.
pub struct Concurrency<K: Hash + Eq + Clone> {
    max: usize,
    slots: Mutex<HashMap<K, Arc<Semaphore>>>,
}

/// A turn taken from [`Concurrency`]; the next waiter's when dropped.
pub struct Turn<'a, K: Hash + Eq + Clone> {
    owner: &'a Concurrency<K>,
    key: K,
    permit: Option<OwnedSemaphorePermit>,
}

impl<K: Hash + Eq + Clone> Concurrency<K> {
    pub fn new(max: usize) -> Concurrency<K> {
        Concurrency {
            max: max.max(1),
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a turn of `key`.
    pub async fn turn(&self, key: K) -> Turn<'_, K> {
        let semaphore = self
            .slots
            .lock()
            .unwrap()
            .entry(key.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(self.max)))
            .clone();
        let permit = semaphore.acquire_owned().await.expect("never closed");
        Turn {
            owner: self,
            key,
            permit: Some(permit),
        }
    }

    /// Keys with holders or waiters.
    #[cfg(test)]
    fn keys(&self) -> usize {
        self.slots.lock().unwrap().len()
    }
}

impl<K: Hash + Eq + Clone> Drop for Turn<'_, K> {
    fn drop(&mut self) {
        let mut slots = self.owner.slots.lock().unwrap();
        drop(self.permit.take());
        // Under the lock: only this map and waiters hold a key's semaphore, so a count of 1
        // with every permit back means nobody holds or waits for it.
        if let Some(semaphore) = slots.get(&self.key) {
            if Arc::strong_count(semaphore) == 1 && semaphore.available_permits() == self.owner.max
            {
                slots.remove(&self.key);
            }
        }
    }
}

/// A token bucket: `rate` tokens a second, at most `burst` saved up.
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(rate: u32, burst: u32) -> TokenBucket {
        TokenBucket {
            rate: f64::from(rate),
            burst: f64::from(burst.max(1)),
            tokens: f64::from(burst.max(1)),
            last: Instant::now(),
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self) -> bool {
        self.take_at(Instant::now())
    }

    fn take_at(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn backoff_doubles_up_to_the_cap_and_resets() {
        let t = LoginThrottle::new(200 * MS, 5000 * MS);
        let (ip, other_ip): (IpAddr, IpAddr) =
            ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        assert_eq!(t.delay("acme", ip), Duration::ZERO);
        let mut expected = Vec::new();
        for _ in 0..8 {
            t.failed("acme", ip);
            expected.push(t.delay("acme", ip).as_millis());
        }
        assert_eq!(expected, [200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
        // Per address: another address is not delayed by these failures, for any account...
        assert_eq!(t.delay("acme", other_ip), Duration::ZERO);
        assert_eq!(t.delay("globex", other_ip), Duration::ZERO);
        assert_eq!(t.delay("globex", ip), 5000 * MS);
        // ...until it fails itself: then the account's count is its ceiling.
        t.failed("globex", other_ip);
        assert_eq!(t.delay("globex", other_ip), 200 * MS);
        assert_eq!(t.delay("acme", other_ip), 5000 * MS);
        t.succeeded("acme", ip);
        assert_eq!(t.delay("acme", ip), Duration::ZERO);
        for _ in 0..100 {
            t.failed("x", ip);
        }
        assert_eq!(t.delay("x", ip), 5000 * MS, "no overflow");
    }

    #[tokio::test]
    async fn concurrency_takes_turns_per_key_and_forgets_idle_keys() {
        let c = Concurrency::new(2);
        let a1 = c.turn("a").await;
        let a2 = c.turn("a").await;
        let b1 = c.turn("b").await;
        // A third turn of "a" waits until one is given back.
        let third = c.turn("a");
        tokio::pin!(third);
        assert!(futures_poll_once(&mut third).await.is_none());
        drop(a1);
        let a3 = third.await;
        assert_eq!(c.keys(), 2);
        drop((a2, a3, b1));
        assert_eq!(c.keys(), 0);
    }

    /// Polls a future once.
    async fn futures_poll_once<F: std::future::Future + Unpin>(f: &mut F) -> Option<F::Output> {
        tokio::select! {
            biased;
            out = f => Some(out),
            _ = std::future::ready(()) => None,
        }
    }

    #[test]
    fn tables_are_bounded_and_forget() {
        let mut table = Table::new(3);
        let now = Instant::now();
        for key in ["a", "b", "c", "a", "d"] {
            table.record_failure(&key, now);
        }
        assert_eq!(table.len(), 3);
        assert_eq!(table.failures(&"b", now), 0, "least recently touched went");
        assert_eq!(table.failures(&"a", now), 2);
        let later = now + FORGET_AFTER;
        assert_eq!(table.failures(&"a", later), 0);
        assert_eq!(table.len(), 0);
        assert!(table.order.is_empty());
    }

    #[test]
    fn bucket_allows_the_burst_then_the_rate() {
        let start = Instant::now();
        let mut b = TokenBucket::new(10, 5);
        b.last = start;
        for _ in 0..5 {
            assert!(b.take_at(start));
        }
        assert!(!b.take_at(start));
        assert!(b.take_at(start + 100 * MS));
        assert!(!b.take_at(start + 100 * MS));
        assert!(b.take_at(start + 10_000 * MS));
        assert!(b.tokens <= 5.0);
    }
}
