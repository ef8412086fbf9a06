//! The engine against the in-process emulator: what a user of the engine
//! would check after an upload — events, errors and the DAM's state.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aem_emulator::{Config, Emulator};
use aem_upload_engine::events::Event;
use aem_upload_engine::folders::{create_folder, create_folders, FolderOptions};
use aem_upload_engine::http::{Client, ClientOptions};
use aem_upload_engine::session::AemSession;
use aem_upload_engine::source::Source;
use aem_upload_engine::upload::{Cancel, Upload, UploadFile, UploadOptions};
use bytes::Bytes;
use serde_json::{json, Value};

const AUTH: &str = "Basic YWRtaW46YWRtaW4=";

async fn emulator(config: Value) -> Emulator {
    Emulator::start(Config::from_json(config).unwrap()).await.unwrap()
}

fn options() -> UploadOptions {
    UploadOptions { retry_delay: Duration::from_millis(5), ..UploadOptions::default() }
}

/// A session that authorises as the emulator's admin.
fn session() -> AemSession {
    AemSession::new(Client::new(&ClientOptions::default()).unwrap(), &[("Authorization".into(), AUTH.into())])
}

fn bytes(n: usize, seed: u8) -> Bytes {
    Bytes::from((0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect::<Vec<u8>>())
}

fn file(emulator: &Emulator, name: &str, data: &Bytes) -> UploadFile {
    UploadFile::new(format!("{}/content/dam/{}", emulator.url(), name), data.len() as u64, Source::Bytes(data.clone()))
}

/// Events as compact strings: `start 0`, `progress 0 100`, `end 0`, `error 0 CODE`, `cancelled 0`.
async fn run(files: Vec<UploadFile>, options: UploadOptions, cancel: Option<Cancel>) -> Vec<String> {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let cancel = cancel.unwrap_or_else(|| Cancel::new(files.len()));
    let upload = Upload::new(
        Arc::new(session()),
        files,
        options,
        Arc::new(move |e: Event| {
            let line = match e {
                Event::FileStart { file } => format!("start {file}"),
                Event::FileProgress { file, transferred, .. } => format!("progress {file} {transferred}"),
                Event::FileEnd { file, .. } => format!("end {file}"),
                Event::FileError { file, error, .. } => format!("error {file} {} {}", error.code(), error.message()),
                Event::FileCancelled { file, .. } => format!("cancelled {file}"),
                Event::FileSkipped { file, mime_type } => format!("skipped {file} {mime_type}"),
                Event::Log { .. } | Event::SourceWanted { .. } => return,
            };
            sink.lock().unwrap().push(line);
        }),
        cancel,
    );
    upload.run().await;
    let out = events.lock().unwrap().clone();
    out
}

fn sha(state: &Value, path: &str) -> Option<String> {
    state["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == path)
        .and_then(|a| a["sha256"].as_str())
        .map(String::from)
}

#[tokio::test]
async fn buffers_land_in_parts_with_events_in_order() {
    let emu = emulator(json!({"minPartSize": 1000, "storage": "digest"})).await;
    let a = bytes(4500, 1);
    let b = bytes(10, 2);
    let events = run(vec![file(&emu, "a.bin", &a), file(&emu, "b.bin", &b)], options(), None).await;
    assert_eq!(&events[..2], ["start 0", "start 1"]);
    assert!(events.contains(&"end 0".to_string()) && events.contains(&"end 1".to_string()), "{events:?}");
    let progress: Vec<&String> = events.iter().filter(|e| e.starts_with("progress 0")).collect();
    assert_eq!(progress.len(), 5);
    assert_eq!(progress.last().unwrap().as_str(), "progress 0 4500");
    let state = emu.state();
    assert_eq!(sha(&state, "/content/dam/a.bin"), Some(aem_emulator::storage::sha256_hex(&a)));
    assert_eq!(sha(&state, "/content/dam/b.bin"), Some(aem_emulator::storage::sha256_hex(&b)));
    assert_eq!(state["violations"], json!([]));
    assert_eq!(state["counters"]["initiate"]["requests"], 1, "one batch for one folder");
    emu.stop().await;
}

#[tokio::test]
async fn files_stream_from_disk() {
    let emu = emulator(json!({"minPartSize": 300000})).await;
    let dir = tempfile::tempdir().unwrap();
    let data = bytes(1_000_000, 7);
    let path = dir.path().join("big file.bin");
    std::fs::write(&path, &data).unwrap();
    let mut f = file(&emu, "big%20file.bin", &data);
    f.source = Source::Path(path);
    let events = run(vec![f], options(), None).await;
    assert_eq!(events.last().unwrap(), "end 0");
    assert_eq!(sha(&emu.state(), "/content/dam/big file.bin"), Some(aem_emulator::storage::sha256_hex(&data)));
    emu.stop().await;
}

#[tokio::test]
async fn prevalidation_failures_come_first_and_send_nothing() {
    let emu = emulator(json!({})).await;
    let dir = tempfile::tempdir().unwrap();
    let mut missing = file(&emu, "missing.bin", &bytes(3, 0));
    missing.source = Source::Path(dir.path().join("missing.bin"));
    let files = vec![
        file(&emu, "empty.bin", &Bytes::new()),
        file(&emu, "bad%23name.bin", &bytes(3, 0)),
        missing,
        UploadFile { size: 4, ..file(&emu, "short.bin", &bytes(3, 0)) },
    ];
    let events = run(files, options(), None).await;
    assert_eq!(
        events,
        [
            "error 0 EUNKNOWN File cannot be uploaded: Empty file",
            "error 1 EUNKNOWN File cannot be uploaded: Filename 'bad#name.bin' has unsupported characters",
            &format!(
                "error 2 ENOENT ENOENT: no such file or directory, open '{}'",
                dir.path().join("missing.bin").display()
            ),
            "error 3 EINVALIDOPTIONS Source size mismatch for 'short.bin': declared 4 bytes, source has 3 bytes",
        ]
    );
    assert_eq!(emu.requests()["requests"], json!([]));
    emu.stop().await;
}

/// Files the walk found (`walked`) are checked for readability only, with
/// the very errors an open gives; a size that changed since the walk is
/// found when the file is read, and nothing of it is completed.
#[tokio::test]
async fn walked_files_fail_prevalidation_as_opened_files_do() {
    let emu = emulator(json!({})).await;
    let dir = tempfile::tempdir().unwrap();
    let walked = |name: &str, size: u64| {
        let mut f = file(&emu, name, &bytes(size as usize, 0));
        f.source = Source::Path(dir.path().join(name));
        f.walked = true;
        f
    };
    let data = bytes(3, 1);
    std::fs::write(dir.path().join("ok.bin"), &data).unwrap();
    std::fs::write(dir.path().join("grew.bin"), bytes(5, 2)).unwrap();
    let unreadable = dir.path().join("locked.bin");
    std::fs::write(&unreadable, &data).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&unreadable, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads anything: the permission case only means something for others.
    let enforced = std::fs::File::open(&unreadable).is_err();
    let files = vec![walked("gone.bin", 3), walked("locked.bin", 3), walked("grew.bin", 3), walked("ok.bin", 3)];
    let events = run(files, options(), None).await;
    let gone =
        format!("error 0 ENOENT ENOENT: no such file or directory, open '{}'", dir.path().join("gone.bin").display());
    let locked = format!("error 1 EACCES EACCES: permission denied, open '{}'", unreadable.display());
    assert_eq!(events[0], gone);
    if enforced {
        assert_eq!(events[1], locked);
    }
    assert!(
        events.iter().any(|e| e.starts_with("error 2 EINVALIDOPTIONS Source size mismatch for 'grew.bin'")),
        "{events:?}"
    );
    assert!(events.contains(&"end 3".to_string()), "{events:?}");
    let state = emu.state();
    assert_eq!(sha(&state, "/content/dam/ok.bin"), Some(aem_emulator::storage::sha256_hex(&data)));
    assert_eq!(sha(&state, "/content/dam/grew.bin"), None);
    emu.stop().await;
}

#[tokio::test]
async fn conflicts_missing_folders_and_too_large_files_fail_with_codes() {
    let emu = emulator(json!({"minPartSize": 10, "maxPartSize": 20, "maxUris": 2})).await;
    let data = bytes(30, 3);
    assert_eq!(run(vec![file(&emu, "c.bin", &data)], options(), None).await.last().unwrap(), "end 0");
    let again = run(vec![file(&emu, "c.bin", &data)], options(), None).await;
    assert_eq!(again.last().unwrap(), "error 0 EALREADYEXISTS Request failed with status code 409");
    let missing = run(vec![file(&emu, "nowhere/c.bin", &data)], options(), None).await;
    assert_eq!(missing, ["start 0", "error 0 ENOTFOUND Request failed with status code 404"]);
    let big = run(vec![file(&emu, "big.bin", &bytes(100, 1))], options(), None).await;
    assert_eq!(
        big,
        ["start 0", "error 0 EUNKNOWN File is too large to upload: 100 bytes, maxPartSize: 20 bytes, numUploadURIs: 2"]
    );
    emu.stop().await;
}

#[tokio::test]
async fn expired_urls_are_reinitiated_and_503s_retried() {
    let emu = emulator(json!({"minPartSize": 100, "faults": {"seed": 1, "routes": {
        "initiate": {"expiredUrls": 1.0, "maxAttempt": 1},
        "part": {"status503": 1.0, "maxAttempt": 1},
        "complete": {"status429": 1.0, "retryAfterSeconds": 0, "maxAttempt": 1}
    }}}))
    .await;
    let data = bytes(350, 9);
    let events = run(vec![file(&emu, "r.bin", &data)], options(), None).await;
    assert_eq!(events.last().unwrap(), "end 0", "{events:?}");
    let state = emu.state();
    assert_eq!(sha(&state, "/content/dam/r.bin"), Some(aem_emulator::storage::sha256_hex(&data)));
    assert_eq!(state["counters"]["initiate"]["requests"], 2);
    assert_eq!(state["violations"], json!([]));
    emu.stop().await;
}

#[tokio::test]
async fn no_retries_with_retry_count_zero() {
    let emu = emulator(json!({"faults": {"routes": {"initiate": {"status503": 1.0}}}})).await;
    let events =
        run(vec![file(&emu, "x.bin", &bytes(5, 0))], UploadOptions { retry_count: 0, ..options() }, None).await;
    assert_eq!(events.last().unwrap(), "error 0 EUNKNOWN Request failed with status code 503");
    assert_eq!(emu.state()["counters"]["initiate"]["requests"], 1);
    emu.stop().await;
}

#[tokio::test]
async fn the_create_asset_fallback_is_decided_by_the_first_initiate() {
    let emu = emulator(json!({"directBinary": false})).await;
    let a = bytes(100, 1);
    let b = bytes(200, 2);
    let events = run(vec![file(&emu, "a.bin", &a), file(&emu, "b.bin", &b)], options(), None).await;
    // Both files joined the first initiate batch, so their filestart came
    // then and is not repeated when the call falls back.
    assert_eq!(events, ["start 0", "start 1", "progress 0 100", "end 0", "progress 1 200", "end 1"]);
    let state = emu.state();
    assert_eq!(sha(&state, "/content/dam/b.bin"), Some(aem_emulator::storage::sha256_hex(&b)));
    assert_eq!(state["counters"]["initiate"]["requests"], 1);
    emu.stop().await;
}

#[tokio::test]
async fn cancelling_sends_nothing_more_and_completes_nothing() {
    let emu = emulator(json!({"minPartSize": 100, "faults": {"routes": {"part": {"latencyMs": 200}}}})).await;
    let cancel = Cancel::new(2);
    let c = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        c.cancel_file(0);
    });
    let events =
        run(vec![file(&emu, "a.bin", &bytes(1000, 1)), file(&emu, "b.bin", &bytes(100, 2))], options(), Some(cancel))
            .await;
    assert!(events.contains(&"cancelled 0".to_string()), "{events:?}");
    assert_eq!(events.last().unwrap(), "end 1");
    let state = emu.state();
    assert!(sha(&state, "/content/dam/a.bin").is_none());
    assert!(sha(&state, "/content/dam/b.bin").is_some());
    emu.stop().await;
}

