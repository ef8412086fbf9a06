//! What a real link imposes besides latency: AEM's throttling of concurrent
//! requests (429 with `Retry-After`) and the per-connection bandwidth of
//! blob storage (docs/protocol.md, "A real link"). Counts only; the
//! settings are the configuration's.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use serde_json::{json, Value};

use crate::config::Config;
use crate::http::{self, Response};
use crate::routes::names;

/// AEM requests in flight, and what the limits did.
#[derive(Default)]
pub struct Limits {
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    admitted: AtomicU64,
    throttled: AtomicU64,
    capped_puts: AtomicU64,
}

/// An admitted AEM request; it leaves the count when dropped.
pub struct Slot<'a>(&'a Limits);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Whether requests of `route` are AEM's to throttle: initiate, complete,
/// folder and create-asset (not IMS, the Author API, reads or the control routes).
pub fn throttled_route(route: &str) -> bool {
    matches!(route, names::INITIATE | names::COMPLETE | names::FOLDER | names::CREATE_ASSET)
}

impl Limits {
    /// Admits one more AEM request, or refuses it when `max` (0: no limit)
    /// are in flight already. Every admitted request counts, throttled or not,
    /// so `state()` shows the concurrency a client reached.
    pub fn admit(&self, max: usize) -> Option<Slot<'_>> {
        let before = self.in_flight.fetch_add(1, Ordering::AcqRel);
        if max > 0 && before >= max {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            self.throttled.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        self.admitted.fetch_add(1, Ordering::Relaxed);
        self.peak.fetch_max(before + 1, Ordering::Relaxed);
        Some(Slot(self))
    }

    /// The answer to a throttled request.
    pub fn refusal(config: &Config) -> Response {
        let mut response = http::json(
            429,
            &json!({"error": "Too many requests", "maxConcurrentAemRequests": config.throttle.max_concurrent_aem_requests}),
        );
        response.headers_mut().insert(hyper::header::RETRY_AFTER, config.throttle.retry_after_seconds.into());
        response
    }

    /// The bytes per second a part PUT is read at: the link's cap, or a
    /// `slow` fault's rate when that is slower. Counts the PUTs the cap applies to.
    pub fn blob_rate(&self, config: &Config, slow: Option<u64>) -> Option<u64> {
        let cap = Some(config.link.blob_bytes_per_second).filter(|&r| r > 0);
        if cap.is_some() {
            self.capped_puts.fetch_add(1, Ordering::Relaxed);
        }
        match (cap, slow) {
            (Some(cap), Some(slow)) => Some(cap.min(slow)),
            (cap, slow) => cap.or(slow),
        }
    }

    /// `state().limits`.
    pub fn state(&self) -> Value {
        json!({
            "aemInFlight": self.in_flight.load(Ordering::Acquire),
            "peakAemInFlight": self.peak.load(Ordering::Relaxed),
            "admittedAemRequests": self.admitted.load(Ordering::Relaxed),
            "throttledAemRequests": self.throttled.load(Ordering::Relaxed),
            "cappedPuts": self.capped_puts.load(Ordering::Relaxed),
        })
    }

    /// Forgets the counts (not the requests still in flight).
    pub fn reset(&self) {
        self.peak.store(self.in_flight.load(Ordering::Acquire), Ordering::Relaxed);
        self.admitted.store(0, Ordering::Relaxed);
        self.throttled.store(0, Ordering::Relaxed);
        self.capped_puts.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_the_limit_and_counts() {
        let limits = Limits::default();
        let a = limits.admit(2).unwrap();
        let b = limits.admit(2).unwrap();
        assert!(limits.admit(2).is_none());
        drop(a);
        let c = limits.admit(2).unwrap();
        assert!(limits.admit(2).is_none());
        drop((b, c));
        let unlimited: Vec<_> = (0..10).map(|_| limits.admit(0).unwrap()).collect();
        let state = limits.state();
        assert_eq!(state["aemInFlight"], 10);
        assert_eq!(state["peakAemInFlight"], 10);
        assert_eq!(state["admittedAemRequests"], 13);
        assert_eq!(state["throttledAemRequests"], 2);
        drop(unlimited);
        assert_eq!(limits.state()["aemInFlight"], 0);
    }

    #[test]
    fn the_cap_applies_to_every_put_and_slow_only_slows() {
        let limits = Limits::default();
        let mut config = Config::default();
        assert_eq!(limits.blob_rate(&config, None), None);
        assert_eq!(limits.blob_rate(&config, Some(10)), Some(10));
        config.link.blob_bytes_per_second = 1000;
        assert_eq!(limits.blob_rate(&config, None), Some(1000));
        assert_eq!(limits.blob_rate(&config, Some(10)), Some(10));
        assert_eq!(limits.blob_rate(&config, Some(5000)), Some(1000));
        assert_eq!(limits.state()["cappedPuts"], 3);
    }
}
