//! Identifiers of assets, uploads, ETags and affinity cookies: unique and
//! unguessable enough for an emulator, from a seeded per-thread generator.
//! `Uuid::new_v4` asks the OS (a `getrandom` system call) each time, three
//! times per uploaded file, and showed in profiles; the HMAC secret that
//! signs part URLs still comes from the OS.

/// A version-4 UUID.
pub fn random_uuid() -> uuid::Uuid {
    uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes()).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_v4_and_distinct() {
        let a = random_uuid();
        let b = random_uuid();
        assert_eq!(a.get_version_num(), 4);
        assert_ne!(a, b);
    }
}
