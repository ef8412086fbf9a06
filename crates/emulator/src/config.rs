//! The emulator's configuration: plain data, read from JSON (a file, the CLI or
//! the JS launcher) and patchable at run time through `PATCH /_emulator/config`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub const KIB: u64 = 1024;
pub const MIB: u64 = 1024 * KIB;

/// Everything the emulator can be told. Unknown keys are rejected so that a
/// typo in a test's configuration fails loudly instead of being ignored.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Config {
    /// Address both listeners bind to.
    pub host: String,
    /// Port of the AEM origin; 0 picks a free one.
    pub port: u16,
    /// Port of the blob-storage origin; 0 picks a free one.
    pub blob_port: u16,
    pub storage: StorageMode,
    pub strict: Strictness,
    pub direct_binary: DirectBinary,
    /// Shorthand for the part-size triple of a real backend generation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
    pub min_part_size: u64,
    pub max_part_size: u64,
    pub max_uris: u64,
    pub max_files_per_initiate: usize,
    pub existing_asset: ExistingAsset,
    pub parent_missing_status: u16,
    pub complete_uri: CompleteUri,
    /// Set an `Affinity-cookie` on initiate answers.
    pub affinity_cookie: bool,
    /// Refuse (400) a complete that lacks the affinity cookie of its initiate.
    pub require_affinity_cookie: bool,
    pub url_expiry_seconds: u64,
    /// The emulated environment is `author-p<programId>-e<environmentId>`: it
    /// names the repository id, the events source and minted client ids.
    pub program_id: u64,
    pub environment_id: u64,
    pub auth: AuthConfig,
    pub ims: ImsConfig,
    pub faults: FaultConfig,
    /// AEM's own throttling of initiate, complete, folder and create-asset requests.
    pub throttle: ThrottleConfig,
    /// The link to blob storage as every part PUT sees it.
    pub link: LinkConfig,
    /// A named set of the settings above, e.g. `real-link` (docs/protocol.md:
    /// "A real link"); keys given with it win over its values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
    /// How many requests `/_emulator/requests` keeps.
    pub request_log_limit: usize,
    /// Author API deletes all answer 202 and a job that finishes after this
    /// many ms (protocol.md: `asyncDelete`); `null`: only referenced assets.
    pub async_delete: Option<u64>,
    /// The Assets Author API routes (`/adobe/assets/…`).
    pub author: AuthorConfig,
    /// Asset processing and the asset events delivered as I/O Events webhooks.
    pub events: EventsConfig,
    /// HMAC key for URLs and tokens; random when absent.
    #[serde(skip_serializing)]
    pub secret: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".into(),
            port: 0,
            blob_port: 0,
            storage: StorageMode::Memory,
            strict: Strictness::Fail,
            direct_binary: DirectBinary::Enabled,
            preset: None,
            min_part_size: 10 * MIB,
            max_part_size: 4000 * MIB,
            max_uris: 50_000,
            max_files_per_initiate: 1000,
            existing_asset: ExistingAsset::Conflict,
            parent_missing_status: 500,
            complete_uri: CompleteUri::Relative,
            affinity_cookie: false,
            require_affinity_cookie: false,
            url_expiry_seconds: 3600,
            program_id: 1,
            environment_id: 1,
            auth: AuthConfig::default(),
            ims: ImsConfig::default(),
            faults: FaultConfig::default(),
            throttle: ThrottleConfig::default(),
            link: LinkConfig::default(),
            profile: None,
            request_log_limit: 10_000,
            async_delete: None,
            author: AuthorConfig::default(),
            events: EventsConfig::default(),
            secret: None,
        }
    }
}

