//! The state one emulator shares between its connections.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use serde::Serialize;
use serde_json::{json, Value};

use crate::config::{Config, FaultRoute, Strictness};
use crate::dam::Dam;
use crate::faults::{self, AttemptCounter, Decision, Fault};
use crate::http::{self, Response};
use crate::ims::{self, Ims};
use crate::signing::Signer;
use crate::storage::Storage;

/// The strict checks of docs/protocol.md §11.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ViolationKind {
    CredentialsToBlob,
    BadSignature,
    ExpiredUrlReused,
    PartSize,
    MissingParts,
    SizeMismatch,
    MissingField,
    BadToken,
    NoContentLength,
    Md5Mismatch,
}

impl ViolationKind {
    /// The status a violating request gets in `strict: "fail"` mode.
    fn status(self) -> u16 {
        match self {
            ViolationKind::BadSignature => 403,
            _ => 400,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ViolationKind::CredentialsToBlob => "credentials-to-blob",
            ViolationKind::BadSignature => "bad-signature",
            ViolationKind::ExpiredUrlReused => "expired-url-reused",
            ViolationKind::PartSize => "part-size",
            ViolationKind::MissingParts => "missing-parts",
            ViolationKind::SizeMismatch => "size-mismatch",
            ViolationKind::MissingField => "missing-field",
            ViolationKind::BadToken => "bad-token",
            ViolationKind::NoContentLength => "no-content-length",
            ViolationKind::Md5Mismatch => "md5-mismatch",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Violation {
    pub kind: ViolationKind,
    /// `METHOD path` (no query: URLs carry signatures).
    pub request: String,
    pub detail: String,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InjectedFault {
    pub route: FaultRoute,
    pub key: String,
    pub attempt: u32,
    #[serde(flatten)]
    pub fault: FaultRecord,
}

#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum FaultRecord {
    Fault(Fault),
    Other { kind: &'static str },
}

/// One request of the bounded log. Method and header names are kept as
/// hyper's values (standard ones cost no allocation: thousands of requests a
/// second pass through here) and written out as text when the log is read.
/// The path is copied: a `Uri` kept here would pin the connection's read
/// buffer, which hyper could then not reuse.
#[derive(Clone, Debug, Serialize)]
pub struct LoggedRequest {
    #[serde(serialize_with = "as_str")]
    pub method: hyper::Method,
    /// Only the path: the query holds signatures.
    pub path: String,
    pub route: &'static str,
    #[serde(serialize_with = "names")]
    pub headers: Vec<hyper::header::HeaderName>,
    /// 0 when the connection was dropped unanswered.
    pub status: u16,
    /// When the request arrived, in ms since the Unix epoch (fractional).
    pub at: f64,
    pub ms: f64,
}

fn as_str<S: serde::Serializer>(method: &hyper::Method, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(method.as_str())
}

fn names<S: serde::Serializer>(names: &[hyper::header::HeaderName], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(names.iter().map(hyper::header::HeaderName::as_str))
}

#[derive(Default, Serialize)]
pub struct RouteCounter {
    pub requests: u64,
    /// By status code (JSON keys: "200", …).
    pub statuses: BTreeMap<u16, u64>,
}

/// Bounded journals, reset together.
#[derive(Default)]
pub struct Journal {
    pub requests: VecDeque<LoggedRequest>,
    pub dropped_requests: u64,
    pub violations: Vec<Violation>,
    pub faults: Vec<InjectedFault>,
    pub counters: BTreeMap<&'static str, RouteCounter>,
}

const MAX_JOURNAL: usize = 100_000;

pub struct Context {
    pub config: RwLock<Arc<Config>>,
    pub dam: Mutex<Dam>,
    pub journal: Mutex<Journal>,
    pub signer: Signer,
    pub storage: Arc<Storage>,
    pub attempts: AttemptCounter,
    pub ims: Ims,
    /// Asset events and their webhook deliveries.
    pub events: crate::events::Events,
    /// Origins as clients reach them, e.g. `http://127.0.0.1:4502`.
    pub url: String,
    pub blob_url: String,
    /// The DAM changed since the dir-mode index was last written.
    pub dirty: AtomicBool,
    /// AEM's throttling and the blob link's cap.
    pub limits: crate::limits::Limits,
}

/// A refusal because of a violation, or the request may proceed.
pub type Check = Result<(), Response>;

impl Context {
    pub fn config(&self) -> Arc<Config> {
        Arc::clone(&self.config.read().unwrap())
    }

    /// `repo:repositoryId`: the author host, as clients reach it.
    pub fn repository_id(&self) -> &str {
        self.url.split("://").nth(1).unwrap_or(&self.url)
    }

    /// When an asset landing now ends its processing (`events.processingDelayMs`);
    /// `None`: processed at once.
    pub fn processed_at(&self) -> Option<std::time::Instant> {
        let delay = self.config().events.processing_delay_ms;
        (delay > 0).then(|| std::time::Instant::now() + std::time::Duration::from_millis(delay))
    }

    /// Records a violation; in `fail` mode returns the refusal to send.
    pub fn violation(&self, kind: ViolationKind, method: &str, path: &str, detail: impl Into<String>) -> Check {
        let detail = detail.into();
        let mut journal = self.journal.lock().unwrap();
        if journal.violations.len() < MAX_JOURNAL {
            journal.violations.push(Violation { kind, request: format!("{method} {path}"), detail: detail.clone() });
        }
        drop(journal);
        match self.config().strict {
            Strictness::Record => Ok(()),
            Strictness::Fail => Err(http::json(kind.status(), &json!({"violation": kind.as_str(), "detail": detail}))),
        }
    }

    /// Draws the faults for the next attempt of `key` on `route`, and records them.
    pub fn decide(&self, route: FaultRoute, key: &str) -> Decision {
        let config = self.config();
        let Some(rates) = config.faults.for_route(route) else {
            return Decision::default();
        };
        let attempt = self.attempts.next(route, key);
        let decision = faults::decide(config.faults.seed, route, key, attempt, rates);
        let mut records: Vec<FaultRecord> = decision.fault.iter().cloned().map(FaultRecord::Fault).collect();
        if decision.slow_bytes_per_second.is_some() {
            records.push(FaultRecord::Other { kind: "slow" });
        }
        self.record_faults(route, key, attempt, records);
        decision
    }

    /// Whether this initiate issues a file's URLs already expired.
    pub fn issue_expired(&self, file_key: &str) -> bool {
        let config = self.config();
        let Some(rates) = config.faults.for_route(FaultRoute::Initiate) else { return false };
        if rates.expired_urls <= 0.0 {
            return false;
        }
        let attempt = self.attempts.next(FaultRoute::Initiate, &format!("expired:{file_key}"));
        let expired = faults::issue_expired(config.faults.seed, file_key, attempt, rates);
        if expired {
            self.record_faults(
                FaultRoute::Initiate,
                file_key,
                attempt,
                vec![FaultRecord::Other { kind: "expiredUrl" }],
            );
        }
        expired
    }

    pub fn record_faults(&self, route: FaultRoute, key: &str, attempt: u32, records: Vec<FaultRecord>) {
        if records.is_empty() {
            return;
        }
        let mut journal = self.journal.lock().unwrap();
        for fault in records {
            if journal.faults.len() < MAX_JOURNAL {
                journal.faults.push(InjectedFault { route, key: key.to_string(), attempt, fault });
            }
        }
    }

    pub fn log_request(&self, entry: LoggedRequest) {
        let limit = self.config().request_log_limit;
        let mut journal = self.journal.lock().unwrap();
        let counter = journal.counters.entry(entry.route).or_default();
        counter.requests += 1;
        *counter.statuses.entry(entry.status).or_default() += 1;
        if limit == 0 {
            return;
        }
        while journal.requests.len() >= limit {
            journal.requests.pop_front();
            journal.dropped_requests += 1;
        }
        journal.requests.push_back(entry);
    }

    /// The whole inspectable state (`GET /_emulator/state`).
    pub fn state(&self) -> Value {
        let mut state = self.dam.lock().unwrap().state();
        let journal = self.journal.lock().unwrap();
        state["counters"] = serde_json::to_value(&journal.counters).expect("serialisable");
        state["violations"] = serde_json::to_value(&journal.violations).expect("serialisable");
        state["faults"] = serde_json::to_value(&journal.faults).expect("serialisable");
        state["storage"] = Value::String(self.storage.mode().name());
        drop(journal);
        state["limits"] = self.limits.state();
        state["ims"] = self.ims.state();
        state["events"] = self.events.state();
        state
    }

    pub fn requests(&self) -> Value {
        let journal = self.journal.lock().unwrap();
        json!({"requests": journal.requests, "dropped": journal.dropped_requests})
    }

    /// Notes a change of folders or assets for the dir-mode index.
    pub fn after_change(&self) {
        self.dirty.store(true, Ordering::Release);
    }

    /// Writes `<root>/.aem-emulator/index.json` (dir mode) if anything changed.
    pub fn flush_index(&self) -> std::io::Result<()> {
        let crate::config::StorageMode::Dir(root) = self.storage.mode() else { return Ok(()) };
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let state = self.dam.lock().unwrap().state();
        let index = json!({"folders": state["folders"], "assets": state["assets"]});
        let dir = root.join(".aem-emulator");
        std::fs::create_dir_all(&dir)?;
        let staging = dir.join("index.json.tmp");
        std::fs::write(&staging, serde_json::to_vec_pretty(&index).expect("serialisable"))?;
        std::fs::rename(staging, dir.join("index.json"))
    }

    /// Forgets every asset, folder, upload, journal entry and attempt count.
    pub fn reset(&self) {
        *self.dam.lock().unwrap() = Dam::default();
        self.after_change();
        *self.journal.lock().unwrap() = Journal::default();
        self.attempts.clear();
        self.ims.reset_counters();
        self.events.reset();
        self.limits.reset();
    }

    /// Registers a credentials document with IMS (see [`ims::credentials::parse`]).
    pub fn register_credentials(&self, document: &Value) -> Result<String, String> {
        Ok(self.ims.register(ims::credentials::parse(document)?))
    }

    /// Mints and registers service credentials whose `imsEndpoint` is this emulator.
    pub fn create_service_credentials(&self, options: &Value) -> Result<Value, String> {
        let options = parse_options(options)?;
        let config = self.config();
        let program = (config.program_id, config.environment_id);
        let (document, client) = ims::credentials::service_credentials(options, &self.url, program)?;
        self.ims.register(client);
        Ok(document)
    }

    /// Mints and registers an OAuth server-to-server client.
    pub fn create_oauth_client(&self, options: &Value) -> Result<Value, String> {
        let (document, client) = ims::credentials::oauth_client(parse_options(options)?, &self.url)?;
        self.ims.register(client);
        Ok(document)
    }

    /// Applies a JSON merge patch to the configuration. Listener and storage
    /// settings are fixed once started.
    pub fn patch_config(&self, patch: &Value) -> Result<Arc<Config>, String> {
        for fixed in ["host", "port", "blobPort", "storage", "secret"] {
            if patch.get(fixed).is_some() {
                return Err(format!("'{fixed}' cannot change while the emulator runs"));
            }
        }
        let mut config = self.config.write().unwrap();
        let patched = Arc::new(config.patched(patch)?);
        if patch.pointer("/ims/credentials").is_some() {
            // Checked before anything changes: a bad document leaves all as it was.
            let clients = patched.ims.credentials.iter().map(ims::credentials::parse).collect::<Result<Vec<_>, _>>()?;
            for client in clients {
                self.ims.register(client);
            }
        }
        *config = Arc::clone(&patched);
        drop(config);
        // Naming the webhook (even the same one) registers it again, as an
        // edit in the Developer Console does: the handshake runs first.
        if patch.pointer("/events/webhookUrl").is_some() {
            self.events.register(patched.events.webhook_url.clone());
        }
        Ok(patched)
    }
}

/// Options given as JSON (`null` or absent: all defaults).
fn parse_options<T: serde::de::DeserializeOwned + Default>(options: &Value) -> Result<T, String> {
    if options.is_null() {
        return Ok(T::default());
    }
    serde_json::from_value(options.clone()).map_err(|e| format!("invalid options: {e}"))
}
