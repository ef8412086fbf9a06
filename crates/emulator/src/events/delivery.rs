//! The delivery task: the registration's `?challenge=` handshake, then each
//! event handed to a delivery of its own, as I/O Events delivers webhooks
//! (docs/assets.md, "The emulator"; the I/O Events retry rules): a POST of
//! the CloudEvents body with both signatures; a 2xx acknowledges it; 429 and
//! 5xx but 505, a refused or broken connection or a timeout are retried after
//! `retryBackoffMs`, doubling, with `x-adobe-retry-count`, up to
//! `maxAttempts`; any other status gives the event up. Seeded draws send a
//! delivered event a second time (`duplicateRate`) or hold one back behind
//! the next one or two (`reorderRate`).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, Semaphore};

use super::cloud_event::Event;
use super::keys::Signatures;
use super::{Attempt, Command, RegistrationStatus};
use crate::config::EventsConfig;
use crate::context::Context;

/// HTTP attempts in flight at once; waits between retries take none.
const CONCURRENT_ATTEMPTS: usize = 8;
/// A held-back event goes out after this long at most, passed or not.
const HOLD_LIMIT: Duration = Duration::from_millis(50);

/// One event on its way to one webhook.
struct Delivery {
    event: Arc<Event>,
    url: String,
    duplicate: bool,
}

struct Held {
    delivery: Delivery,
    /// Events still to pass it.
    behind: u32,
    /// When it goes out anyway.
    until: tokio::time::Instant,
}

pub(super) async fn run(
    ctx: Arc<Context>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    mut stopped: watch::Receiver<bool>,
) {
    let Ok(client) = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build() else {
        // No TLS backend: nothing can be delivered, and nothing may stay pending.
        abandon(&ctx, commands, Vec::new());
        return;
    };
    let permits = Arc::new(Semaphore::new(CONCURRENT_ATTEMPTS));
    let stop_signal = stopped.clone();
    let send = |delivery: Delivery| {
        tokio::spawn(deliver(Arc::clone(&ctx), client.clone(), Arc::clone(&permits), delivery, stop_signal.clone()));
    };
    let mut held: Vec<Held> = Vec::new();
    loop {
        let command = tokio::select! {
            command = commands.recv() => match command {
                Some(command) => command,
                None => break,
            },
            _ = tokio::time::sleep_until(held.first().map_or_else(tokio::time::Instant::now, |h| h.until)), if !held.is_empty() => {
                let now = tokio::time::Instant::now();
                let (due, waiting): (Vec<Held>, Vec<Held>) = held.into_iter().partition(|h| h.until <= now);
                held = waiting;
                due.into_iter().for_each(|h| send(h.delivery));
                continue;
            }
            _ = stopped.wait_for(|stopped| *stopped) => break,
        };
        match command {
            Command::Register(None) => ctx.events.settle(1),
            Command::Register(Some(url)) => {
                let interrupted = tokio::select! {
                    _ = handshake(&ctx, &client, &url) => false,
                    _ = stopped.wait_for(|stopped| *stopped) => true,
                };
                ctx.events.settle(1);
                if interrupted {
                    break;
                }
            }
            Command::Publish(event) => {
                let registration = ctx.events.registration();
                let (Some(url), RegistrationStatus::Active) = (registration.webhook_url, registration.status) else {
                    ctx.events.record(|s| s.dropped += 1);
                    ctx.events.event_settled();
                    continue;
                };
                let config = ctx.config().events.clone();
                let key = format!("{} {} {}", event.kind.as_str(), event.path, ctx.events.next_sequence());
                let draw = |salt: &str| crate::faults::uniform_in(config.seed, "events", &key, 0, salt);
                let delivery = Delivery {
                    event: Arc::new(event),
                    url,
                    duplicate: config.duplicate_rate > 0.0 && draw("duplicate") < config.duplicate_rate,
                };
                if config.reorder_rate > 0.0 && draw("reorder") < config.reorder_rate {
                    ctx.events.record(|s| s.reordered += 1);
                    let behind = 1 + u32::from(draw("behind") < 0.5);
                    held.push(Held { delivery, behind, until: tokio::time::Instant::now() + HOLD_LIMIT });
                    continue;
                }
                send(delivery);
                // The held events this one was to pass go after it.
                held.iter_mut().for_each(|h| h.behind -= 1);
                let (due, waiting): (Vec<Held>, Vec<Held>) = held.into_iter().partition(|h| h.behind == 0);
                held = waiting;
                due.into_iter().for_each(|h| send(h.delivery));
            }
        }
    }
    abandon(&ctx, commands, held);
}