impl Config {
    /// Parses a JSON configuration, applying a preset before explicit sizes.
    pub fn from_json(value: serde_json::Value) -> Result<Config, String> {
        let value = match value.get("profile") {
            Some(name) => {
                let profile: Profile =
                    serde_json::from_value(name.clone()).map_err(|e| format!("invalid emulator config: {e}"))?;
                let mut base = profile.settings();
                merge_patch(&mut base, &value);
                base
            }
            None => value,
        };
        let preset_given = value.get("preset").is_some();
        let explicit = |key: &str| value.get(key).is_some();
        let (has_min, has_max, has_uris) = (explicit("minPartSize"), explicit("maxPartSize"), explicit("maxUris"));
        let mut config: Config = serde_json::from_value(value).map_err(|e| format!("invalid emulator config: {e}"))?;
        if preset_given {
            if let Some(preset) = config.preset {
                let (min, max) = preset.part_sizes();
                if !has_min {
                    config.min_part_size = min;
                }
                if !has_max {
                    config.max_part_size = max;
                }
                if !has_uris {
                    config.max_uris = 50_000;
                }
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// Applies a JSON merge patch (RFC 7386) and re-validates.
    pub fn patched(&self, patch: &serde_json::Value) -> Result<Config, String> {
        let mut current = serde_json::to_value(self).map_err(|e| e.to_string())?;
        if let Some(secret) = &self.secret {
            current["secret"] = serde_json::Value::String(secret.clone());
        }
        // A profile in a patch goes under the patch's other keys, over the
        // current configuration.
        if let Some(name) = patch.get("profile") {
            let profile: Profile =
                serde_json::from_value(name.clone()).map_err(|e| format!("invalid emulator config: {e}"))?;
            merge_patch(&mut current, &profile.settings());
        }
        merge_patch(&mut current, patch);
        // A preset or profile in a patch is applied only when it is the patch that names it.
        for named in ["preset", "profile"] {
            if patch.get(named).is_none() {
                if let Some(obj) = current.as_object_mut() {
                    obj.remove(named);
                }
            }
        }
        let mut patched = Config::from_json(current)?;
        // Credentials are never serialised (they hold secrets): carry them over.
        if patch.pointer("/ims/credentials").is_none() {
            patched.ims.credentials = self.ims.credentials.clone();
        }
        Ok(patched)
    }

    fn validate(&self) -> Result<(), String> {
        if self.min_part_size < 1 {
            return Err("minPartSize must be at least 1".into());
        }
        if self.max_part_size < self.min_part_size {
            return Err("maxPartSize must be at least minPartSize".into());
        }
        if self.max_uris < 1 {
            return Err("maxUris must be at least 1".into());
        }
        if self.max_files_per_initiate < 1 {
            return Err("maxFilesPerInitiate must be at least 1".into());
        }
        if self.ims.token_lifetime_seconds < 1 {
            return Err("ims.tokenLifetimeSeconds must be at least 1".into());
        }
        if ![404, 500].contains(&self.parent_missing_status) {
            return Err("parentMissingStatus must be 404 or 500".into());
        }
        self.events.validate()?;
        for (route, faults) in &self.faults.routes {
            if !FaultRoute::ALL.iter().any(|r| r.as_str() == route) && route != "*" {
                return Err(format!("unknown fault route '{route}'"));
            }
            faults.validate().map_err(|e| format!("faults.routes.{route}: {e}"))?;
        }
        Ok(())
    }
}

fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    match (target, patch) {
        (serde_json::Value::Object(target), serde_json::Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge_patch(target.entry(key.clone()).or_insert(serde_json::Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

/// Where binaries go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageMode {
    /// Whole binaries in memory.
    Memory,
    /// Binaries under their DAM paths below a folder, metadata in a sidecar index.
    Dir(PathBuf),
    /// Only size and SHA-256; memory stays flat at any file size.
    Digest,
    /// Only sizes: no hashing, for throughput benchmarks.
    Size,
}

impl StorageMode {
    /// Parses `memory`, `digest`, `size` or `dir:PATH`.
    pub fn parse(text: &str) -> Result<StorageMode, String> {
        match text {
            "memory" => Ok(StorageMode::Memory),
            "digest" => Ok(StorageMode::Digest),
            "size" => Ok(StorageMode::Size),
            other => match other.strip_prefix("dir:") {
                Some(path) if !path.is_empty() => Ok(StorageMode::Dir(PathBuf::from(path))),
                _ => Err(format!("unknown storage '{other}': expected memory, digest, size or dir:PATH")),
            },
        }
    }

    pub fn name(&self) -> String {
        match self {
            StorageMode::Memory => "memory".into(),
            StorageMode::Digest => "digest".into(),
            StorageMode::Size => "size".into(),
            StorageMode::Dir(path) => format!("dir:{}", path.display()),
        }
    }
}

impl Serialize for StorageMode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for StorageMode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Dir { dir: PathBuf },
        }
        match Raw::deserialize(d)? {
            Raw::Text(text) => StorageMode::parse(&text).map_err(serde::de::Error::custom),
            Raw::Dir { dir } => Ok(StorageMode::Dir(dir)),
        }
    }
}

/// What a strict-check violation does to the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strictness {
    /// Log it and refuse the request.
    Fail,
    /// Log it and carry on.
    Record,
}

/// Whether initiate offers direct binary access, or answers like AEM 6.5.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirectBinary {
    Enabled,
    /// A JSON answer without `files` or `completeURI`.
    Disabled,
    /// `files` present but no `completeURI`.
    NoCompleteUri,
}

impl Serialize for DirectBinary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            DirectBinary::Enabled => s.serialize_bool(true),
            DirectBinary::Disabled => s.serialize_bool(false),
            DirectBinary::NoCompleteUri => s.serialize_str("no-complete-uri"),
        }
    }
}

