//! Asset events delivered to a webhook as Adobe I/O Events delivers AEM's
//! (docs/assets.md, "The emulator"; docs/protocol.md, "Asset events").
//!
//! Routes report what happened to an asset ([`Events::landed`],
//! [`Events::metadata_updated`], [`Events::deleted`]); this module builds the
//! CloudEvents body (`cloud_event`), and one background task (`delivery`)
//! runs the registration's `?challenge=` handshake and hands each event to a
//! delivery of its own: both signatures (`keys`), retries with backoff and
//! `x-adobe-retry-count`, seeded duplicates and reordering. Routes never wait
//! for any of it: publishing is a channel send, and events beyond
//! `events.queueLimit` are dropped and counted.

mod cloud_event;
mod delivery;
pub mod keys;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, watch};

use cloud_event::Event;
pub use cloud_event::{Changes, EventType};

use crate::context::Context;

/// How many delivery attempts the log keeps.
const LOG_LIMIT: usize = 10_000;

/// Where a webhook registration stands, as I/O Events names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistrationStatus {
    /// No webhook configured.
    None,
    /// The challenge handshake is under way; events wait for it.
    Pending,
    Active,
    /// The handshake failed: events are dropped until a new registration.
    Disabled,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    pub webhook_url: Option<String>,
    pub status: RegistrationStatus,
    /// Challenge requests sent for this registration.
    pub challenges: u32,
    /// Why the last handshake failed.
    pub error: Option<String>,
}

/// One delivery attempt, as `state().events.deliveries` lists it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub asset_id: String,
    pub path: String,
    /// `x-adobe-retry-count` (0 on a first attempt, which sends none).
    pub retry_count: u32,
    /// A second sending of a delivered event.
    pub duplicate: bool,
    /// The receiver's status; 0 when it gave none (refused, reset, timed out).
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Counters and the bounded attempt log.
#[derive(Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct Stats {
    /// Events made for a registered webhook.
    published: u64,
    /// Events a receiver acknowledged with a 2xx.
    delivered: u64,
    /// POSTs sent: first attempts, retries and duplicates.
    attempts: u64,
    /// Attempts that carried `x-adobe-retry-count`.
    retries: u64,
    /// Events given up: attempts exhausted, or refused with a status not retried.
    failed: u64,
    /// Events not delivered at all: no active registration, or the queue full.
    dropped: u64,
    duplicates_sent: u64,
    /// Events held back behind later ones.
    reordered: u64,
    #[serde(skip)]
    log: VecDeque<Attempt>,
}

/// What the delivery task is told.
enum Command {
    /// Register the webhook (run the handshake), or unregister with `None`.
    Register(Option<String>),
    Publish(Event),
}

/// The events side of one emulator.
pub struct Events {
    keys: Arc<keys::SigningKeys>,
    registration: Mutex<Registration>,
    stats: Mutex<Stats>,
    /// Work not settled yet: assets still processing, events queued, held or
    /// being delivered, a handshake under way. Zero is idle.
    pending: watch::Sender<u64>,
    /// Events published and not yet delivered, given up or dropped (the queue's bound).
    outstanding: AtomicU64,
    /// Assets whose processing has not ended (with a webhook registered).
    processing: AtomicU64,
    /// Orders events for the seeded duplicate and reorder draws.
    sequence: AtomicU64,
    commands: mpsc::UnboundedSender<Command>,
    receiver: Mutex<Option<mpsc::UnboundedReceiver<Command>>>,
    /// Turns true when the emulator stops.
    stopped: watch::Sender<bool>,
}

impl Default for Events {
    fn default() -> Self {
        let (commands, receiver) = mpsc::unbounded_channel();
        Events {
            keys: Arc::new(keys::SigningKeys::new()),
            registration: Mutex::new(Registration {
                webhook_url: None,
                status: RegistrationStatus::None,
                challenges: 0,
                error: None,
            }),
            stats: Mutex::default(),
            pending: watch::Sender::new(0),
            outstanding: AtomicU64::new(0),
            processing: AtomicU64::new(0),
            sequence: AtomicU64::new(0),
            commands,
            receiver: Mutex::new(Some(receiver)),
            stopped: watch::Sender::new(false),
        }
    }
}

impl Events {
    /// Starts the delivery task (and registers a configured webhook); it
    /// ends at [`Events::stop`].
    pub fn start(ctx: &Arc<Context>) -> tokio::task::JoinHandle<()> {
        let receiver = ctx.events.receiver.lock().unwrap().take().expect("started once");
        if let Some(url) = ctx.config().events.webhook_url.clone() {
            ctx.events.register(Some(url));
        }
        tokio::spawn(delivery::run(Arc::clone(ctx), receiver, ctx.events.shutdown_signal()))
    }

    /// The signing keys (the key route serves their public halves).
    pub fn keys(&self) -> &Arc<keys::SigningKeys> {
        &self.keys
    }

    /// (Re-)registers the webhook: the handshake runs before any later event
    /// is delivered. `None` unregisters.
    pub fn register(&self, url: Option<String>) {
        {
            let mut registration = self.registration.lock().unwrap();
            registration.status = if url.is_some() { RegistrationStatus::Pending } else { RegistrationStatus::None };
            registration.webhook_url = url.clone();
            registration.challenges = 0;
            registration.error = None;
        }
        self.add_pending(1);
        if self.commands.send(Command::Register(url)).is_err() {
            self.settle(1);
        }
    }

