//! `bare-upload` against the in-process emulator: it must leave AEM as
//! `FileSystemUpload` deep does (the bench verifies every run the same way),
//! wait out throttling, and fail loudly without leaking credentials.

use std::path::Path;
use std::process::{Command, Output};

use aem_emulator::storage::sha256_hex;
use aem_emulator::{Config, Emulator};
use serde_json::{json, Value};

fn write(root: &Path, relative: &str, len: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..len).map(|i| (i * 31 + relative.len()) as u8).collect();
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, &data).unwrap();
    data
}

async fn bare(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || Command::new(env!("CARGO_BIN_EXE_bare-upload")).args(args).output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_lands_the_tree_as_filesystem_upload_does_and_waits_out_throttling() {
    // Every first initiate is throttled (Retry-After: 0) and every first part PUT answered 503.
    let faults = json!({"routes": {
        "initiate": {"status429": 1.0, "retryAfterSeconds": 0, "maxAttempt": 1},
        "part": {"status503": 1.0, "maxAttempt": 1}
    }});
    let emulator = Emulator::start(Config::from_json(json!({"faults": faults})).unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("My Payload");
    let small = write(&root, "Sub A/x#1.bin", 8192);
    let top = write(&root, "top.txt", 100);
    // 12 MiB at the emulator's default 10 MiB minimum: two parts, both streamed.
    let big = write(&root, "b/big file.bin", 12 << 20);
    write(&root, ".hidden", 1);
    let args = vec![root.display().to_string(), format!("{}/content/dam/t t/x", emulator.url()), "--user".into()];
    let out = bare([args.clone(), vec!["admin:admin".into(), "--concurrency".into(), "2".into()]].concat()).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((summary["files"].as_u64(), summary["bytes"].as_u64()), (Some(3), Some(8192 + 100 + (12 << 20))));
    assert!(summary["cpuSeconds"].as_f64().unwrap() > 0.0 && summary["peakRssBytes"].as_u64().unwrap() > 0);

    let state = emulator.state();
    let folders: Vec<(&str, &str)> = state["folders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), f["title"].as_str().unwrap()))
        .collect();
    let base = "/content/dam/t t/x/my-payload";
    assert_eq!(
        folders,
        [
            ("/content/dam/t t", "t t"),
            ("/content/dam/t t/x", "x"),
            (base, "My Payload"),
            (&format!("{base}/b") as &str, "b"),
            (&format!("{base}/sub-a") as &str, "Sub A")
        ]
    );
    let mut assets: Vec<(String, u64, String)> = state["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (a["path"].as_str().unwrap().into(), a["size"].as_u64().unwrap(), a["sha256"].as_str().unwrap().into())
        })
        .collect();
    assets.sort();
    let want = |path: &str, data: &[u8]| (format!("{base}/{path}"), data.len() as u64, sha256_hex(data));
    assert_eq!(assets, [want("b/big file.bin", &big), want("sub-a/x-1.bin", &small), want("top.txt", &top)]);
    assert_eq!(state["violations"], json!([]));
    // One initiate per folder with files, each throttled once; four parts, each refused once.
    assert_eq!(state["counters"]["initiate"]["statuses"], json!({"201": 3, "429": 3}));
    assert_eq!(state["counters"]["part"]["statuses"], json!({"201": 4, "503": 4}));

    // Refused credentials: exit 1, the status said, the password never.
    let out = bare([args, vec!["admin:s3cret-pw".into()]].concat()).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("401") && !stderr.contains("s3cret"), "{stderr}");
    assert!(out.stdout.is_empty());
    emulator.stop().await;
}