#[tokio::test]
async fn folders_are_created_or_found_existing() {
    let emu = emulator(json!({})).await;
    let client = session();
    let opts = FolderOptions::default();
    let cancel = tokio_util::sync::CancellationToken::new();
    let created =
        create_folder(&client, &opts, emu.url(), "/content/dam/My Folder", "My Folder", &cancel).await.unwrap();
    assert!(created.created);
    let existing =
        create_folder(&client, &opts, emu.url(), "/content/dam/My Folder", "My Folder", &cancel).await.unwrap();
    assert!(!existing.created);
    let missing = create_folder(&client, &opts, emu.url(), "/content/dam/a/b", "b", &cancel).await.unwrap_err();
    assert_eq!(missing.code().as_str(), "EUNKNOWN");
    assert_eq!(emu.state()["folders"], json!([{"path": "/content/dam/My Folder", "title": "My Folder"}]));
    emu.stop().await;
}

#[tokio::test]
async fn a_folder_list_is_created_parents_first_and_ends_at_its_first_failure() {
    let emu = emulator(json!({})).await;
    let client = session();
    let opts = FolderOptions { delay: Duration::from_millis(1), ..FolderOptions::default() };
    let cancel = tokio_util::sync::CancellationToken::new();
    create_folder(&client, &opts, emu.url(), "/content/dam/d", "d", &cancel).await.unwrap();
    let list = |paths: &[&str]| -> Vec<(String, String)> {
        paths.iter().map(|p| (p.to_string(), p.rsplit('/').next().unwrap().to_string())).collect()
    };
    let tree = ["/content/dam/a", "/content/dam/a/b", "/content/dam/a/b/c", "/content/dam/d", "/content/dam/d/e"];
    for in_flight in [1, 3, 8] {
        let folders = list(&tree);
        let outcomes = create_folders(&client, &opts, emu.url(), &folders, in_flight, &cancel).await;
        let created: Vec<bool> = outcomes.iter().map(|o| o.as_ref().unwrap().created).collect();
        let first = in_flight == 1;
        assert_eq!(created, [first, first, first, false, first], "in_flight {in_flight}");
    }
    let folders: Vec<String> =
        emu.state()["folders"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap().to_string()).collect();
    assert_eq!(
        folders,
        ["/content/dam/a", "/content/dam/a/b", "/content/dam/a/b/c", "/content/dam/d", "/content/dam/d/e"]
    );

    // x has no parent folder: its failure ends the list, and its child is never sent.
    let folders = list(&["/content/dam/f", "/content/dam/x/y", "/content/dam/x/y/z"]);
    let outcomes = create_folders(&client, &opts, emu.url(), &folders, 8, &cancel).await;
    assert_eq!(outcomes.len(), 2);
    assert!(outcomes[0].as_ref().unwrap().created);
    assert_eq!(outcomes[1].as_ref().unwrap_err().code().as_str(), "EUNKNOWN");
    assert!(!emu.state()["folders"].to_string().contains("/content/dam/x/y/z"));
    emu.stop().await;
}

