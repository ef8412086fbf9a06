//! Where part bytes go while an upload is pending, and what a finished binary
//! becomes in each storage mode.
//!
//! Parts are always assembled **by index**, never by arrival order. A part is
//! streamed through a [`PartWriter`] and only counts once [`PartWriter::commit`]
//! succeeds, so a body cut off halfway leaves no trace. In `digest` mode the
//! whole-file SHA-256 is computed incrementally: the part that continues the
//! hashed prefix is hashed while it streams, and parts arriving ahead of a gap
//! wait in memory up to [`HOLD_BUDGET`] bytes per emulator until the gap
//! closes. Once that is spent, a part that would wait first waits unread (up
//! to [`HOLD_WAIT`]) for room or for its turn, and only then goes to a temp
//! file: memory stays flat at any file size, TCP holds a sender back while
//! the hash catches up, and only a client that sends far out of order pays a
//! disk round trip.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use md5::Md5;
use sha2::{Digest, Sha256};

use crate::config::StorageMode;

/// How many bytes of parts waiting for a gap (`digest` mode) one emulator
/// holds in memory; more wait in spool files. Spooling every such part cost
/// a page-cache write, a read back and an unlink per byte, which made the
/// emulator, not the client, the ceiling of a large upload.
pub const HOLD_BUDGET: u64 = 64 * 1024 * 1024;

/// How long at most a part waits unread for room in the hold budget (or for
/// its turn to be hashed as it streams) before it is spooled instead.
/// Spooling while the hash was merely behind cost a page-cache write and a
/// read back of a large share of a big file: about a sixth of the emulator's
/// CPU on 2 GiB. The wait is short enough that no client's idle timeout
/// notices it.
pub const HOLD_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A part stops waiting once the hash has not moved on for this long: the
/// gap is not closing soon, and waiting would only slow the sender down.
pub const HOLD_STALL: std::time::Duration = std::time::Duration::from_millis(200);

/// The storage of one emulator: its mode and a private spool folder.
pub struct Storage {
    mode: StorageMode,
    spool: tempfile::TempDir,
    next_spool_file: AtomicU64,
    /// Bytes of waiting parts held in memory, at most `hold_budget`.
    held: AtomicU64,
    hold_budget: u64,
    hold_wait: std::time::Duration,
    hold_stall: std::time::Duration,
    /// Woken when held bytes are released or a hash moves on.
    room: tokio::sync::Notify,
}

/// A share of [`HOLD_BUDGET`], given back when dropped.
struct Reservation {
    storage: Arc<Storage>,
    bytes: u64,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.storage.held.fetch_sub(self.bytes, Ordering::Relaxed);
        self.storage.room.notify_waiters();
    }
}

/// A finished binary, as the DAM keeps it.
#[derive(Clone, Debug)]
pub struct Binary {
    pub size: u64,
    /// Hex SHA-256; `None` in `size` mode, or when it could not be known.
    pub sha256: Option<String>,
    pub data: BinaryData,
}

#[derive(Clone, Debug)]
pub enum BinaryData {
    Memory(Bytes),
    File(PathBuf),
    /// Only size (and digest) are kept.
    None,
}

/// Why a part was not stored.
#[derive(Debug)]
pub enum PutError {
    Md5Mismatch,
    /// The body's length differs from its `Content-Length`.
    LengthMismatch {
        expected: u64,
        received: u64,
    },
    Io(io::Error),
}

impl From<io::Error> for PutError {
    fn from(e: io::Error) -> Self {
        PutError::Io(e)
    }
}

impl Storage {
    pub fn new(mode: StorageMode) -> io::Result<Storage> {
        if let StorageMode::Dir(root) = &mode {
            fs::create_dir_all(root)?;
        }
        Ok(Storage {
            mode,
            spool: tempfile::Builder::new().prefix("aem-emulator-").tempdir()?,
            next_spool_file: AtomicU64::new(0),
            held: AtomicU64::new(0),
            hold_budget: HOLD_BUDGET,
            hold_wait: HOLD_WAIT,
            hold_stall: HOLD_STALL,
            room: tokio::sync::Notify::new(),
        })
    }

    pub fn mode(&self) -> &StorageMode {
        &self.mode
    }