impl<'de> Deserialize<'de> for DirectBinary {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Bool(true) => Ok(DirectBinary::Enabled),
            serde_json::Value::Bool(false) => Ok(DirectBinary::Disabled),
            serde_json::Value::String(s) if s == "no-complete-uri" => Ok(DirectBinary::NoCompleteUri),
            other => Err(serde::de::Error::custom(format!(
                "directBinary must be true, false or \"no-complete-uri\", got {other}"
            ))),
        }
    }
}

/// Part-size presets of the real backend generations (docs/protocol.md §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// SDK v8: 10 MiB to 100 MiB.
    Historic,
    /// SDK v12: 256 KiB to 4000 MiB.
    V12,
    /// SDK v12 after the later fix: 10 MiB to 4000 MiB (the default sizes).
    V12Fix,
}

impl Preset {
    pub fn part_sizes(self) -> (u64, u64) {
        match self {
            Preset::Historic => (10 * MIB, 100 * MIB),
            Preset::V12 => (256 * KIB, 4000 * MIB),
            Preset::V12Fix => (10 * MIB, 4000 * MIB),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExistingAsset {
    /// A complete for an existing asset without createVersion/replace gets 409.
    Conflict,
    /// ... or overwrites the binary, like real AEM.
    Overwrite,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CompleteUri {
    /// An origin-relative path, as AEM answers.
    Relative,
    /// A full URL.
    Absolute,
}

/// Who may call the AEM routes. Blob URLs and `/_emulator/` need no auth.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Accept requests without credentials.
    pub anonymous: bool,
    /// Basic users, name to password. Default: `admin:admin`, as a local AEM.
    pub basic: BTreeMap<String, String>,
    /// Static bearer tokens.
    pub bearer: Vec<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            anonymous: false,
            basic: BTreeMap::from([("admin".to_string(), "admin".to_string())]),
            bearer: Vec::new(),
        }
    }
}

/// The emulator's IMS (`/ims/exchange/jwt`, `/ims/token/v3`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ImsConfig {
    /// Lifetime of the access tokens it issues.
    pub token_lifetime_seconds: u64,
    /// Credentials to register at start: Developer Console service
    /// credentials (wrapper or bare `integration`) or OAuth clients
    /// (`{clientId, clientSecret, scopes}`). Never serialised back: they hold secrets.
    #[serde(skip_serializing)]
    pub credentials: Vec<serde_json::Value>,
}