/// Settles what is held or still queued: it will not be delivered (the
/// emulator stopped), and `eventsIdle()` must not wait for it.
fn abandon(ctx: &Context, mut commands: mpsc::UnboundedReceiver<Command>, held: Vec<Held>) {
    held.iter().for_each(|_| ctx.events.event_settled());
    commands.close();
    while let Ok(command) = commands.try_recv() {
        match command {
            Command::Publish(_) => ctx.events.event_settled(),
            Command::Register(_) => ctx.events.settle(1),
        }
    }
}

/// The delay before retry `retry` (1, 2, …): `retryBackoffMs`, doubling.
fn backoff(config: &EventsConfig, retry: u32) -> Duration {
    Duration::from_millis(config.retry_backoff_ms.saturating_mul(1 << (retry - 1).min(20)))
}

/// Whether an answer is retried (I/O Events: 429 and 5xx but 505; no answer at all).
fn retried(status: Option<u16>) -> bool {
    match status {
        None => true,
        Some(status) => status == 429 || (500..600).contains(&status) && status != 505,
    }
}

async fn deliver(
    ctx: Arc<Context>,
    client: reqwest::Client,
    permits: Arc<Semaphore>,
    delivery: Delivery,
    mut stopped: watch::Receiver<bool>,
) {
    let config = ctx.config().events.clone();
    let keys = Arc::clone(ctx.events.keys());
    let body = delivery.event.body.clone();
    let invalid_first = config.invalid_signature1;
    // RSA signing takes a millisecond or two: off the async threads, and no
    // more at once than attempts in flight (a burst of events must not
    // start hundreds of blocking threads).
    let signed = {
        let _permit = permits.acquire().await.expect("never closed");
        tokio::task::spawn_blocking(move || keys.sign(&body, invalid_first)).await
    };
    let Ok(signatures) = signed else {
        ctx.events.record(|s| s.failed += 1);
        ctx.events.event_settled();
        return;
    };
    let provider = {
        let c = ctx.config();
        format!("aemassets_emulator_acct-aem-p{}-e{}@adobe.com", c.program_id, c.environment_id)
    };
    let sender = Sender {
        ctx: &ctx,
        client: &client,
        permits: &permits,
        delivery: &delivery,
        signatures: &signatures,
        provider: &provider,
        timeout: Duration::from_millis(config.delivery_timeout_ms),
    };
    let mut delivered = false;
    for retry in 0..config.max_attempts {
        if retry > 0 {
            tokio::select! {
                _ = tokio::time::sleep(backoff(&config, retry)) => {}
                _ = stopped.wait_for(|stopped| *stopped) => break,
            }
        }
        let status = sender.attempt(retry, false).await;
        if status.is_some_and(|s| (200..300).contains(&s)) {
            delivered = true;
            break;
        }
        if !retried(status) {
            break;
        }
    }
    if delivered {
        ctx.events.record(|s| s.delivered += 1);
        if delivery.duplicate && !*stopped.borrow() {
            sender.attempt(0, true).await;
        }
    } else {
        ctx.events.record(|s| s.failed += 1);
    }
    ctx.events.event_settled();
}

/// Sends the attempts of one delivery.
struct Sender<'a> {
    ctx: &'a Context,
    client: &'a reqwest::Client,
    permits: &'a Semaphore,
    delivery: &'a Delivery,
    signatures: &'a Signatures,
    provider: &'a str,
    timeout: Duration,
}

