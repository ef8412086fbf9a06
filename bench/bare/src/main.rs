//! `bare-upload`: the benchmark's speed limit. It speaks the direct binary
//! upload protocol (`docs/protocol.md`: folders, initiate, part PUTs,
//! complete) and does nothing else: no events, progress, journal, naming
//! options or retries beyond waiting out a 429/503, so `npm run bench` can
//! show what the protocol itself costs next to the engine.
//!
//!   bare-upload <local folder> <DAM folder URL> [--concurrency N] [--batch N]
//!               [--user USER:PASS | --token TOKEN]
//!
//! Credentials as the `aem-upload` command takes them: the flags, else
//! `AEM_USERNAME`/`AEM_PASSWORD` or `AEM_BEARER_TOKEN`. Prints one JSON line
//! `{files, bytes, ms, cpuSeconds, peakRssBytes}`; exits 1 on any failure.
//!
//! It leaves AEM in the state `FileSystemUpload` deep leaves (the engine's
//! `tree.rs`): the target's folder chain, then the walked folder and its
//! subfolders under default node names, and the same request shape as the
//! engine (`docs/protocol.md`): initiates per folder in batches of 100, up
//! to 4 overlapping and 200 files open; at most `--concurrency` part PUTs in
//! flight; completes up to `max(2N, 8)`; folder POSTs 8 at a time. Files are
//! read with positioned reads on the runtime's threads: the bench warms the
//! page cache first. Unix only (positioned reads, `getrusage`).

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use futures_util::{stream, StreamExt, TryStreamExt};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Body, Client, RequestBuilder, Response, StatusCode, Url};
use serde::Deserialize;
use tokio::sync::Semaphore;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = Error> = std::result::Result<T, E>;

/// Parts up to this size are read whole and sent from memory; larger ones
/// are streamed in `CHUNK`s.
const WHOLE: u64 = 1 << 20;
const CHUNK: u64 = 256 << 10;
/// The engine's limits (`docs/protocol.md` §1, §3; folders: `lib/filesystem-upload.js`).
const INITIATES: usize = 4;
const OPEN_FILES: usize = 200;
const FOLDERS: usize = 8;
/// Attempts of a request answered 429 or 503 (a throttled or unready AEM).
const ATTEMPTS: u32 = 10;
/// Segments of `/api/assets` folder URLs (`docs/protocol.md` §5).
const FOLDER_SEGMENT: &AsciiSet =
    &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'(').remove(b')');
/// `encodeURIComponent`'s set, as the engine builds asset URLs.
const URI_COMPONENT: &AsciiSet = &FOLDER_SEGMENT.remove(b'!').remove(b'*').remove(b'\'');

struct Options {
    dir: PathBuf,
    target: Url,
    auth: HeaderValue,
    concurrency: usize,
    batch: usize,
}

fn options() -> Result<Options> {
    let env = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
    let mut user = env("AEM_USERNAME").map(|u| format!("{u}:{}", env("AEM_PASSWORD").unwrap_or_default()));
    let mut token = env("AEM_BEARER_TOKEN");
    let (mut positional, mut concurrency, mut batch) = (Vec::new(), 5, 100);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--user" => (user, token) = (Some(value()?), None),
            "--token" => (token, user) = (Some(value()?), None),
            "--concurrency" => concurrency = value()?.parse()?,
            "--batch" => batch = value()?.parse()?,
            flag if flag.starts_with('-') => return Err(format!("unknown flag {flag}").into()),
            _ => positional.push(arg),
        }
    }
    let [dir, target] = <[String; 2]>::try_from(positional).map_err(|_| {
        "usage: bare-upload <local folder> <DAM folder URL> [--concurrency N] [--batch N] [--user U:P | --token T]"
    })?;
    let auth = match (user, token) {
        (_, Some(token)) => format!("Bearer {token}"),
        (Some(user), None) => format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user)),
        (None, None) => return Err("no credentials: --user, --token, AEM_USERNAME or AEM_BEARER_TOKEN".into()),
    };
    let mut auth = HeaderValue::try_from(auth)?;
    auth.set_sensitive(true);
    if concurrency == 0 || batch == 0 {
        return Err("--concurrency and --batch must be at least 1".into());
    }
    Ok(Options { dir: dir.into(), target: Url::parse(&target)?, auth, concurrency, batch })
}

/// A folder to create: its decoded DAM path and its title.
struct Folder {
    path: String,
    title: String,
}

struct File {
    source: PathBuf,
    size: u64,
    /// Index of its folder in [`Ctx::folder_urls`].
    folder: usize,
    name: String,
}