impl Default for ImsConfig {
    fn default() -> Self {
        ImsConfig { token_lifetime_seconds: 86_400, credentials: Vec::new() }
    }
}

/// The Assets Author API. Its callers need the credentials of [`AuthConfig`]
/// and an `X-Api-Key` registered here: the client ids AEM allow-lists
/// (through Cloud Manager's `allowedClientIDs` on a real environment).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct AuthorConfig {
    /// Client ids accepted as `X-Api-Key`; any other gets 403.
    pub api_keys: Vec<String>,
    /// Refuse (400) a delete or job status without `X-Adobe-Accept-Experimental: 1`,
    /// as the 2024.11 reference marks them experimental.
    pub require_experimental: bool,
    /// Assets (DAM paths or asset ids) that other content references: a
    /// delete without `force=true` answers 202 and a job that updates the references.
    pub referenced: Vec<String>,
    /// How long such a job runs, in ms (`asyncDelete`, when set, overrides it).
    pub job_ms: u64,
}

impl Default for AuthorConfig {
    fn default() -> Self {
        AuthorConfig { api_keys: Vec::new(), require_experimental: false, referenced: Vec::new(), job_ms: 1000 }
    }
}

/// Asset processing and the asset events the emulator delivers to a webhook
/// as Adobe I/O Events does (docs/assets.md, "The emulator"): CloudEvents
/// bodies signed twice, retried with backoff, with seeded duplicates and
/// reordering.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct EventsConfig {
    /// Where events go (`http://` or `https://`); `null`: no deliveries.
    /// Setting it (at start or by a patch) registers the webhook: the
    /// `?challenge=` handshake runs first.
    pub webhook_url: Option<String>,
    /// The registration's client id, written into every event as
    /// `recipient_client_id` and `recipientclientid`.
    pub client_id: String,
    /// How long an uploaded asset stays `aem:assetState: "processing"` before
    /// it is `processed` and `processing_completed` is emitted; 0: at once.
    pub processing_delay_ms: u64,
    /// Delay before the first retry of a failed delivery; doubles after each.
    pub retry_backoff_ms: u64,
    /// Attempts per event, the first included, before it is given up.
    pub max_attempts: u32,
    /// Probability that a delivery is sent twice (same event id).
    pub duplicate_rate: f64,
    /// Probability that an event is held back behind the next one(s).
    pub reorder_rate: f64,
    /// Seed of the duplicate and reorder draws.
    pub seed: u64,
    /// Sign `x-adobe-digital-signature-1` with a key other than the one its
    /// path serves, as during a key rotation: receivers must fall back to signature 2.
    pub invalid_signature1: bool,
    /// One attempt's limit, connection included (I/O Events: 10 s).
    pub delivery_timeout_ms: u64,
    /// Events waiting for delivery beyond this many are dropped (and counted),
    /// so a dead receiver never holds memory or slows uploads.
    pub queue_limit: usize,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            webhook_url: None,
            client_id: "aem-emulator-events".into(),
            processing_delay_ms: 200,
            retry_backoff_ms: 100,
            max_attempts: 5,
            duplicate_rate: 0.0,
            reorder_rate: 0.0,
            seed: 0,
            invalid_signature1: false,
            delivery_timeout_ms: 10_000,
            queue_limit: 100_000,
        }
    }
}

impl EventsConfig {
    fn validate(&self) -> Result<(), String> {
        if let Some(url) = &self.webhook_url {
            let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
            if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) {
                return Err(format!("events.webhookUrl must be an http:// or https:// URL, not {url:?}"));
            }
        }
        if self.client_id.is_empty() {
            return Err("events.clientId must not be empty".into());
        }
        if self.max_attempts < 1 {
            return Err("events.maxAttempts must be at least 1".into());
        }
        for (name, rate) in [("duplicateRate", self.duplicate_rate), ("reorderRate", self.reorder_rate)] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("events.{name} must be a rate between 0 and 1"));
            }
        }
        if self.delivery_timeout_ms < 1 {
            return Err("events.deliveryTimeoutMs must be at least 1".into());
        }
        Ok(())
    }
}

