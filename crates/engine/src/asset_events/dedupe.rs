//! Which events were already handled, within a bounded memory.
//!
//! I/O Events delivers at least once, so the same event can arrive again
//! (a retry whose first answer was lost, a duplicate). Each event is keyed on
//! its I/O Events id (`x-adobe-event-id` / `event_id`, unique per event) when
//! it has one, else on CloudEvents' (`source`, `id`) pair, and remembered for
//! `ttl` (I/O Events stops retrying after 24 hours) or until `max` newer
//! events push it out, oldest first.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const DEFAULT_MAX: usize = 100_000;
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// The key of an event: its I/O Events id when it has one, else (`source`,
/// `id`). `None` when neither is known.
pub fn dedupe_key(event_id: Option<&str>, source: Option<&str>, id: Option<&str>) -> Option<String> {
    match (event_id.filter(|e| !e.is_empty()), source, id.filter(|i| !i.is_empty())) {
        (Some(event_id), _, _) => Some(format!("e\n{event_id}")),
        // The newline cannot occur in a source that parsed, so pairs cannot collide.
        (None, Some(source), Some(id)) => Some(format!("c\n{source}\n{id}")),
        _ => None,
    }
}

struct Entry {
    key: Arc<str>,
    generation: u64,
    at: Instant,
}

/// Remembers up to `max` event keys for `ttl` each.
///
/// Memory holds at most `max` keys (each shared by the index and the age
/// queue); the queue keeps at most `2 * max` entries, stale ones (of
/// forgotten keys) included, and is compacted when it reaches that.
pub struct EventDeduper {
    max: usize,
    ttl: Duration,
    /// Key → the generation of its live queue entry.
    index: HashMap<Arc<str>, u64>,
    /// Oldest first.
    queue: VecDeque<Entry>,
    next_generation: u64,
}

impl Default for EventDeduper {
    fn default() -> Self {
        EventDeduper::new(DEFAULT_MAX, DEFAULT_TTL)
    }
}

impl EventDeduper {
    /// `max` is at least 1.
    pub fn new(max: usize, ttl: Duration) -> EventDeduper {
        let max = max.max(1);
        EventDeduper { max, ttl, index: HashMap::new(), queue: VecDeque::new(), next_generation: 0 }
    }

    pub fn max(&self) -> usize {
        self.max
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Keys remembered now (never more than `max`).
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Whether `key` was seen within `ttl`; if not, it is remembered from now.
    pub fn seen(&mut self, key: &str) -> bool {
        self.seen_at(key, Instant::now())
    }

    /// [`EventDeduper::seen`] at `now` (which must not go backwards).
    pub fn seen_at(&mut self, key: &str, now: Instant) -> bool {
        self.expire(now);
        if self.index.contains_key(key) {
            return true;
        }
        let key: Arc<str> = Arc::from(key);
        let generation = self.next_generation;
        self.next_generation += 1;
        self.index.insert(Arc::clone(&key), generation);
        self.queue.push_back(Entry { key, generation, at: now });
        while self.index.len() > self.max {
            self.pop_oldest();
        }
        if self.queue.len() >= 2 * self.max {
            let index = &self.index;
            self.queue.retain(|entry| index.get(&entry.key) == Some(&entry.generation));
        }
        false
    }

    /// Forgets `key` (its handling failed, so a redelivery must not count as
    /// a duplicate). Returns whether it was remembered.
    pub fn forget(&mut self, key: &str) -> bool {
        self.index.remove(key).is_some()
    }

    fn expire(&mut self, now: Instant) {
        while self.queue.front().is_some_and(|entry| now.saturating_duration_since(entry.at) >= self.ttl) {
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) {
        if let Some(entry) = self.queue.pop_front() {
            if self.index.get(&entry.key) == Some(&entry.generation) {
                self.index.remove(&entry.key);
            }
        }
    }

    #[cfg(test)]
    fn footprint(&self) -> (usize, usize, usize) {
        (self.index.len(), self.queue.len(), self.index.capacity())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_prefer_the_io_event_id() {
        assert_eq!(dedupe_key(Some("E"), Some("S"), Some("I")).unwrap(), "e\nE");
        assert_eq!(dedupe_key(None, Some("S"), Some("I")).unwrap(), "c\nS\nI");
        assert_eq!(dedupe_key(Some(""), Some("S"), Some("I")).unwrap(), "c\nS\nI");
        assert_eq!(dedupe_key(None, None, Some("I")), None);
        assert_eq!(dedupe_key(None, Some("S"), None), None);
    }

    #[test]
    fn duplicates_are_seen_once_and_forgotten_ones_come_back() {
        let mut d = EventDeduper::default();
        assert!(!d.seen("a"));
        assert!(d.seen("a"));
        assert!(!d.seen("b"));
        assert!(d.forget("a"));
        assert!(!d.forget("a"));
        assert!(!d.seen("a"));
        assert!(d.seen("a"));
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn entries_expire_after_ttl() {
        let mut d = EventDeduper::new(10, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(!d.seen_at("a", t0));
        assert!(d.seen_at("a", t0 + Duration::from_secs(59)));
        assert!(!d.seen_at("b", t0 + Duration::from_secs(30)));
        // "a" is 60 s old: gone; "b" is 30 s old: still there.
        assert!(!d.seen_at("a", t0 + Duration::from_secs(60)));
        assert!(d.seen_at("b", t0 + Duration::from_secs(60)));
        assert!(!d.seen_at("b", t0 + Duration::from_secs(95)));
    }

    #[test]
    fn the_oldest_are_pushed_out_at_max() {
        let mut d = EventDeduper::new(3, DEFAULT_TTL);
        for k in ["a", "b", "c", "d"] {
            assert!(!d.seen(k));
        }
        assert_eq!(d.len(), 3);
        assert!(d.seen("d") && d.seen("b"));
        assert!(!d.seen("a"), "the oldest was pushed out");
    }

    #[test]
    fn memory_stays_bounded_under_a_million_distinct_events() {
        let mut d = EventDeduper::default();
        let max = DEFAULT_MAX;
        let now = Instant::now();
        let mut key = String::new();
        let mut peak = (0, 0, 0);
        for i in 0..1_000_000u32 {
            key.clear();
            use std::fmt::Write;
            write!(key, "c\nacct:aem-p1-e2@adobe.com\n{i:08x}-0000-4000-8000-000000000000").unwrap();
            assert!(!d.seen_at(&key, now));
            // Every tenth event fails and is forgotten, leaving stale queue entries.
            if i % 10 == 0 {
                d.forget(&key);
            }
            let (len, queued, capacity) = d.footprint();
            assert!(len <= max, "{len} keys after {i} events");
            peak = (peak.0.max(len), peak.1.max(queued), peak.2.max(capacity));
        }
        assert!(peak.0 == max && peak.1 <= 2 * max, "{peak:?}");
        // The index never grew past what max keys need.
        assert!(peak.2 <= 4 * max, "{peak:?}");
        // The most recent are still known, the first long gone.
        assert!(d.seen("c\nacct:aem-p1-e2@adobe.com\n000f423f-0000-4000-8000-000000000000"));
        assert!(!d.seen("c\nacct:aem-p1-e2@adobe.com\n00000001-0000-4000-8000-000000000000"));
    }
}