impl Sender<'_> {
    /// One POST, logged: the receiver's status, or `None` when it gave none.
    async fn attempt(&self, retry_count: u32, duplicate: bool) -> Option<u16> {
        let answer = {
            let _permit = self.permits.acquire().await.expect("never closed");
            self.send(retry_count).await
        };
        let event = &self.delivery.event;
        let (status, error) = match &answer {
            Ok(status) => (*status, None),
            Err(error) => (0, Some(error.clone())),
        };
        self.ctx.events.log(Attempt {
            event_id: event.event_id.clone(),
            kind: event.kind.as_str(),
            asset_id: event.asset_id.clone(),
            path: event.path.clone(),
            retry_count,
            duplicate,
            status,
            error,
        });
        answer.ok()
    }

    async fn send(&self, retry_count: u32) -> Result<u16, String> {
        let event = &self.delivery.event;
        let id = || crate::ids::random_uuid().to_string();
        let [signature1, signature2] = &self.signatures.signatures;
        let [path1, path2] = &self.signatures.paths;
        let mut request = self
            .client
            .post(&self.delivery.url)
            .timeout(self.timeout)
            .header("content-type", "application/cloudevents+json; charset=UTF-8")
            .header("user-agent", "Adobe/1.0")
            .header("x-adobe-event-code", event.kind.as_str())
            .header("x-adobe-event-id", &event.event_id)
            .header("x-adobe-delivery-id", id())
            .header("x-request-id", id())
            .header("x-adobe-provider", self.provider)
            .header("x-adobe-digital-signature-1", signature1)
            .header("x-adobe-digital-signature-2", signature2)
            .header("x-adobe-public-key1-path", path1)
            .header("x-adobe-public-key2-path", path2)
            .body(event.body.clone());
        if retry_count > 0 {
            request = request.header("x-adobe-retry-count", retry_count.to_string());
        }
        let response = request.send().await.map_err(describe)?;
        let status = response.status().as_u16();
        // Read the (small) answer so the connection can be used again.
        let _ = response.bytes().await;
        Ok(status)
    }
}

/// Why a request got no answer, without its URL (a webhook URL may carry a secret).
fn describe(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "the connection failed"
    };
    let mut cause = std::error::Error::source(&error);
    let mut detail = String::new();
    while let Some(e) = cause {
        detail = e.to_string();
        cause = e.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}

/// The `?challenge=` handshake I/O Events runs when a webhook is registered:
/// `GET <url>?challenge=<value>` answered 200 with the value as the body, or
/// as `{"challenge": value}`. Failures are retried as deliveries are; a
/// registration whose handshake never succeeds is disabled.
async fn handshake(ctx: &Context, client: &reqwest::Client, url: &str) {
    let keys = Arc::clone(ctx.events.keys());
    // The signing keys are made now, off the async threads, not at the first delivery.
    let _ = tokio::task::spawn_blocking(move || keys.warm()).await;
    let config = ctx.config().events.clone();
    for attempt in 0..config.max_attempts {
        if attempt > 0 {
            tokio::time::sleep(backoff(&config, attempt)).await;
        }
        ctx.events.update_registration(url, |r| r.challenges += 1);
        let challenge = crate::ids::random_uuid().to_string();
        match challenge_once(client, url, &challenge, Duration::from_millis(config.delivery_timeout_ms)).await {
            Ok(()) => {
                ctx.events.update_registration(url, |r| {
                    r.status = RegistrationStatus::Active;
                    r.error = None;
                });
                return;
            }
            Err((error, retry)) => {
                ctx.events.update_registration(url, |r| r.error = Some(error));
                if !retry {
                    break;
                }
            }
        }
    }
    ctx.events.update_registration(url, |r| r.status = RegistrationStatus::Disabled);
}

/// One challenge request: `Err((why, whether to try again))`.
async fn challenge_once(
    client: &reqwest::Client,
    url: &str,
    challenge: &str,
    timeout: Duration,
) -> Result<(), (String, bool)> {
    let separator = if url.contains('?') { '&' } else { '?' };
    let response = client
        .get(format!("{url}{separator}challenge={challenge}"))
        .header("user-agent", "Adobe/1.0")
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| (format!("challenge: {}", describe(e)), true))?;
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap_or_default();
    if status != 200 {
        return Err((format!("challenge: the webhook answered {status}"), retried(Some(status))));
    }
    let text = String::from_utf8_lossy(&body);
    let echoed = text.trim() == challenge
        || serde_json::from_slice::<serde_json::Value>(&body)
            .is_ok_and(|v| v.get("challenge").and_then(|c| c.as_str()) == Some(challenge));
    if echoed {
        Ok(())
    } else {
        // I/O Events would fall back to its asynchronous validationUrl flow,
        // which the emulator does not play.
        Err(("challenge: the webhook answered 200 without echoing the challenge".into(), false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_rules_and_backoff() {
        assert!(retried(None) && retried(Some(429)) && retried(Some(500)) && retried(Some(503)));
        assert!(!retried(Some(505)) && !retried(Some(400)) && !retried(Some(401)) && !retried(Some(404)));
        let config = EventsConfig { retry_backoff_ms: 100, ..EventsConfig::default() };
        let delays: Vec<u128> = (1..=4).map(|r| backoff(&config, r).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800]);
        assert_eq!(backoff(&config, 64), Duration::from_millis(100 << 20));
    }
}
