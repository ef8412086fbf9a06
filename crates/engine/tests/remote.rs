//! URL sources against a real origin on loopback (a small HTTP/1.1 server
//! written here): probing, ranged bodies, a file that changes, origin errors.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aem_upload_engine::http::{Activity, ClientOptions, RetryPolicy};
use aem_upload_engine::remote::{Origin, RemoteSource};
use aem_upload_engine::source::{read_buffers, OpenSource, Source, SourceFault};
use aem_upload_engine::ErrorCode;
use futures_util::StreamExt;
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Serves `data` at every path but `/missing` (404) and `/broken` (500):
/// ranges with an ETag that becomes "v2" after `change_after` ranged GETs.
/// Records each request's head.
async fn origin(data: Vec<u8>, change_after: usize) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (data, log, ranges) = (Arc::new(data), Arc::clone(&seen), Arc::new(AtomicUsize::new(0)));
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let (data, log, ranges) = (Arc::clone(&data), Arc::clone(&log), Arc::clone(&ranges));
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    let mut chunk = [0u8; 4096];
                    let n = match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                    let head = String::from_utf8_lossy(&buf[..end]).to_string();
                    buf.drain(..end + 4);
                    log.lock().unwrap().push(head.clone());
                    let mut lines = head.lines();
                    let first: Vec<&str> = lines.next().unwrap_or("").split(' ').collect();
                    let (method, path) =
                        (first[0], first.get(1).copied().unwrap_or("/").split('?').next().unwrap_or("/"));
                    let header = |name: &str| {
                        head.lines().skip(1).find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                        })
                    };
                    let answer: Vec<u8> = if path == "/missing" || path == "/broken" {
                        let status = if path == "/missing" { "404 Not Found" } else { "500 Internal Server Error" };
                        format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n").into_bytes()
                    } else {
                        let ranged = header("range").and_then(|r| {
                            let (a, b) = r.strip_prefix("bytes=")?.split_once('-')?;
                            Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?))
                        });
                        let count = if ranged.is_some() { ranges.fetch_add(1, Ordering::SeqCst) + 1 } else { 0 };
                        let etag = if change_after > 0 && count > change_after { "\"v2\"" } else { "\"v1\"" };
                        let honour = ranged.filter(|_| header("if-range").is_none_or(|v| v == etag));
                        let (status, start, end) = match honour {
                            Some((a, b)) => ("206 Partial Content", a, (b + 1).min(data.len())),
                            None => ("200 OK", 0, data.len()),
                        };
                        let mut out = format!(
                            "HTTP/1.1 {status}\r\naccept-ranges: bytes\r\netag: {etag}\r\ncontent-length: {}\r\n",
                            end - start
                        );
                        if honour.is_some() {
                            out.push_str(&format!("content-range: bytes {start}-{}/{}\r\n", end - 1, data.len()));
                        }
                        out.push_str("\r\n");
                        let mut out = out.into_bytes();
                        if method != "HEAD" {
                            out.extend_from_slice(&data[start..end]);
                        }
                        out
                    };
                    if socket.write_all(&answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, seen)
}

fn policy() -> RetryPolicy {
    RetryPolicy::new(2, std::time::Duration::from_millis(5), 2)
        .with_idle_timeout(Some(std::time::Duration::from_secs(10)))
}

async fn body_bytes(open: &OpenSource, start: u64, end: u64, fault: &SourceFault) -> Result<Vec<u8>, String> {
    let body = open.body(start, end, &Activity::default(), fault, &read_buffers(1)).map_err(|e| e.to_string())?;
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.map_err(|e| e.to_string())?);
    }
    Ok(out)
}

#[tokio::test]
async fn an_origin_with_ranges_is_probed_and_read_range_by_range() {
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let (url, seen) = origin(data.clone(), 0).await;
    let origin_client = Origin::new(&ClientOptions::default()).unwrap();
    let headers = [("x-origin-key".to_string(), "k".to_string())];
    let remote = RemoteSource::new(origin_client, &format!("{url}/f.bin?sig=s"), &headers).unwrap();
    let probe = remote.probe(&policy(), &CancellationToken::new()).await.unwrap();
    assert_eq!((probe.length, probe.ranges), (Some(300_000), true));

    let source = Source::Url(remote);
    let open = OpenSource::open_async(&source, "f.bin", 300_000, &policy(), &CancellationToken::new()).await.unwrap();
    assert!(!open.is_stream(), "ranged origins are read in parallel");
    let fault = SourceFault::default();
    assert_eq!(body_bytes(&open, 1000, 70_000, &fault).await.unwrap(), &data[1000..70_000]);
    assert_eq!(open.read(299_000, 300_000).await.unwrap(), &data[299_000..]);
    let log = seen.lock().unwrap().join("\n").to_ascii_lowercase();
    assert!(log.contains("range: bytes=1000-69999") && log.contains("if-range: \"v1\""), "{log}");
    assert!(log.contains("x-origin-key: k") && !log.contains("authorization"), "{log}");

    // The declared size must be the origin's.
    let err = OpenSource::open_async(&source, "f.bin", 5, &policy(), &CancellationToken::new()).await.err().unwrap();
    assert_eq!(err.code(), ErrorCode::InvalidOptions);
    assert!(err.message().contains("declared 5 bytes, source has 300000 bytes"), "{}", err.message());
}

#[tokio::test]
async fn a_file_that_changes_and_origin_errors_fail_with_the_url_named() {
    let data = vec![7u8; 100_000];
    let (url, _) = origin(data, 1).await;
    let client = Origin::new(&ClientOptions::default()).unwrap();
    let source = Source::Url(RemoteSource::new(Arc::clone(&client), &format!("{url}/f.bin"), &[]).unwrap());
    let open = OpenSource::open_async(&source, "f.bin", 100_000, &policy(), &CancellationToken::new()).await.unwrap();
    let fault = SourceFault::default();
    assert!(body_bytes(&open, 0, 50_000, &fault).await.is_ok());
    // The second range meets version 2: the origin answers in full, so the file changed.
    assert!(body_bytes(&open, 50_000, 100_000, &fault).await.is_err());
    let error = fault.take().unwrap();
    assert_eq!(error.code(), ErrorCode::InvalidOptions);
    assert!(error.message().starts_with("The source changed while it was read"), "{}", error.message());

    for (path, code, status) in
        [("/missing?sig=secret", ErrorCode::NotFound, 404), ("/broken", ErrorCode::Unknown, 500)]
    {
        let source = Source::Url(RemoteSource::new(Arc::clone(&client), &format!("{url}{path}"), &[]).unwrap());
        let err = OpenSource::open_async(&source, "x", 1, &policy(), &CancellationToken::new()).await.err().unwrap();
        assert_eq!(err.code(), code);
        let shown = path.split('?').next().unwrap();
        let query = if path.contains('?') { "?<redacted>" } else { "" };
        assert_eq!(
            err.message(),
            format!("Request failed with status code {status} from the origin {url}{shown}{query}")
        );
    }
}
