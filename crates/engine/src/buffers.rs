//! Read buffers reused across the chunks of streamed parts.
//!
//! A large part is read in fixed-size chunks. A fresh buffer per chunk sits
//! above glibc's mmap threshold, so each one cost an mmap, a page fault per
//! 4 KiB, the kernel's page clearing, a memset and an munmap: about a fifth
//! of the client's CPU on a 2 GiB upload (perf). Buffers here go back to
//! their pool when the last [`Bytes`] slice of them is dropped (after hyper
//! has written it), so a long upload touches the same few pages throughout.

use std::sync::{Arc, Mutex, Weak};

use bytes::Bytes;

/// A bounded free list of equally sized buffers, one per upload call.
pub struct BufferPool {
    size: usize,
    keep: usize,
    free: Mutex<Vec<Vec<u8>>>,
}

impl BufferPool {
    /// A pool of `size`-byte buffers that keeps at most `keep` of them idle;
    /// more can be in use at once, the rest are simply freed on return.
    pub fn new(size: usize, keep: usize) -> Arc<BufferPool> {
        Arc::new(BufferPool { size, keep, free: Mutex::new(Vec::new()) })
    }

    /// The size of every buffer.
    pub fn size(&self) -> usize {
        self.size
    }

    /// A buffer of [`BufferPool::size`] bytes, contents unspecified.
    pub fn take(self: &Arc<Self>) -> PoolBuffer {
        let buf = self.free.lock().unwrap().pop().unwrap_or_else(|| vec![0; self.size]);
        PoolBuffer { len: buf.len(), buf, pool: Arc::downgrade(self) }
    }

    fn give_back(&self, buf: Vec<u8>) {
        let mut free = self.free.lock().unwrap();
        if free.len() < self.keep {
            free.push(buf);
        }
    }

    #[cfg(test)]
    fn idle(&self) -> usize {
        self.free.lock().unwrap().len()
    }
}

/// A buffer of a pool, returned to it when dropped.
pub struct PoolBuffer {
    buf: Vec<u8>,
    len: usize,
    // Weak: buffers still inside hyper when a call ends must not keep its pool alive.
    pool: Weak<BufferPool>,
}

impl PoolBuffer {
    /// Its first `len` bytes as [`Bytes`], without copying; the buffer goes
    /// back to the pool once every slice of them is dropped.
    pub fn freeze(mut self, len: usize) -> Bytes {
        self.len = len.min(self.buf.len());
        Bytes::from_owner(self)
    }
}

impl std::ops::Deref for PoolBuffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.buf
    }
}

impl std::ops::DerefMut for PoolBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }
}

impl AsRef<[u8]> for PoolBuffer {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Drop for PoolBuffer {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.upgrade() {
            pool.give_back(std::mem::take(&mut self.buf));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_when_the_last_slice_is_dropped() {
        let pool = BufferPool::new(8, 2);
        let mut buf = pool.take();
        buf[..3].copy_from_slice(b"abc");
        let bytes = buf.freeze(3);
        assert_eq!(&bytes[..], b"abc");
        let mut rest = bytes.clone();
        let head = rest.split_to(1);
        drop(bytes);
        drop(head);
        assert_eq!(pool.idle(), 0, "a slice is still alive");
        drop(rest);
        assert_eq!(pool.idle(), 1);
        let again = pool.take();
        assert_eq!(again.len(), 8, "handed out again at full size");
        assert_eq!(pool.idle(), 0);
    }

    #[test]
    fn unused_buffers_come_back_and_the_idle_list_is_bounded() {
        let pool = BufferPool::new(4, 1);
        drop(pool.take());
        assert_eq!(pool.idle(), 1);
        let (a, b) = (pool.take().freeze(4), pool.take().freeze(4));
        drop((a, b));
        assert_eq!(pool.idle(), 1, "only `keep` buffers stay idle");
        // Outliving the pool is fine.
        let c = pool.take().freeze(2);
        drop(pool);
        assert_eq!(&c[..], &[0, 0]);
    }
}