    /// Reserves `bytes` of the hold budget, if that much is left.
    fn reserve(self: &Arc<Self>, bytes: u64) -> Option<Reservation> {
        self.held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                held.checked_add(bytes).filter(|total| *total <= self.hold_budget)
            })
            .ok()
            .map(|_| Reservation { storage: Arc::clone(self), bytes })
    }

    fn spool_path(&self) -> PathBuf {
        let n = self.next_spool_file.fetch_add(1, Ordering::Relaxed);
        self.spool.path().join(format!("part-{n}"))
    }

    /// A new, empty part store for one upload.
    pub fn new_parts(self: &Arc<Self>) -> Arc<PartStore> {
        let hashing = match self.mode {
            StorageMode::Digest => Some(DigestState {
                hasher: Sha256::new(),
                next: 0,
                in_flight: None,
                draining_to: None,
                moved: std::time::Instant::now(),
                valid: true,
            }),
            _ => None,
        };
        Arc::new(PartStore {
            storage: Arc::clone(self),
            inner: Mutex::new(Parts { sizes: BTreeMap::new(), data: BTreeMap::new(), digest: hashing }),
        })
    }

    /// Where `dir` mode keeps the binary of a DAM path.
    pub fn dir_path(&self, dam_path: &str) -> Option<PathBuf> {
        match &self.mode {
            StorageMode::Dir(root) => Some(root.join(dam_path.trim_start_matches('/'))),
            _ => None,
        }
    }
}

/// The parts received so far for one upload.
pub struct PartStore {
    storage: Arc<Storage>,
    inner: Mutex<Parts>,
}

struct Parts {
    sizes: BTreeMap<u32, u64>,
    /// Part bytes: in memory (`memory`), or in spool files (`dir`, and
    /// `digest` parts waiting for a gap to close).
    data: BTreeMap<u32, PartData>,
    digest: Option<DigestState>,
}

enum PartData {
    Memory(Bytes),
    File(PathBuf),
    /// A `digest` part waiting for a gap, within the hold budget: the
    /// received chunks themselves, not a copy.
    Held(Vec<Bytes>, #[allow(dead_code)] Reservation),
}

struct DigestState {
    hasher: Sha256,
    /// Parts `0..next` are in `hasher`.
    next: u32,
    /// A writer is streaming part `next` straight into a copy of the hasher.
    in_flight: Option<u32>,
    /// Parts `next..end` are being hashed, outside the lock, by a drain.
    draining_to: Option<u32>,
    /// When the hash last moved on (or a part began streaming into it).
    moved: std::time::Instant,
    /// False once a hashed part was replaced by different-sized bytes.
    valid: bool,
}

enum Sink {
    Memory(BytesMut),
    File(File, PathBuf),
    Held(Vec<Bytes>, Reservation),
    /// Hashing part `next` directly.
    Hash(Sha256),
    Count,
}

/// Streams one part; dropping it without `commit` discards the bytes.
pub struct PartWriter {
    store: Arc<PartStore>,
    index: u32,
    /// `None` when the length is only known at the end (create-asset servlet).
    expected: Option<u64>,
    written: u64,
    md5: Option<(Md5, [u8; 16])>,
    sink: Option<Sink>,
}

impl PartStore {
    /// Starts receiving part `index` of `expected` bytes; `md5` is the
    /// decoded `Content-MD5` header, when sent.
    pub fn begin(self: &Arc<Self>, index: u32, expected: Option<u64>, md5: Option<[u8; 16]>) -> io::Result<PartWriter> {
        let sink = match self.storage.mode {
            StorageMode::Memory => {
                Sink::Memory(BytesMut::with_capacity(expected.unwrap_or(0).min(64 * 1024 * 1024) as usize))
            }
            StorageMode::Size => Sink::Count,
            StorageMode::Dir(_) => self.spool_sink()?,
            StorageMode::Digest => {
                let mut inner = self.inner.lock().unwrap();
                let state = inner.digest.as_mut().expect("digest mode has digest state");
                if state.can_stream(index) {
                    state.in_flight = Some(index);
                    state.moved = std::time::Instant::now();
                    Sink::Hash(state.hasher.clone())
                } else if index < state.hashed_to() {
                    // Already hashed: a retry of a part that landed. Count it only.
                    Sink::Count
                } else {
                    drop(inner);
                    match expected.and_then(|n| self.storage.reserve(n)) {
                        Some(reservation) => Sink::Held(Vec::new(), reservation),
                        None => self.spool_sink()?,
                    }
                }
            }
        };
        Ok(PartWriter {
            store: Arc::clone(self),
            index,
            expected,
            written: 0,
            md5: md5.map(|m| (Md5::new(), m)),
            sink: Some(sink),
        })
    }

