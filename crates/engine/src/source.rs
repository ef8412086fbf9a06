//! Where a file's bytes come from, and part bodies built from them: positioned
//! reads from disk (streamed in chunks for large parts), or zero-copy slices
//! of an in-memory buffer. A source that turns out shorter or longer than
//! declared fails the file; it never sends other bytes.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::stream;

use crate::buffers::{BufferPool, PoolBuffer};
use crate::http::Activity;
use crate::remote::{Ranged, RemoteOpen, RemoteSource};
pub use crate::stream::{StreamFeed, StreamSource};
use crate::{Error, ErrorCode, Result};

/// Parts up to this size are read whole, inline on the worker (from the page
/// cache that beats two blocking-pool hand-offs).
const INLINE_MAX: u64 = 256 * 1024;

/// Larger parts stream in reads of this size into reused buffers. Measured
/// on a 2 GiB upload (client CPU per 2 GiB, 4 runs each): 64 KiB 0.74–0.85 s,
/// 128 KiB 0.69–0.74 s, 256 KiB 0.73–0.82 s, 1 MiB 0.77–0.87 s; a chunk that
/// stays in the core's L2 between the page-cache copy and the socket copy
/// beats fewer system calls.
const STREAM_CHUNK: u64 = 128 * 1024;

/// Bodies go out in frames of at most this size. hyper asks for the next
/// frame only once it has taken the previous one, so touching the idle
/// timeout per frame tracks bytes draining into the socket, not just a whole
/// part handed over at once (a slow link must never look idle).
const FRAME: usize = 64 * 1024;

/// The read buffers of one call's streamed parts: at most two chunks per
/// part in flight stay allocated between reads.
pub fn read_buffers(parts_in_flight: usize) -> Arc<BufferPool> {
    BufferPool::new(STREAM_CHUNK as usize, parts_in_flight.max(1) * 2)
}

/// A body sent in frames, touching `activity` as each is taken.
pub fn paced_body(data: Bytes, activity: &Activity) -> reqwest::Body {
    activity.touch();
    if data.len() <= FRAME {
        return reqwest::Body::from(data);
    }
    let activity = activity.clone();
    let frames = stream::unfold(data, move |mut rest| {
        let activity = activity.clone();
        async move {
            if rest.is_empty() {
                return None;
            }
            let frame = rest.split_to(rest.len().min(FRAME));
            activity.touch();
            Some((Ok::<Bytes, Error>(frame), rest))
        }
    });
    reqwest::Body::wrap_stream(frames)
}

/// A file's bytes.
#[derive(Clone, Debug)]
pub enum Source {
    /// Read from disk at upload time.
    Path(PathBuf),
    /// Held in memory (a JS Buffer, without copying).
    Bytes(Bytes),
    /// Pushed in order by a producer and read once, part by part.
    Stream(StreamSource),
    /// Read from an http(s) origin (docs/remote-sources.md).
    Url(RemoteSource),
}

/// The first source failure seen while a body streamed; it decides the
/// file's error instead of the transport error it caused. A final one (a
/// file that shrank, an origin's 404) stops every later attempt; a passing
/// one (an origin's 503, a dropped connection) only explains the attempt it
/// broke, and is forgotten when the next one starts.
#[derive(Clone, Default)]
pub struct SourceFault(Arc<Mutex<Faults>>);

#[derive(Default)]
struct Faults {
    last: Option<Error>,
    passing: Option<Error>,
}

impl SourceFault {
    /// The final failure, if any.
    pub fn get(&self) -> Option<Error> {
        self.0.lock().unwrap().last.clone()
    }

    /// The failure that decides the file: the final one, else the passing
    /// one of the last attempt.
    pub fn take(&self) -> Option<Error> {
        let mut faults = self.0.lock().unwrap();
        faults.last.take().or_else(|| faults.passing.take())
    }

    /// A new attempt starts: a passing failure no longer applies.
    pub fn new_attempt(&self) {
        self.0.lock().unwrap().passing = None;
    }

    pub(crate) fn set(&self, error: Error) -> Error {
        let copy = Error::new(error.code(), error.message().to_string());
        self.0.lock().unwrap().last.get_or_insert(error);
        copy
    }

    pub(crate) fn set_passing(&self, error: Error) -> Error {
        let copy = Error::new(error.code(), error.message().to_string());
        self.0.lock().unwrap().passing = Some(error);
        copy
    }