#[tokio::test]
async fn the_journal_skips_completed_files_and_owns_a_complete_it_never_saw_answered() {
    let emu = emulator(json!({})).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("run.jsonl");
    let with_journal = || UploadOptions { journal: Some(journal.clone()), ..options() };
    let a = bytes(100, 1);
    let b = bytes(200, 2);

    // First run: a lands and is recorded.
    assert_eq!(run(vec![file(&emu, "a.jpg", &a)], with_journal(), None).await.last().unwrap(), "end 0");
    // b lands without a journal, as if the run was killed after its complete
    // was sent and before the answer was recorded; the journal only knows
    // that the complete was about to be sent.
    assert_eq!(run(vec![file(&emu, "b.bin", &b)], options(), None).await.last().unwrap(), "end 0");
    let key = aem_upload_engine::journal::FileKey::of(
        &format!("{}/content/dam/b.bin", emu.url()),
        200,
        &Source::Bytes(b.clone()),
    );
    aem_upload_engine::journal::Journal::open(&journal).unwrap().record_completing(&key).unwrap();

    let before = emu.state()["counters"]["complete"]["requests"].as_u64().unwrap();
    let events = run(vec![file(&emu, "a.jpg", &a), file(&emu, "b.bin", &b)], with_journal(), None).await;
    assert_eq!(events[0], "skipped 0 image/jpeg");
    assert!(!events.iter().any(|e| e.ends_with(" 0") && !e.starts_with("skipped")), "{events:?}");
    assert_eq!(events.last().unwrap(), "end 1", "the 409 is b's own earlier complete: {events:?}");
    assert_eq!(emu.state()["counters"]["complete"]["requests"].as_u64().unwrap(), before + 1);

    // Without the journal's word, the same 409 is an error.
    let events = run(vec![file(&emu, "b.bin", &b)], options(), None).await;
    assert!(events.last().unwrap().starts_with("error 0 EALREADYEXISTS"), "{events:?}");
    emu.stop().await;
}