    /// [`PartStore::begin`], but in `digest` mode a part that would be
    /// spooled (ahead of a gap, with the hold budget spent) first waits,
    /// reading nothing, for room or its turn, as long as the hash keeps
    /// moving (a client sending in order, faster than the hash) and at most
    /// [`HOLD_WAIT`]. A hash stuck for [`HOLD_STALL`] means the gap is not
    /// coming soon (a client that sends a part last): then it is spooled.
    pub async fn begin_when_room(
        self: &Arc<Self>,
        index: u32,
        expected: Option<u64>,
        md5: Option<[u8; 16]>,
    ) -> io::Result<PartWriter> {
        let limit = tokio::time::Instant::now() + self.storage.hold_wait;
        loop {
            let room = self.storage.room.notified();
            tokio::pin!(room);
            // Registered before the check: a release in between still wakes us.
            room.as_mut().enable();
            let Some(stalled_at) = self.wait_until(index, expected) else { break };
            let deadline = limit.min(tokio::time::Instant::from_std(stalled_at));
            if deadline <= tokio::time::Instant::now() || tokio::time::timeout_at(deadline, room).await.is_err() {
                break;
            }
        }
        self.begin(index, expected, md5)
    }

    /// When part `index`, which would be spooled right now, should stop
    /// waiting for the hash unless it moves on; `None` if it would not be.
    fn wait_until(&self, index: u32, expected: Option<u64>) -> Option<std::time::Instant> {
        let inner = self.inner.lock().unwrap();
        let state = inner.digest.as_ref()?;
        if state.can_stream(index) || index < state.hashed_to() {
            return None;
        }
        let held = self.storage.held.load(Ordering::Relaxed);
        let fits = expected.is_some_and(|n| held.saturating_add(n) <= self.storage.hold_budget);
        (!fits).then_some(state.moved + self.storage.hold_stall)
    }

    fn spool_sink(&self) -> io::Result<Sink> {
        let path = self.storage.spool_path();
        Ok(Sink::File(File::create(&path)?, path))
    }

    /// Sizes of the parts stored so far, by index.
    pub fn sizes(&self) -> BTreeMap<u32, u64> {
        self.inner.lock().unwrap().sizes.clone()
    }

