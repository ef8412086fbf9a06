//! Part planning (docs/compat.md §10): the same parts as the reference.

use crate::{Error, ErrorCode, Result};

/// How a file is cut: part k is bytes `[k·part_size, min((k+1)·part_size, size))`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartPlan {
    pub size: u64,
    pub part_size: u64,
    pub count: usize,
}

impl PartPlan {
    /// Plans `size` bytes over `uris` upload URIs with the initiate's part limits.
    pub fn new(size: u64, uris: usize, min_part_size: u64, max_part_size: u64) -> Result<PartPlan> {
        let n = uris.max(1) as u64;
        let lo = min_part_size.max(size.div_ceil(n)).max(1);
        if lo > max_part_size {
            return Err(Error::new(
                ErrorCode::Unknown,
                format!("File is too large to upload: {size} bytes, maxPartSize: {max_part_size} bytes, numUploadURIs: {uris}"),
            ));
        }
        let count = size.div_ceil(lo).max(1) as usize;
        Ok(PartPlan { size, part_size: lo, count })
    }

    /// Byte range `[start, end)` of part `k`.
    pub fn range(&self, k: usize) -> (u64, u64) {
        let start = k as u64 * self.part_size;
        (start, start.saturating_add(self.part_size).min(self.size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_follow_the_reference() {
        let p = PartPlan::new(5000, 5, 1024, 8192).unwrap();
        assert_eq!((p.part_size, p.count), (1024, 5));
        assert_eq!(p.range(4), (4096, 5000));
        // Fewer URIs than min-size parts: parts grow.
        let p = PartPlan::new(10_000, 2, 1024, 8192).unwrap();
        assert_eq!((p.part_size, p.count), (5000, 2));
        // Surplus URIs stay unused.
        let p = PartPlan::new(100, 10, 1024, 8192).unwrap();
        assert_eq!((p.part_size, p.count), (1024, 1));
        assert_eq!(p.range(0), (0, 100));
    }

    #[test]
    fn too_large_gives_the_reference_message() {
        let err = PartPlan::new(100_000, 2, 10, 1000).unwrap_err();
        assert_eq!(
            err.message(),
            "File is too large to upload: 100000 bytes, maxPartSize: 1000 bytes, numUploadURIs: 2"
        );
        assert_eq!(err.code(), ErrorCode::Unknown);
    }

    #[test]
    fn every_part_respects_the_limits() {
        for (size, uris, min, max) in [(1u64, 1usize, 1u64, 1u64), (999_999, 7, 1000, 200_000), (10, 50_000, 1, 10)] {
            let p = PartPlan::new(size, uris, min, max).unwrap();
            assert!(p.count <= uris);
            let mut covered = 0;
            for k in 0..p.count {
                let (s, e) = p.range(k);
                assert_eq!(s, covered);
                assert!(e - s <= max);
                if k + 1 < p.count {
                    assert!(e - s >= min);
                }
                covered = e;
            }
            assert_eq!(covered, size);
        }
    }
}
