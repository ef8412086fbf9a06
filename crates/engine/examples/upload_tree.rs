//! The engine alone, without Node: uploads a local folder as
//! `FileSystemUpload` deep does with default options (walk, target chain,
//! folders, pre-validation, transfer), and prints one JSON line with what it
//! cost. The bench's "engine alone" row (bench/run.js), which splits our gap
//! to the bare client into the engine's part and Node's.
//!
//! `cargo run --release -p aem-upload-engine --example upload_tree -- <dir> <AEM folder URL> [maxConcurrent]`
//! with AEM_USERNAME and AEM_PASSWORD for Basic authentication.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use aem_upload_engine::events::Event;
use aem_upload_engine::folders::{create_folders, FolderOptions};
use aem_upload_engine::http::{Client, ClientOptions};
use aem_upload_engine::naming::Naming;
use aem_upload_engine::session::AemSession;
use aem_upload_engine::source::Source;
use aem_upload_engine::tree::{folder_chain, TreePlan, TreeTarget};
use aem_upload_engine::upload::{Cancel, Upload, UploadFile, UploadOptions};
use aem_upload_engine::walk::walk;
use base64::Engine;

fn main() -> std::process::ExitCode {
    let started = Instant::now();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, url, rest @ ..] = args.as_slice() else {
        eprintln!("usage: upload_tree <dir> <AEM folder URL> [maxConcurrent]");
        return std::process::ExitCode::from(2);
    };
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build().unwrap();
    let concurrent = rest.first().and_then(|n| n.parse().ok()).unwrap_or(std::num::NonZeroUsize::new(5).unwrap());
    match runtime.block_on(upload(PathBuf::from(dir), url, concurrent)) {
        Ok((files, failed)) => {
            println!(
                "{}",
                serde_json::json!({"files": files, "failed": failed, "ms": started.elapsed().as_secs_f64() * 1e3, "cpuSeconds": cpu_seconds(), "peakRssBytes": peak_rss()})
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("upload_tree: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn upload(dir: PathBuf, url: &str, concurrent: std::num::NonZeroUsize) -> Result<(usize, usize), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
    let prefix = parsed.origin().ascii_serialization();
    let folder = parsed.path().trim_end_matches('/').to_string();
    let user = std::env::var("AEM_USERNAME").unwrap_or_default();
    let password = std::env::var("AEM_PASSWORD").unwrap_or_default();
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")));
    let client = Client::new(&ClientOptions::default()).map_err(|e| e.to_string())?;
    let session = Arc::new(AemSession::new(client, &[("Authorization".into(), basic)]));
    folders(
        Arc::clone(&session),
        prefix.clone(),
        folder_chain(&folder).into_iter().map(|f| (f.path, f.title)).collect(),
    )
    .await?;
    let walked = tokio::task::spawn_blocking(move || walk(&[dir], true, usize::MAX))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let target = TreeTarget { url_prefix: prefix.clone(), folder, deep: true };
    let plan = TreePlan::new(&walked, &target, &Naming::defaults("-"));
    let targets = plan.targets();
    let files: Vec<UploadFile> = plan
        .files
        .iter()
        .zip(targets)
        .map(|(f, target)| {
            let target = target.map_err(|e| e.to_string())?;
            Ok(UploadFile { walked: true, ..UploadFile::to(target, f.size, Source::Path(f.source.clone())) })
        })
        .collect::<Result<_, String>>()?;
    let count = files.len();
    let failed = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&failed);
    let sink = Arc::new(move |event: Event| {
        if let Event::FileError { .. } = event {
            seen.fetch_add(1, Ordering::Relaxed);
        }
    });
    let upload = Upload::new(
        Arc::clone(&session),
        files,
        UploadOptions { max_concurrent: concurrent, ..UploadOptions::default() },
        sink,
        Cancel::new(count),
    );
    // Folders while the files are pre-validated, as FileSystemUpload does.
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let dirs: Vec<(String, String)> = plan.folders.iter().map(|f| (f.path.clone(), f.title.clone())).collect();
    let creating = tokio::spawn(async move {
        let done = folders(session, prefix, dirs).await;
        let _ = ready_tx.send(done.is_ok());
        done
    });
    upload.run_when(async { ready_rx.await.unwrap_or(false) }).await;
    creating.await.map_err(|e| e.to_string())??;
    Ok((count, failed.load(Ordering::Relaxed)))
}

/// Creates `list` (path, title) as the bindings do, eight in flight; the first failure ends it.
async fn folders(session: Arc<AemSession>, prefix: String, list: Vec<(String, String)>) -> Result<(), String> {
    let cancel = tokio_util::sync::CancellationToken::new();
    for created in create_folders(&session, &FolderOptions::default(), &prefix, &list, 8, &cancel).await {
        created.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// User and system CPU time of this process, as the bench's other rows report it.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Peak resident memory (VmHWM), as the bench's other rows report it.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status.lines().find_map(|l| l.strip_prefix("VmHWM:")?.trim().strip_suffix(" kB")?.parse::<u64>().ok());
    kb.unwrap_or(0) * 1024
}