/// The default folder node name (`crates/engine/src/naming.rs`): whitespace
/// and `. % ; # + ? ^ { } " & / : [ ] | * \` replaced by `-`, lower-cased.
fn folder_name(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_whitespace() || ".%;#+?^{}\"&/:[]|*\\".contains(c) { '-' } else { c })
        .collect::<String>()
        .to_lowercase()
}

/// The default asset node name: `# % { } ? & / : [ ] | * \` replaced by `-`
/// before the extension, `/ : [ ] | * \` after it.
fn asset_name(name: &str) -> String {
    let cut = name.rfind('.').filter(|&i| i > 0).unwrap_or(name.len());
    let replace = |s: &str, set: &str| s.chars().map(|c| if set.contains(c) { '-' } else { c }).collect::<String>();
    replace(&name[..cut], "#%{}?&/:[]|*\\") + &replace(&name[cut..], "/:[]|*\\")
}

/// Walks `dir` (DAM folder `folders[folder]`) in name order, skipping dot and
/// tilde names as the engine's walk does; subfolders become folders.
fn walk(dir: &Path, folder: usize, folders: &mut Vec<Folder>, files: &mut Vec<File>) -> Result<()> {
    let mut entries = fs::read_dir(dir)?.collect::<Result<Vec<_>, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type()?;
        if name.starts_with('.') || name.starts_with('~') {
            continue;
        } else if kind.is_dir() {
            folders.push(Folder { path: format!("{}/{}", folders[folder].path, folder_name(&name)), title: name });
            walk(&entry.path(), folders.len() - 1, folders, files)?;
        } else if kind.is_file() {
            files.push(File { source: entry.path(), size: entry.metadata()?.len(), folder, name: asset_name(&name) });
        }
    }
    Ok(())
}

struct Ctx {
    http: Client,
    auth: HeaderValue,
    prefix: String,
    /// `<prefix><encoded folder path>`, by folder index.
    folder_urls: Vec<String>,
    files: Vec<File>,
    puts: Semaphore,
    completes: Semaphore,
    open: Semaphore,
}

impl Ctx {
    /// A request to AEM (never to blob storage): with the credentials.
    fn aem(&self, request: RequestBuilder) -> RequestBuilder {
        request.header(AUTHORIZATION, self.auth.clone())
    }
}

/// Sends the request `make` builds, again after a 429 or 503 (Retry-After
/// seconds, else a doubling wait), and checks the answer is 2xx or `also`.
/// Returns its body. Errors never carry a URL: part URLs are signed.
async fn send(what: &str, also: Option<StatusCode>, make: impl Fn() -> RequestBuilder) -> Result<Bytes> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let response: Response = make().send().await.map_err(|e| format!("{what}: {}", e.without_url()))?;
        let status = response.status();
        if status.is_success() || Some(status) == also {
            return Ok(response.bytes().await.map_err(|e| format!("{what}: {}", e.without_url()))?);
        }
        if attempt < ATTEMPTS && matches!(status, StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE) {
            let after = response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()?.parse().ok());
            tokio::time::sleep(after.map_or(Duration::from_millis(50 << attempt.min(6)), Duration::from_secs)).await;
            continue;
        }
        let body = response.text().await.unwrap_or_default();
        return Err(format!("{what}: HTTP {status} {}", body.chars().take(200).collect::<String>()).into());
    }
}

/// `POST <prefix>/api/assets/<path without /content/dam>`; 409 (it exists) is fine.
async fn create_folder(ctx: &Ctx, folder: &Folder) -> Result<()> {
    let relative = folder.path.strip_prefix("/content/dam").unwrap_or(&folder.path);
    let mut url = format!("{}/api/assets", ctx.prefix);
    for segment in relative.split('/').filter(|s| !s.is_empty()) {
        url = url + "/" + &utf8_percent_encode(segment, FOLDER_SEGMENT).to_string();
    }
    let body = serde_json::json!({"class": "assetFolder", "properties": {"jcr:title": folder.title}}).to_string();
    let what = format!("folder {}", folder.path);
    let post = || ctx.aem(ctx.http.post(&url)).header(CONTENT_TYPE, "application/json").body(body.clone());
    send(&what, Some(StatusCode::CONFLICT), post).await.map(drop)
}