    /// Assembles the parts by index into the finished binary. In `dir` mode
    /// `dir_target` is where the file goes (written beside it, then renamed).
    pub fn finish(&self, dir_target: Option<&Path>) -> io::Result<Binary> {
        let mut inner = self.inner.lock().unwrap();
        let size: u64 = inner.sizes.values().sum();
        let contiguous = inner.sizes.keys().enumerate().all(|(i, k)| i as u32 == *k);
        match &self.storage.mode {
            StorageMode::Size => Ok(Binary { size, sha256: None, data: BinaryData::None }),
            StorageMode::Digest => {
                let state = inner.digest.as_ref().expect("digest state");
                let complete = contiguous && state.next as usize == inner.sizes.len() && state.valid;
                let sha256 = complete.then(|| hex(&state.hasher.clone().finalize()));
                Ok(Binary { size, sha256, data: BinaryData::None })
            }
            StorageMode::Memory => {
                let mut hasher = Sha256::new();
                let mut whole = BytesMut::with_capacity(size as usize);
                let single = inner.data.len() == 1;
                let mut only = None;
                for part in inner.data.values() {
                    if let PartData::Memory(bytes) = part {
                        hasher.update(bytes);
                        if single {
                            only = Some(bytes.clone());
                        } else {
                            whole.extend_from_slice(bytes);
                        }
                    }
                }
                let data = only.unwrap_or_else(|| whole.freeze());
                Ok(Binary { size, sha256: Some(hex(&hasher.finalize())), data: BinaryData::Memory(data) })
            }
            StorageMode::Dir(_) => {
                let target = dir_target.expect("dir mode needs a target path");
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent)?;
                }
                let staging = target.with_file_name(format!(
                    ".{}.uploading",
                    target.file_name().and_then(|n| n.to_str()).unwrap_or("asset")
                ));
                let mut out = File::create(&staging)?;
                let mut hasher = Sha256::new();
                let mut buf = vec![0u8; 1024 * 1024];
                for part in inner.data.values() {
                    if let PartData::File(path) = part {
                        let mut input = File::open(path)?;
                        loop {
                            let n = input.read(&mut buf)?;
                            if n == 0 {
                                break;
                            }
                            hasher.update(&buf[..n]);
                            out.write_all(&buf[..n])?;
                        }
                    }
                }
                out.sync_data()?;
                fs::rename(&staging, target)?;
                for part in std::mem::take(&mut inner.data).into_values() {
                    if let PartData::File(path) = part {
                        let _ = fs::remove_file(path);
                    }
                }
                Ok(Binary { size, sha256: Some(hex(&hasher.finalize())), data: BinaryData::File(target.to_path_buf()) })
            }
        }
    }

    /// Hashes held and spooled parts that now continue the hashed prefix.
    /// The hashing itself runs with the lock released (up to the 64 MiB hold
    /// budget at a time): other parts of the file keep arriving and
    /// committing meanwhile, instead of stalling a worker on the lock.
    fn drain<'a>(&'a self, mut inner: std::sync::MutexGuard<'a, Parts>) -> io::Result<()> {
        loop {
            let Parts { data, digest, .. } = &mut *inner;
            let Some(state) = digest.as_mut() else { return Ok(()) };
            if state.in_flight.is_some() || state.draining_to.is_some() {
                return Ok(());
            }
            let mut parts = Vec::new();
            let mut end = state.next;
            while let Some(part) = data.remove(&end) {
                parts.push(part);
                end += 1;
            }
            if parts.is_empty() {
                return Ok(());
            }
            state.draining_to = Some(end);
            let mut hasher = state.hasher.clone();
            drop(inner);
            let hashed = hash_parts(&mut hasher, parts);
            inner = self.inner.lock().unwrap();
            let state = inner.digest.as_mut().expect("digest state");
            state.draining_to = None;
            match hashed {
                Ok(()) => {
                    state.hasher = hasher;
                    state.next = end;
                    state.moved = std::time::Instant::now();
                    self.storage.room.notify_waiters();
                }
                Err(error) => {
                    state.valid = false;
                    return Err(error);
                }
            }
        }
    }
}

impl DigestState {
    /// Whether part `index` can stream straight into the hash now.
    fn can_stream(&self, index: u32) -> bool {
        index == self.next && self.in_flight.is_none() && self.draining_to.is_none()
    }

    /// Parts below this are in the hasher or being added to it.
    fn hashed_to(&self) -> u32 {
        self.draining_to.unwrap_or(self.next)
    }
}

/// Feeds parts, in order, to `hasher` (spool files are read back and removed).
fn hash_parts(hasher: &mut Sha256, parts: Vec<PartData>) -> io::Result<()> {
    let mut buf = Vec::new();
    for part in parts {
        match part {
            PartData::Held(chunks, _) => chunks.iter().for_each(|chunk| hasher.update(chunk)),
            PartData::File(path) => {
                buf.resize(1024 * 1024, 0);
                let mut input = File::open(&path)?;
                loop {
                    let n = input.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                }
                let _ = fs::remove_file(&path);
            }
            PartData::Memory(_) => unreachable!("digest mode holds or spools parts"),
        }
    }
    Ok(())
}

impl Drop for PartStore {
    fn drop(&mut self) {
        if let Ok(inner) = self.inner.get_mut() {
            for part in inner.data.values() {
                if let PartData::File(path) = part {
                    let _ = fs::remove_file(path);
                }
            }
        }
    }
}