#[tokio::test]
async fn streams_land_in_order_and_survive_expired_urls_on_their_first_part() {
    use aem_upload_engine::source::StreamSource;
    let emu = emulator(json!({"minPartSize": 100, "faults": {"seed": 1, "routes": {
        "initiate": {"expiredUrls": 1.0, "maxAttempt": 1},
        "part": {"status503": 0.5, "maxAttempt": 1}
    }}}))
    .await;
    let data = bytes(1050, 3);
    let (source, feed) = StreamSource::new();
    let mut f = file(&emu, "s.bin", &data);
    f.source = aem_upload_engine::source::Source::Stream(source);
    // The producer pushes odd-sized chunks, as a JS stream would.
    let chunks: Vec<Bytes> = data.chunks(77).map(Bytes::copy_from_slice).collect();
    let producer = tokio::spawn(async move {
        for chunk in chunks {
            if !feed.push(chunk).await {
                break;
            }
        }
    });
    let events = run(vec![f], options(), None).await;
    producer.await.unwrap();
    assert_eq!(events.last().unwrap(), "end 0", "{events:?}");
    let state = emu.state();
    assert_eq!(sha(&state, "/content/dam/s.bin"), Some(aem_emulator::storage::sha256_hex(&data)));
    assert_eq!(state["counters"]["initiate"]["requests"], 2, "re-initiated from the kept first part");
    assert_eq!(state["violations"], json!([]));
    emu.stop().await;
}