#[derive(Deserialize)]
struct Initiated {
    #[serde(rename = "completeURI")]
    complete_uri: String,
    files: Vec<InitiatedFile>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InitiatedFile {
    upload_token: String,
    #[serde(rename = "uploadURIs")]
    upload_uris: Vec<String>,
    min_part_size: u64,
    max_part_size: u64,
    mime_type: Option<String>,
}

/// Initiates files `first..first + count` (one folder) and starts each
/// file's upload, once that many files may be open.
async fn initiate(ctx: Arc<Ctx>, first: usize, count: usize) -> Result<Vec<tokio::task::JoinHandle<()>>> {
    ctx.open.acquire_many(count as u32).await?.forget();
    let batch = &ctx.files[first..first + count];
    let folder_url = &ctx.folder_urls[batch[0].folder];
    let form: Vec<(&str, String)> =
        batch.iter().flat_map(|f| [("fileName", f.name.clone()), ("fileSize", f.size.to_string())]).collect();
    let url = format!("{folder_url}.initiateUpload.json");
    let body = send("initiate", None, || ctx.aem(ctx.http.post(&url)).form(&form)).await?;
    let answer: Initiated = serde_json::from_slice(&body).map_err(|e| format!("initiate answer: {e}"))?;
    if answer.files.len() != count {
        return Err(format!("initiate answered {} files for {count}", answer.files.len()).into());
    }
    let complete = Url::parse(&format!("{folder_url}/"))?.join(&answer.complete_uri)?;
    let tasks = answer.files.into_iter().enumerate().map(|(i, file)| {
        let (ctx, complete) = (ctx.clone(), complete.clone());
        tokio::spawn(async move {
            if let Err(e) = upload(&ctx, &ctx.files[first + i], file, complete).await {
                eprintln!("bare-upload: {}: {e}", ctx.files[first + i].source.display());
                std::process::exit(1);
            }
            ctx.open.add_permits(1);
        })
    });
    Ok(tasks.collect())
}

/// One file's parts (compat.md §10's plan), then its complete.
async fn upload(ctx: &Ctx, file: &File, answer: InitiatedFile, complete: Url) -> Result<()> {
    let uris = answer.upload_uris.len() as u64;
    let part = answer.min_part_size.max(file.size.div_ceil(uris.max(1)));
    if part > answer.max_part_size || uris == 0 {
        return Err(format!("too large: {} bytes, {uris} URIs of at most {}", file.size, answer.max_part_size).into());
    }
    let mime = answer.mime_type.filter(|m| !m.is_empty()).unwrap_or_else(|| "application/octet-stream".into());
    let started = Instant::now();
    let source = Arc::new(fs::File::open(&file.source)?);
    let parts = file.size.div_ceil(part).max(1);
    let puts = (0..parts).map(|k| {
        let (offset, uri) = (k * part, &answer.upload_uris[k as usize]);
        put(ctx, source.clone(), uri, offset, part.min(file.size - offset), &mime)
    });
    futures_util::future::try_join_all(puts).await?;
    let duration = started.elapsed().as_millis().to_string();
    let size = file.size.to_string();
    let form = [
        ("fileName", file.name.as_str()),
        ("fileSize", &size),
        ("mimeType", &mime),
        ("createVersion", "false"),
        ("replace", "false"),
        ("uploadToken", &answer.upload_token),
        ("uploadDuration", &duration),
    ];
    let _permit = ctx.completes.acquire().await?;
    send("complete", None, || ctx.aem(ctx.http.post(complete.clone())).form(&form)).await.map(drop)
}

/// One part PUT, with no credentials: read whole when small, else streamed.
async fn put(ctx: &Ctx, file: Arc<fs::File>, uri: &str, offset: u64, len: u64, mime: &str) -> Result<()> {
    let _permit = ctx.puts.acquire().await?;
    let url = Url::parse(uri)?;
    let whole = if len <= WHOLE {
        let mut buf = vec![0; len as usize];
        file.read_exact_at(&mut buf, offset)?;
        Some(Bytes::from(buf))
    } else {
        None
    };
    send("part PUT", None, || {
        let body = match &whole {
            Some(bytes) => Body::from(bytes.clone()),
            None => Body::wrap_stream(chunks(file.clone(), offset, offset + len)),
        };
        // The length is given: a part is never sent chunked (docs/protocol.md §2).
        ctx.http.put(url.clone()).header(CONTENT_TYPE, mime).header(CONTENT_LENGTH, len).body(body)
    })
    .await
    .map(drop)
}

/// Bytes `at..end` of `file` in `CHUNK`s.
fn chunks(file: Arc<fs::File>, at: u64, end: u64) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> {
    stream::try_unfold(at, move |at| {
        let file = file.clone();
        async move {
            if at >= end {
                return Ok(None);
            }
            let mut buf = vec![0; CHUNK.min(end - at) as usize];
            file.read_exact_at(&mut buf, at)?;
            Ok(Some((Bytes::from(buf), at + CHUNK.min(end - at))))
        }
    })
}

async fn run(options: Options) -> Result<(usize, u64)> {
    let prefix = options.target.origin().ascii_serialization();
    let decoded = percent_encoding::percent_decode_str(options.target.path()).decode_utf8()?;
    let target = decoded.trim_end_matches('/');
    // The target's chain (the engine's `folder_chain`): each prefix under /content/dam.
    let under = if target == "/content/dam" { "" } else { target.strip_prefix("/content/dam").unwrap_or(target) };
    let mut chain = String::from("/content/dam");
    let mut folders: Vec<Folder> = under
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            chain = format!("{chain}/{s}");
            Folder { path: chain.clone(), title: s.to_string() }
        })
        .collect();
    let chained = folders.len();
    let dir = fs::canonicalize(&options.dir)?;
    let title = dir.file_name().ok_or("the local folder has no name")?.to_string_lossy().into_owned();
    folders.push(Folder { path: format!("{target}/{}", folder_name(&title)), title });
    let mut files = Vec::new();
    walk(&dir, chained, &mut folders, &mut files)?;
    // Batches are per folder; the walk interleaves a folder's files with its subfolders'.
    files.sort_by_key(|f| f.folder);
    let folder_urls = folders
        .iter()
        .map(|f| {
            f.path.split('/').map(|s| utf8_percent_encode(s, URI_COMPONENT).to_string()).collect::<Vec<_>>().join("/")
        })
        .map(|path| format!("{prefix}{path}"))
        .collect();
    let n = options.concurrency;
    let ctx = Arc::new(Ctx {
        http: Client::builder().no_proxy().build()?,
        auth: options.auth,
        prefix,
        folder_urls,
        files,
        puts: Semaphore::new(n),
        completes: Semaphore::new((2 * n).max(8)),
        open: Semaphore::new(OPEN_FILES.max(options.batch)),
    });
    // Parents before children: the chain one by one, then the walked folders level by level.
    for folder in &folders[..chained] {
        create_folder(&ctx, folder).await?;
    }
    let depth = |f: &Folder| f.path.matches('/').count();
    let mut levels: Vec<&Folder> = folders[chained..].iter().collect();
    levels.sort_by_key(|f| depth(f));
    for level in levels.chunk_by(|a, b| depth(a) == depth(b)) {
        stream::iter(level).map(|f| create_folder(&ctx, f)).buffer_unordered(FOLDERS).try_collect::<Vec<()>>().await?;
    }
    let mut batches: Vec<(usize, usize)> = Vec::new();
    for (i, file) in ctx.files.iter().enumerate() {
        match batches.last_mut() {
            Some((first, count)) if ctx.files[*first].folder == file.folder && *count < options.batch => *count += 1,
            _ => batches.push((i, 1)),
        }
    }
    let tasks: Vec<Vec<_>> = stream::iter(batches)
        .map(|(first, count)| initiate(ctx.clone(), first, count))
        .buffer_unordered(INITIATES)
        .try_collect()
        .await?;
    for task in tasks.into_iter().flatten() {
        task.await?;
    }
    Ok((ctx.files.len(), ctx.files.iter().map(|f| f.size).sum()))
}