/// AEM answering 429 when a client pushes too hard (docs/protocol.md, "A
/// real link"): beyond `maxConcurrentAemRequests` initiate, complete,
/// folder and create-asset requests in flight, the next one is answered 429
/// at once, with `Retry-After: retryAfterSeconds`. Part PUTs are not counted:
/// they go to blob storage, not to AEM.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ThrottleConfig {
    /// 0: no throttling.
    pub max_concurrent_aem_requests: usize,
    /// Whole seconds, as HTTP's `Retry-After` (delta-seconds) and AEM send it.
    pub retry_after_seconds: u64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig { max_concurrent_aem_requests: 0, retry_after_seconds: 1 }
    }
}

/// The link to blob storage.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LinkConfig {
    /// Every part PUT's body is read at most this fast (0: unlimited): one
    /// request per connection, so a per-connection bandwidth cap. A `slow`
    /// fault slows a PUT further, never speeds it up.
    pub blob_bytes_per_second: u64,
}

/// Named configurations (docs/protocol.md, "A real link").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// AEM and blob storage at the distances of a real link: latency with
    /// jitter per route, and a per-connection cap on part PUTs.
    RealLink,
    /// `real-link`, and AEM throttling beyond 16 concurrent requests.
    RealLinkThrottled,
}

impl Profile {
    /// The AEM requests a throttled real link serves at once.
    pub const THROTTLED_AEM_REQUESTS: usize = 16;

    /// The settings the profile stands for, as configuration JSON. Each
    /// latency is a base plus a uniform jitter, so the mean is the figure of
    /// docs/protocol.md: initiate 150 ms, complete 250 ms, folder 100 ms, a
    /// part PUT's round trip 20 ms, 25 MB/s per connection to blob storage.
    pub fn settings(self) -> serde_json::Value {
        let mut settings = serde_json::json!({
            "faults": {"routes": {
                "initiate": {"latencyMs": 125, "jitterMs": 50},
                "complete": {"latencyMs": 200, "jitterMs": 100},
                "createasset": {"latencyMs": 200, "jitterMs": 100},
                "folder": {"latencyMs": 80, "jitterMs": 40},
                "part": {"latencyMs": 15, "jitterMs": 10},
            }},
            "link": {"blobBytesPerSecond": 25_000_000},
        });
        if self == Profile::RealLinkThrottled {
            settings["throttle"] = serde_json::json!({
                "maxConcurrentAemRequests": Profile::THROTTLED_AEM_REQUESTS,
                "retryAfterSeconds": 1,
            });
        }
        settings
    }
}

/// Seeded fault injection. A decision is a function of (seed, route, stable
/// request key, attempt number), so reruns see the same faults.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct FaultConfig {
    pub seed: u64,
    /// Per route (`initiate`, `part`, `complete`, `folder`, `createasset`, `ims`, `author`), or
    /// `*` for every route without its own entry.
    pub routes: BTreeMap<String, RouteFaults>,
    /// For this many ms after a folder is created, initiate and complete in it answer 404.
    pub folder_not_found_window_ms: u64,
}

impl FaultConfig {
    pub fn for_route(&self, route: FaultRoute) -> Option<&RouteFaults> {
        self.routes.get(route.as_str()).or_else(|| self.routes.get("*"))
    }
}

/// The fault rates of one route. Rates are probabilities in `[0, 1]`; the
/// status and reset kinds are exclusive and drawn from one number.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RouteFaults {
    pub status503: f64,
    pub status429: f64,
    /// `Retry-After` seconds sent with a 429.
    pub retry_after_seconds: u64,
    /// Close the connection as soon as the request head arrives.
    pub reset_before: f64,
    /// Close the connection halfway through the request body (or, for a
    /// request without one, halfway through the response body).
    pub reset_mid: f64,
    /// Throttle request and response bodies to `slowBytesPerSecond`.
    pub slow: f64,
    pub slow_bytes_per_second: u64,
    /// Initiate only: issue a file's part URLs already expired.
    pub expired_urls: f64,
    /// Added before every answer of this route.
    pub latency_ms: u64,
    pub jitter_ms: u64,
    /// Inject only on attempts `1..=maxAttempt` of a request key (0: any attempt).
    pub max_attempt: u32,
}

