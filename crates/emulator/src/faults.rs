//! Seeded fault decisions. A decision depends only on (seed, route, stable
//! request key, attempt number), never on timing, so a rerun of the same client
//! meets the same faults whatever the scheduling.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::{FaultRoute, RouteFaults};

/// The fault chosen for one request.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Fault {
    #[serde(rename = "503")]
    Status503,
    #[serde(rename = "429")]
    Status429 {
        retry_after_seconds: u64,
    },
    ResetBefore,
    ResetMid,
}

/// Everything injected into one request: at most one [`Fault`], plus delays.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decision {
    pub fault: Option<Fault>,
    pub latency: Duration,
    /// Throttle bodies to this many bytes per second.
    pub slow_bytes_per_second: Option<u64>,
}

/// A uniform number in `[0, 1)` for a (seed, route, key, attempt, salt) tuple.
pub fn uniform(seed: u64, route: FaultRoute, key: &str, attempt: u32, salt: &str) -> f64 {
    uniform_in(seed, route.as_str(), key, attempt, salt)
}

/// [`uniform`] for any domain of draws (a route name, `events`, …).
pub fn uniform_in(seed: u64, domain: &str, key: &str, attempt: u32, salt: &str) -> f64 {
    let mut hasher = Sha256::new();
    hasher.update(seed.to_le_bytes());
    hasher.update(domain.as_bytes());
    hasher.update([0]);
    hasher.update(key.as_bytes());
    hasher.update([0]);
    hasher.update(attempt.to_le_bytes());
    hasher.update(salt.as_bytes());
    let digest = hasher.finalize();
    let mut word = [0u8; 8];
    word.copy_from_slice(&digest[..8]);
    // 53 random bits make every representable double in [0, 1) reachable.
    (u64::from_le_bytes(word) >> 11) as f64 / (1u64 << 53) as f64
}

/// Decides what one attempt of a request gets.
pub fn decide(seed: u64, route: FaultRoute, key: &str, attempt: u32, rates: &RouteFaults) -> Decision {
    let mut decision = Decision::default();
    // Past maxAttempt nothing is injected, latency included.
    if rates.max_attempt != 0 && attempt > rates.max_attempt {
        return decision;
    }
    if rates.latency_ms > 0 || rates.jitter_ms > 0 {
        let jitter = if rates.jitter_ms > 0 {
            (uniform(seed, route, key, attempt, "jitter") * (rates.jitter_ms + 1) as f64) as u64
        } else {
            0
        };
        decision.latency = Duration::from_millis(rates.latency_ms + jitter);
    }
    let draw = uniform(seed, route, key, attempt, "fault");
    let mut edge = 0.0;
    let kinds: [(f64, Fault); 4] = [
        (rates.status503, Fault::Status503),
        (rates.status429, Fault::Status429 { retry_after_seconds: rates.retry_after_seconds }),
        (rates.reset_before, Fault::ResetBefore),
        (rates.reset_mid, Fault::ResetMid),
    ];
    for (rate, fault) in kinds {
        edge += rate;
        if draw < edge {
            decision.fault = Some(fault);
            break;
        }
    }
    if rates.slow > 0.0 && uniform(seed, route, key, attempt, "slow") < rates.slow {
        decision.slow_bytes_per_second = Some(rates.slow_bytes_per_second.max(1));
    }
    decision
}

/// Whether a file's part URLs are issued already expired (initiate route).
pub fn issue_expired(seed: u64, key: &str, attempt: u32, rates: &RouteFaults) -> bool {
    if rates.max_attempt != 0 && attempt > rates.max_attempt {
        return false;
    }
    rates.expired_urls > 0.0 && uniform(seed, FaultRoute::Initiate, key, attempt, "expired") < rates.expired_urls
}

/// Counts attempts per (route, key), so a retry is attempt 2, and so on.
#[derive(Default)]
pub struct AttemptCounter {
    seen: Mutex<HashMap<(FaultRoute, String), u32>>,
}

impl AttemptCounter {
    /// Records one more attempt and returns its number (1-based).
    pub fn next(&self, route: FaultRoute, key: &str) -> u32 {
        let mut seen = self.seen.lock().unwrap();
        let count = seen.entry((route, key.to_string())).or_insert(0);
        *count += 1;
        *count
    }

    pub fn clear(&self) {
        self.seen.lock().unwrap().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates() -> RouteFaults {
        RouteFaults { status503: 0.2, status429: 0.1, reset_before: 0.05, reset_mid: 0.05, ..Default::default() }
    }

    #[test]
    fn same_inputs_same_decision() {
        for attempt in 1..50 {
            let a = decide(7, FaultRoute::Part, "/content/dam/a.jpg#3", attempt, &rates());
            let b = decide(7, FaultRoute::Part, "/content/dam/a.jpg#3", attempt, &rates());
            assert_eq!(a, b);
        }
    }

    #[test]
    fn rates_are_respected_roughly() {
        let n = 20_000;
        let mut counts = [0usize; 4];
        for i in 0..n {
            match decide(1, FaultRoute::Initiate, &format!("k{i}"), 1, &rates()).fault {
                Some(Fault::Status503) => counts[0] += 1,
                Some(Fault::Status429 { .. }) => counts[1] += 1,
                Some(Fault::ResetBefore) => counts[2] += 1,
                Some(Fault::ResetMid) => counts[3] += 1,
                None => {}
            }
        }
        let share = |c: usize| c as f64 / n as f64;
        assert!((share(counts[0]) - 0.2).abs() < 0.02, "{counts:?}");
        assert!((share(counts[1]) - 0.1).abs() < 0.02, "{counts:?}");
        assert!((share(counts[2]) - 0.05).abs() < 0.015, "{counts:?}");
        assert!((share(counts[3]) - 0.05).abs() < 0.015, "{counts:?}");
    }

    #[test]
    fn seeds_differ_and_max_attempt_limits() {
        let differs = (0..200).any(|i| {
            let key = format!("k{i}");
            decide(1, FaultRoute::Part, &key, 1, &rates()) != decide(2, FaultRoute::Part, &key, 1, &rates())
        });
        assert!(differs);
        let always = RouteFaults { status503: 1.0, max_attempt: 2, ..Default::default() };
        assert_eq!(decide(0, FaultRoute::Complete, "x", 2, &always).fault, Some(Fault::Status503));
        assert_eq!(decide(0, FaultRoute::Complete, "x", 3, &always).fault, None);
        let slow = RouteFaults { latency_ms: 50, max_attempt: 1, ..Default::default() };
        assert_eq!(decide(0, FaultRoute::Initiate, "x", 1, &slow).latency, Duration::from_millis(50));
        assert_eq!(decide(0, FaultRoute::Initiate, "x", 2, &slow).latency, Duration::ZERO);
    }

    #[test]
    fn latency_includes_bounded_jitter() {
        let r = RouteFaults { latency_ms: 10, jitter_ms: 5, ..Default::default() };
        for i in 0..100 {
            let d = decide(3, FaultRoute::Folder, &format!("{i}"), 1, &r);
            assert!(d.latency >= Duration::from_millis(10) && d.latency <= Duration::from_millis(15));
        }
    }

    #[test]
    fn counter_counts_per_key() {
        let c = AttemptCounter::default();
        assert_eq!(c.next(FaultRoute::Part, "a"), 1);
        assert_eq!(c.next(FaultRoute::Part, "a"), 2);
        assert_eq!(c.next(FaultRoute::Complete, "a"), 1);
        c.clear();
        assert_eq!(c.next(FaultRoute::Part, "a"), 1);
    }
}