    pub fn is_set(&self) -> bool {
        let faults = self.0.lock().unwrap();
        faults.last.is_some() || faults.passing.is_some()
    }
}

pub fn size_mismatch(name: &str, declared: u64, actual: u64) -> Error {
    Error::new(
        ErrorCode::InvalidOptions,
        format!("Source size mismatch for '{name}': declared {declared} bytes, source has {actual} bytes"),
    )
}

/// An open file shared by the parts of one upload.
#[derive(Clone)]
pub struct OpenSource {
    inner: OpenInner,
    name: Arc<str>,
    declared: u64,
    /// Set when one read took the whole file and found its end right at the
    /// declared length: the bytes sent are the file's, and the check after
    /// the last part (a `statx` per file) has nothing left to prove.
    read_whole: Arc<std::sync::atomic::AtomicBool>,
}

#[derive(Clone)]
enum OpenInner {
    File(Arc<std::fs::File>),
    Bytes(Bytes),
    Stream(StreamSource),
    /// An origin read by ranges (one that cannot is a `Stream`).
    Ranges(Ranged),
}

impl OpenSource {
    /// Opens any source and checks its length against the declared size:
    /// files and buffers at once, an origin after asking it (with `policy`'s
    /// retries; `cancel` also stops the task that streams an origin without
    /// ranges).
    pub async fn open_async(
        source: &Source,
        name: &str,
        declared: u64,
        policy: &crate::http::RetryPolicy,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Result<OpenSource> {
        let Source::Url(remote) = source else { return OpenSource::open(source, name, declared) };
        let inner = match remote.open(name, declared, policy, cancel).await? {
            RemoteOpen::Ranges(ranged) => OpenInner::Ranges(ranged),
            RemoteOpen::Stream(stream) => OpenInner::Stream(stream),
        };
        Ok(OpenSource { inner, name: name.into(), declared, read_whole: Default::default() })
    }

    /// [`OpenSource::open_async`] for a file's transfer, after pre-validation
    /// checked it: a small file is not asked its length again, since its
    /// single whole read (one byte more than declared, to see its end) and
    /// [`OpenSource::check_unchanged`] find any change. On 5,000 small files
    /// that is 5,000 fewer `statx` calls.
    pub async fn open_prevalidated(
        source: &Source,
        name: &str,
        declared: u64,
        policy: &crate::http::RetryPolicy,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Result<OpenSource> {
        match source {
            Source::Path(path) if declared <= INLINE_MAX => {
                let file = std::fs::File::open(path).map_err(|e| io_error(&e, path))?;
                let inner = OpenInner::File(Arc::new(file));
                Ok(OpenSource { inner, name: name.into(), declared, read_whole: Default::default() })
            }
            _ => OpenSource::open_async(source, name, declared, policy, cancel).await,
        }
    }

    /// Opens a local source and checks its length against the declared size
    /// (an origin needs [`OpenSource::open_async`]).
    pub fn open(source: &Source, name: &str, declared: u64) -> Result<OpenSource> {
        let inner = match source {
            Source::Url(_) => return Err(Error::new(ErrorCode::Unknown, "an origin is opened with open_async")),
            Source::Bytes(bytes) => {
                if bytes.len() as u64 != declared {
                    return Err(size_mismatch(name, declared, bytes.len() as u64));
                }
                OpenInner::Bytes(bytes.clone())
            }
            // Its length is known only once read: checked part by part and at the end.
            Source::Stream(stream) => OpenInner::Stream(stream.clone()),
            Source::Path(path) => {
                let file = std::fs::File::open(path).map_err(|e| io_error(&e, path))?;
                let meta = file.metadata().map_err(|e| io_error(&e, path))?;
                if meta.is_dir() {
                    return Err(Error::new(
                        ErrorCode::System("EISDIR"),
                        format!("EISDIR: illegal operation on a directory, read '{}'", path.display()),
                    ));
                }
                if meta.len() != declared {
                    return Err(size_mismatch(name, declared, meta.len()));
                }
                OpenInner::File(Arc::new(file))
            }
        };
        Ok(OpenSource { inner, name: name.into(), declared, read_whole: Default::default() })
    }

    /// Whether parts must be read in order, one at a time, with [`OpenSource::read`].
    pub fn is_stream(&self) -> bool {
        matches!(self.inner, OpenInner::Stream(_))
    }

    /// The body of bytes `[start, end)`, touching `activity` as it is sent.
    /// Not for streams: their parts are read first, then sent from memory.
    /// Large parts of files are read into buffers of `buffers`.
    pub fn body(
        &self,
        start: u64,
        end: u64,
        activity: &Activity,
        fault: &SourceFault,
        buffers: &Arc<BufferPool>,
    ) -> Result<reqwest::Body> {
        match &self.inner {
            OpenInner::Bytes(bytes) => Ok(paced_body(bytes.slice(start as usize..end as usize), activity)),
            OpenInner::Stream(_) => Err(Error::new(ErrorCode::Unknown, "stream parts are read before they are sent")),
            OpenInner::Ranges(ranged) => Ok(ranged.body(start, end, activity, fault)),
            OpenInner::File(file) if end - start <= INLINE_MAX => {
                // A small part costs less to read here than the two thread
                // hand-offs of a blocking-pool read: it comes from the page cache.
                // The whole file is read with one byte more, to see its end.
                let whole = start == 0 && end == self.declared;
                let want = (end - start) as usize;
                let mut chunk = read_probing_end(file, start, want, whole)
                    .map_err(|e| fault.set(Error::new(ErrorCode::from_io(&e), e.to_string())))?;
                if chunk.len() > want {
                    let actual = file.metadata().map_or(self.declared + 1, |m| m.len());
                    return Err(fault.set(size_mismatch(&self.name, self.declared, actual)));
                }
                if chunk.len() != want {
                    return Err(fault.set(size_mismatch(&self.name, self.declared, start + chunk.len() as u64)));
                }
                if whole {
                    self.read_whole.store(true, std::sync::atomic::Ordering::Release);
                }
                chunk.truncate(want);
                Ok(paced_body(chunk, activity))
            }
            OpenInner::File(file) => {
                let file = Arc::clone(file);
                let (name, declared, activity, fault, buffers) =
                    (Arc::clone(&self.name), self.declared, activity.clone(), fault.clone(), Arc::clone(buffers));
                let chunks = stream::unfold((start, Bytes::new()), move |(offset, mut pending)| {
                    let (file, name, activity, fault, buffers) =
                        (Arc::clone(&file), Arc::clone(&name), activity.clone(), fault.clone(), Arc::clone(&buffers));
                    async move {
                        if !pending.is_empty() {
                            let frame = pending.split_to(pending.len().min(FRAME));
                            activity.touch();
                            return Some((Ok(frame), (offset, pending)));
                        }
                        if offset >= end {
                            return None;
                        }
                        let want = (end - offset).min(buffers.size() as u64) as usize;
                        let read = read_chunk(file, buffers.take(), offset, want).await;
                        let chunk = match read {
                            Ok(Ok(chunk)) if chunk.len() == want => chunk,
                            Ok(Ok(chunk)) => {
                                let actual = offset + chunk.len() as u64;
                                return Some((
                                    Err(fault.set(size_mismatch(&name, declared, actual))),
                                    (end, Bytes::new()),
                                ));
                            }
                            Ok(Err(e)) => {
                                let error = fault.set(Error::new(ErrorCode::from_io(&e), e.to_string()));
                                return Some((Err(error), (end, Bytes::new())));
                            }
                            Err(e) => {
                                let error = fault.set(Error::new(ErrorCode::Unknown, e.to_string()));
                                return Some((Err(error), (end, Bytes::new())));
                            }
                        };
                        let mut pending = chunk;
                        let frame = pending.split_to(pending.len().min(FRAME));
                        activity.touch();
                        Some((Ok::<Bytes, Error>(frame), (offset + want as u64, pending)))
                    }
                });
                Ok(reqwest::Body::wrap_stream(chunks))
            }
        }
    }

    /// Bytes `[start, end)` whole (create-asset chunks, stream parts).
    pub async fn read(&self, start: u64, end: u64) -> Result<Bytes> {
        match &self.inner {
            OpenInner::Bytes(bytes) => Ok(bytes.slice(start as usize..end as usize)),
            OpenInner::Stream(stream) => stream.read(start, end, &self.name, self.declared).await,
            OpenInner::Ranges(ranged) => ranged.read(start, end).await,
            OpenInner::File(file) => {
                let file = Arc::clone(file);
                let want = (end - start) as usize;
                let chunk = tokio::task::spawn_blocking(move || read_exact_at(&file, start, want))
                    .await
                    .map_err(|e| Error::new(ErrorCode::Unknown, e.to_string()))?
                    .map_err(|e| Error::new(ErrorCode::from_io(&e), e.to_string()))?;
                if chunk.len() != want {
                    return Err(size_mismatch(&self.name, self.declared, start + chunk.len() as u64));
                }
                Ok(chunk)
            }
        }
    }

    /// After the last part: a file must still have exactly the declared
    /// length, and a stream must end there.
    pub async fn check_unchanged(&self) -> Result<()> {
        match &self.inner {
            OpenInner::File(_) if self.read_whole.load(std::sync::atomic::Ordering::Acquire) => Ok(()),
            OpenInner::File(file) => {
                let len = file.metadata().map_err(|e| Error::new(ErrorCode::from_io(&e), e.to_string()))?.len();
                if len != self.declared {
                    return Err(size_mismatch(&self.name, self.declared, len));
                }
                Ok(())
            }
            OpenInner::Stream(stream) => stream.check_end(&self.name, self.declared).await,
            // Every range was checked against the version first seen (If-Range, ETag).
            OpenInner::Bytes(_) | OpenInner::Ranges(_) => Ok(()),
        }
    }
}

/// One part of an open source, ready to be sent and sent again on a retry:
/// a stream's part is read whole first (bounded by the part size); a file's
/// or a buffer's is read as each attempt sends it. This is where a new kind
/// of source decides how its parts are read.
pub struct Part<'a> {
    source: &'a OpenSource,
    start: u64,
    end: u64,
    preread: Option<Bytes>,
    fault: SourceFault,
    buffers: Arc<BufferPool>,
}

impl OpenSource {
    /// Prepares bytes `[start, end)` as one part; large file parts will be
    /// read into buffers of `buffers`.
    pub async fn part(&self, start: u64, end: u64, buffers: &Arc<BufferPool>) -> Result<Part<'_>> {
        let preread = if self.is_stream() { Some(self.read(start, end).await?) } else { None };
        Ok(Part { source: self, start, end, preread, fault: SourceFault::default(), buffers: Arc::clone(buffers) })
    }
}