    /// A binary landed at `path`: when its processing ends (`processed_at`,
    /// `None`: now) and the asset is still that one, `processing_completed`
    /// is published.
    pub fn landed(ctx: &Arc<Context>, path: &str, processed_at: Option<Instant>) {
        if ctx.config().events.webhook_url.is_none() {
            return;
        }
        let Some(until) = processed_at else {
            ctx.events.processing_ended(ctx, path, None);
            return;
        };
        ctx.events.processing.fetch_add(1, Ordering::Relaxed);
        ctx.events.add_pending(1);
        let ctx = Arc::clone(ctx);
        let path = path.to_string();
        let mut shutdown = ctx.events.shutdown_signal();
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep_until(until.into()) => ctx.events.processing_ended(&ctx, &path, Some(until)),
                _ = shutdown.wait_for(|stopped| *stopped) => {}
            }
            ctx.events.processing.fetch_sub(1, Ordering::Relaxed);
            ctx.events.settle(1);
        });
    }

    fn processing_ended(&self, ctx: &Context, path: &str, until: Option<Instant>) {
        let document = {
            let dam = ctx.dam.lock().unwrap();
            // A newer binary restarted processing (its own timer reports it), or the asset went.
            match dam.assets.get(path) {
                Some(asset) if asset.processing_until == until => {
                    crate::author::document(path, asset, ctx.repository_id())
                }
                _ => return,
            }
        };
        self.publish(ctx, EventType::ProcessingCompleted, &document, None);
    }

    /// An Author API PATCH changed an asset's metadata; `document` is the new one.
    pub fn metadata_updated(&self, ctx: &Context, document: &Value, before: &Map<String, Value>) {
        let after = document["assetMetadata"].as_object().cloned().unwrap_or_default();
        self.publish(ctx, EventType::MetadataUpdated, document, Some(Changes::between(before, &after)));
    }

    /// The asset that was at `path` was deleted.
    pub fn deleted(&self, ctx: &Context, path: &str, asset: &crate::dam::Asset) {
        if ctx.config().events.webhook_url.is_some() {
            let document = crate::author::document(path, asset, ctx.repository_id());
            self.publish(ctx, EventType::Deleted, &document, None);
        }
    }

    fn publish(&self, ctx: &Context, kind: EventType, document: &Value, changes: Option<Changes>) {
        let config = ctx.config();
        if config.events.webhook_url.is_none() {
            return;
        }
        if self.outstanding.load(Ordering::Relaxed) >= config.events.queue_limit as u64 {
            self.stats.lock().unwrap().dropped += 1;
            return;
        }
        let source = cloud_event::source(config.program_id, config.environment_id);
        let event = cloud_event::build(kind, &source, &config.events.client_id, document, changes);
        self.stats.lock().unwrap().published += 1;
        self.outstanding.fetch_add(1, Ordering::Relaxed);
        self.add_pending(1);
        if self.commands.send(Command::Publish(event)).is_err() {
            self.event_settled();
        }
    }

    /// Resolves once nothing is pending: every asset processed, every event
    /// delivered, given up or dropped, the handshake done.
    pub async fn idle(&self) {
        let mut pending = self.pending.subscribe();
        let _ = pending.wait_for(|n| *n == 0).await;
    }

    /// Whether nothing is pending now.
    pub fn is_idle(&self) -> bool {
        *self.pending.borrow() == 0
    }

    /// `state().events`.
    pub fn state(&self) -> Value {
        let stats = self.stats.lock().unwrap();
        let mut state = serde_json::to_value(&*stats).expect("serialisable");
        state["deliveries"] = serde_json::to_value(&stats.log).expect("serialisable");
        drop(stats);
        state["registration"] = serde_json::to_value(&*self.registration.lock().unwrap()).expect("serialisable");
        state["keys"] = json!([self.keys.path(0), self.keys.path(1)]);
        state["pending"] = json!(*self.pending.borrow());
        state["processing"] = json!(self.processing.load(Ordering::Relaxed));
        state["idle"] = json!(self.is_idle());
        state
    }

    /// Forgets the counters and the log (`reset`); the registration and
    /// deliveries under way stay.
    pub fn reset(&self) {
        *self.stats.lock().unwrap() = Stats::default();
    }

    fn add_pending(&self, n: u64) {
        self.pending.send_modify(|pending| *pending += n);
    }

    fn settle(&self, n: u64) {
        self.pending.send_modify(|pending| *pending = pending.saturating_sub(n));
    }

    /// An event left the queue for good (delivered, given up or dropped).
    fn event_settled(&self) {
        let _ = self.outstanding.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| Some(n.saturating_sub(1)));
        self.settle(1);
    }

    fn record(&self, update: impl FnOnce(&mut Stats)) {
        update(&mut self.stats.lock().unwrap());
    }

    fn log(&self, attempt: Attempt) {
        let mut stats = self.stats.lock().unwrap();
        stats.attempts += 1;
        if attempt.retry_count > 0 {
            stats.retries += 1;
        }
        if attempt.duplicate {
            stats.duplicates_sent += 1;
        }
        if stats.log.len() >= LOG_LIMIT {
            stats.log.pop_front();
        }
        stats.log.push_back(attempt);
    }

    fn registration(&self) -> Registration {
        self.registration.lock().unwrap().clone()
    }

    fn update_registration(&self, url: &str, update: impl FnOnce(&mut Registration)) {
        let mut registration = self.registration.lock().unwrap();
        // A newer registration replaced this one meanwhile: leave it be.
        if registration.webhook_url.as_deref() == Some(url) {
            update(&mut registration);
        }
    }

    fn next_sequence(&self) -> u64 {
        self.sequence.fetch_add(1, Ordering::Relaxed)
    }

    fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.stopped.subscribe()
    }

    /// Ends the delivery task, the processing timers and deliveries under way.
    pub fn stop(&self) {
        self.stopped.send_replace(true);
    }
}