impl PartWriter {
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), PutError> {
        self.count(chunk)?;
        match self.sink.as_mut().expect("sink until commit") {
            Sink::Memory(buf) => buf.extend_from_slice(chunk),
            Sink::Held(chunks, _) => chunks.push(Bytes::copy_from_slice(chunk)),
            Sink::File(file, _) => file.write_all(chunk)?,
            Sink::Hash(hasher) => hasher.update(chunk),
            Sink::Count => {}
        }
        Ok(())
    }

    /// [`PartWriter::write`] for a chunk already in a `Bytes` (a request
    /// body frame): a part held for a gap keeps it without copying it (the
    /// copy, and fresh pages for it, were a good part of the digest
    /// emulator's CPU on large files).
    pub fn write_bytes(&mut self, chunk: Bytes) -> Result<(), PutError> {
        match self.sink.as_mut().expect("sink until commit") {
            Sink::Held(..) => {
                self.count(&chunk)?;
                if let Some(Sink::Held(chunks, _)) = self.sink.as_mut() {
                    chunks.push(chunk);
                }
                Ok(())
            }
            _ => self.write(&chunk),
        }
    }

    /// Counts (and checksums) a chunk before it is stored.
    fn count(&mut self, chunk: &[u8]) -> Result<(), PutError> {
        self.written += chunk.len() as u64;
        if let Some(expected) = self.expected.filter(|e| self.written > *e) {
            return Err(PutError::LengthMismatch { expected, received: self.written });
        }
        if let Some((md5, _)) = &mut self.md5 {
            md5.update(chunk);
        }
        Ok(())
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    /// Stores the part if its length (and MD5, when sent) is right.
    pub fn commit(mut self) -> Result<(), PutError> {
        if let Some(expected) = self.expected.filter(|e| self.written != *e) {
            return Err(PutError::LengthMismatch { expected, received: self.written });
        }
        if let Some((md5, expected)) = self.md5.take() {
            if md5.finalize().as_slice() != expected {
                return Err(PutError::Md5Mismatch);
            }
        }
        let sink = self.sink.take().expect("sink until commit");
        let store = Arc::clone(&self.store);
        let mut inner = store.inner.lock().unwrap();
        let previous = inner.sizes.insert(self.index, self.written);
        match sink {
            Sink::Memory(buf) => {
                inner.data.insert(self.index, PartData::Memory(buf.freeze()));
            }
            Sink::File(mut file, path) => {
                file.flush()?;
                drop(file);
                let hashed = inner.digest.as_ref().is_some_and(|d| self.index < d.hashed_to());
                if hashed {
                    // A re-PUT of a part already in the digest: nothing to keep.
                    let _ = fs::remove_file(&path);
                    if previous.is_some_and(|p| p != self.written) {
                        inner.digest.as_mut().unwrap().valid = false;
                    }
                } else if let Some(PartData::File(old)) = inner.data.insert(self.index, PartData::File(path)) {
                    let _ = fs::remove_file(old);
                }
            }
            Sink::Held(chunks, reservation) => {
                let hashed = inner.digest.as_ref().is_some_and(|d| self.index < d.hashed_to());
                if hashed {
                    if previous.is_some_and(|p| p != self.written) {
                        inner.digest.as_mut().unwrap().valid = false;
                    }
                } else if let Some(PartData::File(old)) =
                    inner.data.insert(self.index, PartData::Held(chunks, reservation))
                {
                    let _ = fs::remove_file(old);
                }
            }
            Sink::Hash(hasher) => {
                let state = inner.digest.as_mut().expect("digest state");
                state.hasher = hasher;
                state.next = self.index + 1;
                state.in_flight = None;
                state.moved = std::time::Instant::now();
                store.storage.room.notify_waiters();
                // A spooled duplicate of this part is now redundant.
                if let Some(PartData::File(old)) = inner.data.remove(&self.index) {
                    let _ = fs::remove_file(old);
                }
            }
            Sink::Count => {
                if let Some(state) = inner.digest.as_mut() {
                    if previous.is_some_and(|p| p != self.written) {
                        state.valid = false;
                    }
                }
            }
        }
        store.drain(inner)?;
        Ok(())
    }
}