impl Default for RouteFaults {
    fn default() -> Self {
        RouteFaults {
            status503: 0.0,
            status429: 0.0,
            retry_after_seconds: 1,
            reset_before: 0.0,
            reset_mid: 0.0,
            slow: 0.0,
            slow_bytes_per_second: 1024,
            expired_urls: 0.0,
            latency_ms: 0,
            jitter_ms: 0,
            max_attempt: 0,
        }
    }
}

impl RouteFaults {
    fn validate(&self) -> Result<(), String> {
        let rates = [
            ("status503", self.status503),
            ("status429", self.status429),
            ("resetBefore", self.reset_before),
            ("resetMid", self.reset_mid),
            ("slow", self.slow),
            ("expiredUrls", self.expired_urls),
        ];
        for (name, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be a rate between 0 and 1"));
            }
        }
        if self.status503 + self.status429 + self.reset_before + self.reset_mid > 1.0 + 1e-9 {
            return Err("status503 + status429 + resetBefore + resetMid must not exceed 1".into());
        }
        if self.slow > 0.0 && self.slow_bytes_per_second == 0 {
            return Err("slowBytesPerSecond must be positive".into());
        }
        Ok(())
    }
}

/// The routes faults can be injected on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultRoute {
    Initiate,
    Part,
    Complete,
    Folder,
    CreateAsset,
    Ims,
    Author,
}