impl Part<'_> {
    /// The body of one attempt, touching `activity` as it is sent. Once the
    /// source has failed (a file that shrank), every attempt fails with that.
    pub fn body(&self, activity: &Activity) -> Result<reqwest::Body> {
        self.fault.new_attempt();
        if let Some(error) = self.fault.get() {
            return Err(error);
        }
        match &self.preread {
            Some(data) => Ok(paced_body(data.clone(), activity)),
            None => self.source.body(self.start, self.end, activity, &self.fault, &self.buffers),
        }
    }

    /// The source failure seen while a body was sent, if any: it is the
    /// file's error, not the transport error it caused.
    pub fn fault(&self) -> Option<Error> {
        self.fault.take()
    }

    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// `path` as Node's `path.resolve` gives it on POSIX: joined to `cwd` when
/// relative, `.` and `..` folded lexically (no link followed), so that a
/// path the engine names is the one the JS layer shows for the same file.
pub fn resolve_path(cwd: &std::path::Path, path: &std::path::Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in cwd.join(path).components() {
        match part {
            Component::CurDir => {}
            // `..` at the root stays at the root.
            Component::ParentDir => {
                if out.parent().is_some() {
                    out.pop();
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Whether this process may open `path` for reading, as `open` would say
/// (the same code and message when not), without opening it: one
/// `faccessat` with the effective ids.
#[cfg(unix)]
pub fn check_readable(path: &std::path::Path) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io_error(&std::io::Error::from(std::io::ErrorKind::InvalidInput), path))?;
    // SAFETY: c_path is a valid NUL-terminated string that outlives the call.
    match unsafe { libc::faccessat(libc::AT_FDCWD, c_path.as_ptr(), libc::R_OK, libc::AT_EACCESS) } {
        0 => Ok(()),
        _ => Err(io_error(&std::io::Error::last_os_error(), path)),
    }
}

/// Elsewhere: opening is the check.
#[cfg(not(unix))]
pub fn check_readable(path: &std::path::Path) -> Result<()> {
    std::fs::File::open(path).map(drop).map_err(|e| io_error(&e, path))
}

fn io_error(error: &std::io::Error, path: &std::path::Path) -> Error {
    let code = ErrorCode::from_io(error);
    let label = match code {
        ErrorCode::System(c) => c,
        _ => "EIO",
    };
    Error::new(code, format!("{label}: {}, open '{}'", error_text(error), path.display()))
}

fn error_text(error: &std::io::Error) -> String {
    let text = error.to_string();
    // "No such file or directory (os error 2)" -> "no such file or directory", like Node.
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

/// Bytes `[offset, offset + want)` of `file` (fewer at its end) in `buf`:
/// straight from the page cache when it holds them, which spares two thread
/// hand-offs per chunk, else on the blocking pool, never blocking a worker on
/// the disk.
async fn read_chunk(
    file: Arc<std::fs::File>,
    mut buf: PoolBuffer,
    offset: u64,
    want: usize,
) -> std::result::Result<std::io::Result<Bytes>, tokio::task::JoinError> {
    let (cached, finished) = fill_cached(&file, offset, &mut buf[..want]);
    if finished {
        return Ok(Ok(buf.freeze(cached)));
    }
    tokio::task::spawn_blocking(move || {
        let rest = fill_at(&file, offset + cached as u64, &mut buf[cached..want])?;
        Ok(buf.freeze(cached + rest))
    })
    .await
}

/// Reads what the page cache already holds at `offset`, without waiting for
/// the disk (`preadv2` with `RWF_NOWAIT`): the bytes read, and whether the read
/// is finished (`buf` full or the file ended). Anything unusual (no cache,
/// an error, an old kernel) is left to the blocking read, which reports it.
#[cfg(all(target_os = "linux", any(target_env = "gnu", target_env = "musl")))]
fn fill_cached(file: &std::fs::File, offset: u64, buf: &mut [u8]) -> (usize, bool) {
    use std::os::fd::AsRawFd;
    let mut filled = 0;
    while filled < buf.len() {
        let rest = &mut buf[filled..];
        let iov = libc::iovec { iov_base: rest.as_mut_ptr().cast(), iov_len: rest.len() };
        // SAFETY: one iovec over memory we borrow mutably for the call; the fd is open.
        let n = unsafe {
            libc::preadv2(file.as_raw_fd(), &iov, 1, (offset + filled as u64) as libc::off_t, libc::RWF_NOWAIT)
        };
        match n {
            0 => return (filled, true),
            n if n > 0 => filled += n as usize,
            _ => return (filled, false),
        }
    }
    (filled, true)
}

#[cfg(not(all(target_os = "linux", any(target_env = "gnu", target_env = "musl"))))]
fn fill_cached(_file: &std::fs::File, _offset: u64, _buf: &mut [u8]) -> (usize, bool) {
    (0, false)
}

/// Reads at `offset` until `buf` is full or the file ends; the bytes read.
fn fill_at(file: &std::fs::File, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
    #[cfg(unix)]
    use std::os::unix::fs::FileExt;
    #[cfg(windows)]
    use std::os::windows::fs::FileExt;
    let mut filled = 0;
    while filled < buf.len() {
        #[cfg(unix)]
        let n = file.read_at(&mut buf[filled..], offset + filled as u64)?;
        #[cfg(windows)]
        let n = file.seek_read(&mut buf[filled..], offset + filled as u64)?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

/// Reads `want` bytes at `offset`; with `probe_end`, asks for one byte more
/// to see the file's end. A first read that returns exactly `want` of the
/// `want + 1` asked has met the end (a regular file reads short only there),
/// which saves a second read per small file.
fn read_probing_end(file: &std::fs::File, offset: u64, want: usize, probe_end: bool) -> std::io::Result<Bytes> {
    if !probe_end {
        return read_exact_at(file, offset, want);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0u8; want + 1];
        let first = loop {
            match file.read_at(&mut buf, offset) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        let filled = if first == want || first == 0 {
            first
        } else {
            first + fill_at(file, offset + first as u64, &mut buf[first..])?
        };
        buf.truncate(filled);
        Ok(Bytes::from(buf))
    }
    #[cfg(not(unix))]
    read_exact_at(file, offset, want + 1)
}

fn read_exact_at(file: &std::fs::File, offset: u64, want: usize) -> std::io::Result<Bytes> {
    let mut buf = vec![0u8; want];
    let filled = fill_at(file, offset, &mut buf)?;
    buf.truncate(filled);
    Ok(Bytes::from(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_as_node_resolves_them() {
        let cwd = std::path::Path::new("/home/u/work");
        for (given, want) in [
            ("a/b.bin", "/home/u/work/a/b.bin"),
            ("./a/./b.bin", "/home/u/work/a/b.bin"),
            ("../x/../y.bin", "/home/u/y.bin"),
            ("/abs//dir/../f.bin", "/abs/f.bin"),
            ("/../../f.bin", "/f.bin"),
            ("/already/plain.bin", "/already/plain.bin"),
        ] {
            assert_eq!(resolve_path(cwd, std::path::Path::new(given)), PathBuf::from(want), "{given}");
        }
    }

    #[tokio::test]
    async fn a_prevalidated_small_file_that_changed_fails_when_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        std::fs::write(&path, b"hello").unwrap();
        let policy = crate::http::RetryPolicy::new(1, std::time::Duration::ZERO, 1);
        let cancel = tokio_util::sync::CancellationToken::new();
        let (activity, fault, buffers) = (Activity::default(), SourceFault::default(), BufferPool::new(1024, 1));
        for (now, declared) in [(&b"hello!"[..], 5), (&b"hell"[..], 5)] {
            std::fs::write(&path, now).unwrap();
            let open = OpenSource::open_prevalidated(&Source::Path(path.clone()), "f.bin", declared, &policy, &cancel)
                .await
                .unwrap();
            let err = open.body(0, declared, &activity, &fault, &buffers).err().unwrap();
            assert!(err.message().contains("Source size mismatch"), "{}", err.message());
        }
        std::fs::write(&path, b"hello").unwrap();
        let open = OpenSource::open_prevalidated(&Source::Path(path), "f.bin", 5, &policy, &cancel).await.unwrap();
        assert!(open.body(0, 5, &activity, &fault, &buffers).is_ok());
        assert!(open.check_unchanged().await.is_ok());
    }

    #[test]
    fn open_checks_length_and_kind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        std::fs::write(&path, b"hello").unwrap();
        assert!(OpenSource::open(&Source::Path(path.clone()), "f.bin", 5).is_ok());
        let err = OpenSource::open(&Source::Path(path), "f.bin", 6).err().unwrap();
        assert_eq!(err.message(), "Source size mismatch for 'f.bin': declared 6 bytes, source has 5 bytes");
        let err = OpenSource::open(&Source::Path(dir.path().join("none")), "none", 1).err().unwrap();
        assert_eq!(err.code().as_str(), "ENOENT");
        assert!(err.message().starts_with("ENOENT: no such file or directory, open '"), "{}", err.message());
        let err = OpenSource::open(&Source::Path(dir.path().to_path_buf()), "d", 1).err().unwrap();
        assert_eq!(err.code().as_str(), "EISDIR");
        let err = OpenSource::open(&Source::Bytes(Bytes::from_static(b"ab")), "b", 3).err().unwrap();
        assert_eq!(err.code(), ErrorCode::InvalidOptions);
    }

    #[tokio::test]
    async fn a_small_file_read_whole_is_checked_by_that_read() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        std::fs::write(&path, b"hello").unwrap();
        let (pool, activity) = (read_buffers(1), Activity::default());
        let grow = |n: usize| std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(&vec![0; n]);

        // Read whole and found ending at its length: a later change cannot alter what was sent.
        let open = OpenSource::open(&Source::Path(path.clone()), "f.bin", 5).unwrap();
        assert!(open.body(0, 5, &activity, &SourceFault::default(), &pool).is_ok());
        grow(3).unwrap();
        assert!(open.check_unchanged().await.is_ok());

        // Grown between opening and reading: the read sees past the declared end.
        let open = OpenSource::open(&Source::Path(path.clone()), "f.bin", 8).unwrap();
        grow(2).unwrap();
        let err = open.body(0, 8, &activity, &SourceFault::default(), &pool).err().unwrap();
        assert_eq!(err.message(), "Source size mismatch for 'f.bin': declared 8 bytes, source has 10 bytes");

        // Read in parts: the length is still checked after the last one.
        let open = OpenSource::open(&Source::Path(path.clone()), "f.bin", 10).unwrap();
        assert!(open.body(0, 4, &activity, &SourceFault::default(), &pool).is_ok());
        assert!(open.body(4, 10, &activity, &SourceFault::default(), &pool).is_ok());
        grow(1).unwrap();
        assert!(open.check_unchanged().await.is_err());
    }

    #[test]
    fn positioned_reads_stop_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        std::fs::write(&path, b"0123456789").unwrap();
        let file = std::fs::File::open(&path).unwrap();
        assert_eq!(&read_exact_at(&file, 3, 4).unwrap()[..], b"3456");
        assert_eq!(&read_exact_at(&file, 8, 4).unwrap()[..], b"89");
    }
}