impl Drop for PartWriter {
    fn drop(&mut self) {
        match self.sink.take() {
            Some(Sink::File(file, path)) => {
                drop(file);
                let _ = fs::remove_file(path);
            }
            Some(Sink::Hash(_)) => {
                // Cut off while hashing: free the slot, and let a spooled
                // copy of the same part (a concurrent retry) take its place.
                if let Ok(mut inner) = self.store.inner.lock() {
                    if let Some(state) = inner.digest.as_mut() {
                        state.in_flight = None;
                    }
                    self.store.storage.room.notify_waiters();
                    let _ = self.store.drain(inner);
                }
            }
            _ => {}
        }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn hex_digests_are_lower_case_pairs() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    fn put(store: &Arc<PartStore>, index: u32, bytes: &[u8]) {
        let mut w = store.begin(index, Some(bytes.len() as u64), None).unwrap();
        for chunk in bytes.chunks(3) {
            w.write(chunk).unwrap();
        }
        w.commit().unwrap();
    }

    fn data() -> Vec<Vec<u8>> {
        (0..5u8).map(|i| vec![i; 10 + i as usize]).collect()
    }

    fn whole() -> Vec<u8> {
        data().concat()
    }

    #[test]
    fn every_mode_assembles_by_index_not_arrival() {
        let dir = tempfile::tempdir().unwrap();
        for mode in
            [StorageMode::Memory, StorageMode::Digest, StorageMode::Size, StorageMode::Dir(dir.path().to_path_buf())]
        {
            let storage = Arc::new(Storage::new(mode.clone()).unwrap());
            let store = storage.new_parts();
            for i in [3usize, 1, 4, 0, 2] {
                put(&store, i as u32, &data()[i]);
            }
            let target = dir.path().join("content/dam/a.bin");
            let binary = store.finish(Some(&target)).unwrap();
            assert_eq!(binary.size, whole().len() as u64, "{mode:?}");
            match mode {
                StorageMode::Size => assert_eq!(binary.sha256, None),
                _ => assert_eq!(binary.sha256, Some(sha256_hex(&whole())), "{mode:?}"),
            }
            match binary.data {
                BinaryData::Memory(b) => assert_eq!(&b[..], &whole()[..]),
                BinaryData::File(p) => assert_eq!(fs::read(p).unwrap(), whole()),
                BinaryData::None => {}
            }
        }
    }

    #[test]
    fn waiting_parts_are_held_within_the_budget_then_spooled() {
        let mut storage = Storage::new(StorageMode::Digest).unwrap();
        storage.hold_budget = 25; // parts 2 (12 bytes) and 3 (13) fit, 4 and 1 do not
        let storage = Arc::new(storage);
        let spooled = || fs::read_dir(storage.spool.path()).unwrap().count();
        let store = storage.new_parts();
        for i in [2usize, 3, 4, 1] {
            put(&store, i as u32, &data()[i]);
        }
        assert_eq!(storage.held.load(Ordering::Relaxed), 25);
        assert_eq!(spooled(), 2, "parts 4 and 1, beyond the budget, went to disk");
        // A cut-off held part gives its share back.
        let mut w = store.begin(4, Some(14), None).unwrap();
        w.write(&[1; 3]).unwrap();
        drop(w);
        assert_eq!(storage.held.load(Ordering::Relaxed), 25);
        put(&store, 0, &data()[0]);
        assert_eq!(store.finish(None).unwrap().sha256, Some(sha256_hex(&whole())));
        assert_eq!(storage.held.load(Ordering::Relaxed), 0, "hashed parts are released");
        assert_eq!(spooled(), 0);
        // An abandoned upload releases what it held.
        let store = storage.new_parts();
        put(&store, 3, &data()[3]);
        assert_eq!(storage.held.load(Ordering::Relaxed), 13);
        drop(store);
        assert_eq!(storage.held.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn a_part_beyond_the_budget_waits_for_its_turn_instead_of_spooling() {
        let mut storage = Storage::new(StorageMode::Digest).unwrap();
        // Parts 2 (12 bytes) and 3 (13) fill it; neither time limit runs out here.
        storage.hold_budget = 25;
        (storage.hold_wait, storage.hold_stall) = (Duration::from_secs(600), Duration::from_secs(600));
        let storage = Arc::new(storage);
        let spooled = || fs::read_dir(storage.spool.path()).unwrap().count();
        let store = storage.new_parts();
        put(&store, 2, &data()[2]);
        put(&store, 3, &data()[3]);
        // Part 0 streams into the hash; part 1 could only be spooled.
        let mut first = store.begin(0, Some(10), None).unwrap();
        let waiting = {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut w = store.begin_when_room(1, Some(11), None).await.unwrap();
                w.write(&data()[1]).unwrap();
                w.commit().unwrap();
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "part 1 waits unread while part 0 is hashed");
        first.write(&data()[0]).unwrap();
        first.commit().unwrap();
        waiting.await.unwrap();
        assert_eq!(spooled(), 0, "part 1 streamed into the hash once its turn came");
        put(&store, 4, &data()[4]);
        assert_eq!(store.finish(None).unwrap().sha256, Some(sha256_hex(&whole())));
        assert_eq!(storage.held.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn a_part_is_spooled_when_waiting_does_not_pay() {
        let budget_full = |wait_ms: u64, stall_ms: u64| {
            let mut storage = Storage::new(StorageMode::Digest).unwrap();
            storage.hold_budget = 25;
            (storage.hold_wait, storage.hold_stall) = (Duration::from_millis(wait_ms), Duration::from_millis(stall_ms));
            let storage = Arc::new(storage);
            let store = storage.new_parts();
            put(&store, 2, &data()[2]);
            put(&store, 3, &data()[3]);
            (storage, store)
        };
        let spooled = |storage: &Storage| fs::read_dir(storage.spool.path()).unwrap().count();
        let put_4_when_room = |store: Arc<PartStore>| async move {
            let mut w = store.begin_when_room(4, Some(14), None).await.unwrap();
            w.write(&data()[4]).unwrap();
            w.commit().unwrap();
        };

        // Nobody sends part 0 (a client that sends it last): the hash is
        // stuck, and part 4 goes to disk once that shows, not after the limit.
        let (storage, store) = budget_full(600_000, 20);
        put_4_when_room(Arc::clone(&store)).await;
        assert_eq!(spooled(&storage), 1);

        // Part 0 started and stalled: the limit ends the wait.
        let (storage, store) = budget_full(20, 600_000);
        let stalled = store.begin(0, Some(10), None).unwrap();
        put_4_when_room(Arc::clone(&store)).await;
        assert_eq!(spooled(&storage), 1);
        drop(stalled);
        put(&store, 0, &data()[0]);
        put(&store, 1, &data()[1]);
        assert_eq!(store.finish(None).unwrap().sha256, Some(sha256_hex(&whole())));
    }

    #[test]
    fn cut_off_parts_leave_no_trace() {
        let storage = Arc::new(Storage::new(StorageMode::Digest).unwrap());
        let store = storage.new_parts();
        let mut w = store.begin(0, Some(10), None).unwrap();
        w.write(&[9; 4]).unwrap();
        drop(w); // connection reset mid-body
        put(&store, 1, &data()[1]);
        put(&store, 0, &data()[0]);
        let binary = store.finish(None).unwrap();
        assert_eq!(binary.sha256, Some(sha256_hex(&data()[..2].concat())));
        assert!(store.begin(2, Some(3), None).unwrap().commit().is_err());
    }

    #[test]
    fn concurrent_retry_of_the_part_being_hashed() {
        let storage = Arc::new(Storage::new(StorageMode::Digest).unwrap());
        let store = storage.new_parts();
        let mut first = store.begin(0, Some(10), None).unwrap();
        first.write(&data()[0][..5]).unwrap();
        put(&store, 0, &data()[0]); // the retry is spooled
        drop(first); // the original dies: the spooled copy is hashed
        put(&store, 1, &data()[1]);
        assert_eq!(store.finish(None).unwrap().sha256, Some(sha256_hex(&data()[..2].concat())));
    }

    #[test]
    fn md5_and_length_are_checked() {
        let storage = Arc::new(Storage::new(StorageMode::Memory).unwrap());
        let store = storage.new_parts();
        let good: [u8; 16] = Md5::digest(b"abc").into();
        let mut w = store.begin(0, Some(3), Some(good)).unwrap();
        w.write(b"abc").unwrap();
        w.commit().unwrap();
        let mut w = store.begin(1, Some(3), Some(good)).unwrap();
        w.write(b"abd").unwrap();
        assert!(matches!(w.commit(), Err(PutError::Md5Mismatch)));
        let mut w = store.begin(1, Some(2), None).unwrap();
        assert!(matches!(w.write(b"abc"), Err(PutError::LengthMismatch { .. })));
        assert_eq!(store.sizes(), BTreeMap::from([(0, 3)]));
    }
}