/// CPU seconds (getrusage, as Node's `process.resourceUsage()`) and peak RSS
/// (VmHWM: getrusage's maxrss would count the bench's own RSS at the fork)
/// of this process, as the bench's Node runs report them.
fn usage() -> (f64, u64) {
    // SAFETY: getrusage only fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm = status.lines().find_map(|l| l.strip_prefix("VmHWM:")?.trim().strip_suffix(" kB")?.parse::<u64>().ok());
    (seconds(usage.ru_utime) + seconds(usage.ru_stime), hwm.unwrap_or(usage.ru_maxrss as u64) * 1024)
}

#[tokio::main]
async fn main() -> ExitCode {
    let started = Instant::now();
    match options() {
        Err(e) => eprintln!("bare-upload: {e}"),
        Ok(options) => match run(options).await {
            Err(e) => eprintln!("bare-upload: {e}"),
            Ok((files, bytes)) => {
                let ms = started.elapsed().as_secs_f64() * 1e3;
                let (cpu, rss) = usage();
                println!(
                    "{}",
                    serde_json::json!({"files": files, "bytes": bytes, "ms": ms, "cpuSeconds": cpu, "peakRssBytes": rss})
                );
                return ExitCode::SUCCESS;
            }
        },
    }
    ExitCode::FAILURE
}
