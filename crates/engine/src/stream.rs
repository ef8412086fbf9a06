//! Sources whose bytes are pushed in order by a producer (a Node or web
//! stream on the JS side) and can be read once. The engine reads them part by
//! part, in order, holding at most one part plus a few pushed chunks: memory
//! stays bounded whatever the stream's length. The producer is asked to start
//! only when the file's transfer needs its first bytes ([`StreamSource::wanted`]),
//! and each push waits while the queue is full (back-pressure).
//!
//! The last part read is kept, so a part can be retried and a file whose
//! first part's URLs were refused can be initiated again; a file refused
//! later cannot be, since the stream cannot be read again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::sync::{mpsc, Mutex};

use crate::source::size_mismatch;
use crate::{Error, ErrorCode, Result};

/// Chunks queued between the producer and the reader.
const QUEUE: usize = 8;

/// The reading side, held by the engine.
#[derive(Clone)]
pub struct StreamSource(Arc<Shared>);

struct Shared {
    reader: Mutex<Reader>,
    wanted: AtomicBool,
}

struct Reader {
    rx: mpsc::Receiver<Result<Bytes>>,
    /// Received but not yet read.
    pending: Bytes,
    /// Bytes handed out so far.
    position: u64,
    /// The last range read, kept for a retry of the same part.
    last: Option<(u64, u64, Bytes)>,
}

impl std::fmt::Debug for StreamSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamSource")
    }
}

/// The producing side: push chunks in order, then end (or fail).
#[derive(Clone)]
pub struct StreamFeed {
    tx: mpsc::Sender<Result<Bytes>>,
}

impl StreamFeed {
    /// Queues a chunk, waiting while the queue is full. `false` when the
    /// engine no longer wants the stream (the file ended, failed or was
    /// cancelled): the producer should stop.
    pub async fn push(&self, chunk: Bytes) -> bool {
        chunk.is_empty() || self.tx.send(Ok(chunk)).await.is_ok()
    }

    /// The stream failed; the file fails with this error.
    pub async fn fail(&self, error: Error) {
        let _ = self.tx.send(Err(error)).await;
    }

    /// The stream ended (dropping every feed does the same).
    pub fn end(self) {}
}

impl StreamSource {
    pub fn new() -> (StreamSource, StreamFeed) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let reader = Reader { rx, pending: Bytes::new(), position: 0, last: None };
        (
            StreamSource(Arc::new(Shared { reader: Mutex::new(reader), wanted: AtomicBool::new(false) })),
            StreamFeed { tx },
        )
    }

    /// Marks the stream as wanted; `true` the first time only (the producer
    /// is then asked to start).
    pub fn wanted(&self) -> bool {
        !self.0.wanted.swap(true, Ordering::AcqRel)
    }

    /// Bytes `[start, end)`: the next range in order, or the last one again.
    pub async fn read(&self, start: u64, end: u64, name: &str, declared: u64) -> Result<Bytes> {
        let mut reader = self.0.reader.lock().await;
        if let Some((s, e, bytes)) = &reader.last {
            if (*s, *e) == (start, end) {
                return Ok(bytes.clone());
            }
        }
        if start != reader.position {
            return Err(Error::new(
                ErrorCode::Forbidden,
                format!(
                    "A stream cannot be read again: '{name}' was sent up to byte {} when it had to start over",
                    reader.position
                ),
            ));
        }
        let want = (end - start) as usize;
        let mut part = BytesMut::with_capacity(want.min(16 * 1024 * 1024));
        while part.len() < want {
            if reader.pending.is_empty() {
                match reader.rx.recv().await {
                    Some(Ok(chunk)) => reader.pending = chunk,
                    Some(Err(error)) => return Err(error),
                    None => return Err(size_mismatch(name, declared, start + part.len() as u64)),
                }
            }
            let take = (want - part.len()).min(reader.pending.len());
            let chunk = reader.pending.split_to(take);
            part.extend_from_slice(&chunk);
        }
        let part = part.freeze();
        reader.position = end;
        reader.last = Some((start, end, part.clone()));
        Ok(part)
    }

    /// After the last part: the stream must end here.
    pub async fn check_end(&self, name: &str, declared: u64) -> Result<()> {
        let mut reader = self.0.reader.lock().await;
        if !reader.pending.is_empty() {
            return Err(longer(name, declared));
        }
        loop {
            match reader.rx.recv().await {
                None => return Ok(()),
                Some(Ok(chunk)) if chunk.is_empty() => continue,
                Some(Ok(_)) => return Err(longer(name, declared)),
                Some(Err(error)) => return Err(error),
            }
        }
    }

    /// Stops reading: a producer still pushing is told to stop.
    pub async fn close(&self) {
        self.0.reader.lock().await.rx.close();
    }
}

fn longer(name: &str, declared: u64) -> Error {
    Error::new(
        ErrorCode::InvalidOptions,
        format!("Source size mismatch for '{name}': declared {declared} bytes, source has more"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn parts_come_in_order_and_the_last_can_be_read_again() {
        let (source, feed) = StreamSource::new();
        assert!(source.wanted());
        assert!(!source.wanted());
        let producer = tokio::spawn(async move {
            for chunk in [&b"abc"[..], b"defg", b"", b"hij"] {
                assert!(feed.push(Bytes::copy_from_slice(chunk)).await);
            }
            feed.end();
        });
        assert_eq!(&source.read(0, 4, "s", 10).await.unwrap()[..], b"abcd");
        assert_eq!(&source.read(0, 4, "s", 10).await.unwrap()[..], b"abcd", "a retry of the same part");
        assert_eq!(&source.read(4, 10, "s", 10).await.unwrap()[..], b"efghij");
        let again = source.read(0, 4, "s", 10).await.unwrap_err();
        assert_eq!(again.code(), ErrorCode::Forbidden);
        source.check_end("s", 10).await.unwrap();
        producer.await.unwrap();
    }

    #[tokio::test]
    async fn short_long_and_failing_streams_are_errors() {
        let (source, feed) = StreamSource::new();
        feed.push(Bytes::from_static(b"abc")).await;
        drop(feed);
        let short = source.read(0, 5, "s", 5).await.unwrap_err();
        assert_eq!(short.message(), "Source size mismatch for 's': declared 5 bytes, source has 3 bytes");

        let (source, feed) = StreamSource::new();
        feed.push(Bytes::from_static(b"abcdef")).await;
        drop(feed);
        source.read(0, 5, "s", 5).await.unwrap();
        let long = source.check_end("s", 5).await.unwrap_err();
        assert_eq!(long.message(), "Source size mismatch for 's': declared 5 bytes, source has more");

        let (source, feed) = StreamSource::new();
        feed.fail(Error::new(ErrorCode::System("EIO"), "disk on fire")).await;
        assert_eq!(source.read(0, 5, "s", 5).await.unwrap_err().message(), "disk on fire");
    }

    #[tokio::test]
    async fn a_closed_source_stops_its_producer_and_the_queue_is_bounded() {
        let (source, feed) = StreamSource::new();
        for _ in 0..QUEUE {
            assert!(feed.push(Bytes::from_static(b"x")).await);
        }
        // The queue is full: the next push waits.
        let waiting =
            tokio::time::timeout(std::time::Duration::from_millis(50), feed.push(Bytes::from_static(b"x"))).await;
        assert!(waiting.is_err());
        source.close().await;
        assert!(!feed.push(Bytes::from_static(b"x")).await);
    }
}