impl FaultRoute {
    pub const ALL: [FaultRoute; 7] = [
        FaultRoute::Initiate,
        FaultRoute::Part,
        FaultRoute::Complete,
        FaultRoute::Folder,
        FaultRoute::CreateAsset,
        FaultRoute::Ims,
        FaultRoute::Author,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FaultRoute::Initiate => "initiate",
            FaultRoute::Part => "part",
            FaultRoute::Complete => "complete",
            FaultRoute::Folder => "folder",
            FaultRoute::CreateAsset => "createasset",
            FaultRoute::Ims => "ims",
            FaultRoute::Author => "author",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_and_presets() {
        let config = Config::from_json(json!({})).unwrap();
        assert_eq!(config.min_part_size, 10 * MIB);
        assert_eq!(config.auth.basic.get("admin").map(String::as_str), Some("admin"));
        let v12 = Config::from_json(json!({"preset": "v12"})).unwrap();
        assert_eq!((v12.min_part_size, v12.max_part_size), (256 * KIB, 4000 * MIB));
        let explicit = Config::from_json(json!({"preset": "historic", "minPartSize": 5})).unwrap();
        assert_eq!((explicit.min_part_size, explicit.max_part_size), (5, 100 * MIB));
    }

    #[test]
    fn profiles_fill_what_is_not_given() {
        let real = Config::from_json(json!({"profile": "real-link"})).unwrap();
        assert_eq!(real.profile, Some(Profile::RealLink));
        assert_eq!(real.faults.routes["complete"].latency_ms, 200);
        assert_eq!(real.faults.routes["part"].jitter_ms, 10);
        assert_eq!(real.link.blob_bytes_per_second, 25_000_000);
        assert_eq!(real.throttle.max_concurrent_aem_requests, 0);
        // Explicit keys win, key by key.
        let tuned = Config::from_json(json!({
            "profile": "real-link-throttled",
            "throttle": {"maxConcurrentAemRequests": 4},
            "faults": {"routes": {"complete": {"latencyMs": 10}}},
        }))
        .unwrap();
        assert_eq!(tuned.throttle.max_concurrent_aem_requests, 4);
        assert_eq!(tuned.throttle.retry_after_seconds, 1);
        assert_eq!((tuned.faults.routes["complete"].latency_ms, tuned.faults.routes["complete"].jitter_ms), (10, 100));
        // A patch that names a profile applies it over the current configuration.
        let patched = Config::default().patched(&json!({"profile": "real-link-throttled"})).unwrap();
        assert_eq!(patched.throttle.max_concurrent_aem_requests, Profile::THROTTLED_AEM_REQUESTS);
        let later = patched.patched(&json!({"strict": "record"})).unwrap();
        assert_eq!(later.throttle.max_concurrent_aem_requests, Profile::THROTTLED_AEM_REQUESTS);
        assert_eq!(later.profile, None);
        assert!(Config::from_json(json!({"profile": "moon-link"})).is_err());
    }

    #[test]
    fn storage_forms() {
        let c = Config::from_json(json!({"storage": "dir:/tmp/x"})).unwrap();
        assert_eq!(c.storage, StorageMode::Dir("/tmp/x".into()));
        let c = Config::from_json(json!({"storage": {"dir": "/tmp/y"}})).unwrap();
        assert_eq!(c.storage, StorageMode::Dir("/tmp/y".into()));
        assert!(Config::from_json(json!({"storage": "disk"})).is_err());
    }

    #[test]
    fn rejects_bad_values() {
        assert!(Config::from_json(json!({"minPartSize": 0})).is_err());
        assert!(Config::from_json(json!({"minPartSize": 10, "maxPartSize": 5})).is_err());
        assert!(Config::from_json(json!({"nope": 1})).is_err());
        assert!(Config::from_json(json!({"faults": {"routes": {"part": {"status503": 2}}}})).is_err());
        assert!(Config::from_json(json!({"faults": {"routes": {"blob": {}}}})).is_err());
        assert!(Config::from_json(json!({"directBinary": "maybe"})).is_err());
        assert!(Config::from_json(json!({"events": {"webhookUrl": "ftp://x"}})).is_err());
        assert!(Config::from_json(json!({"events": {"duplicateRate": 1.5}})).is_err());
        assert!(Config::from_json(json!({"events": {"maxAttempts": 0}})).is_err());
        assert!(Config::from_json(json!({"events": {"webhookURL": "http://x"}})).is_err());
    }

    #[test]
    fn merge_patch_changes_only_named_keys() {
        let config = Config::from_json(json!({"minPartSize": 100, "secret": "s"})).unwrap();
        let patched = config.patched(&json!({"faults": {"seed": 7, "routes": {"part": {"status503": 0.5}}}})).unwrap();
        assert_eq!(patched.min_part_size, 100);
        assert_eq!(patched.faults.seed, 7);
        assert_eq!(patched.secret.as_deref(), Some("s"));
        let cleared = patched.patched(&json!({"faults": {"routes": null}})).unwrap();
        assert!(cleared.faults.routes.is_empty());
        let hooked = cleared.patched(&json!({"events": {"webhookUrl": "http://127.0.0.1:9/hook"}})).unwrap();
        assert_eq!(hooked.events.webhook_url.as_deref(), Some("http://127.0.0.1:9/hook"));
        assert_eq!(hooked.events.processing_delay_ms, 200);
        let unhooked = hooked.patched(&json!({"events": {"webhookUrl": null}})).unwrap();
        assert_eq!(unhooked.events.webhook_url, None);
    }

    #[test]
    fn credentials_are_kept_but_never_serialised() {
        let creds = json!({"clientId": "c", "clientSecret": "s3cret"});
        let config = Config::from_json(json!({"ims": {"credentials": [creds], "tokenLifetimeSeconds": 5}})).unwrap();
        assert!(!serde_json::to_string(&config).unwrap().contains("s3cret"));
        let patched = config.patched(&json!({"ims": {"tokenLifetimeSeconds": 2}})).unwrap();
        assert_eq!(patched.ims.credentials.len(), 1);
        assert_eq!(patched.ims.token_lifetime_seconds, 2);
        assert!(Config::from_json(json!({"ims": {"tokenLifetimeSeconds": 0}})).is_err());
    }
}
