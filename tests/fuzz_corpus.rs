//! The `cargo fuzz` targets of `fuzz/` run as plain tests on stable Rust,
//! over a small generated corpus (seeded pseudo-random bytes) plus
//! hand-written seeds (the issue's payloads). `cargo fuzz` explores far more;
//! this keeps the targets compiling and their invariants exercised in CI.

#[cfg(feature = "serde")]
mod fuzz_targets;

#[cfg(feature = "serde")]
mod corpus {
    use super::fuzz_targets as t;

    /// `count` byte strings of lengths 0..max from a fixed xorshift stream.
    fn generated(seed: u64, count: usize, max: usize) -> Vec<Vec<u8>> {
        let mut s = seed | 1;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        (0..count)
            .map(|_| {
                let len = (next() % max as u64) as usize;
                (0..len).map(|_| next() as u8).collect()
            })
            .collect()
    }

    fn cases() -> usize {
        if cfg!(debug_assertions) {
            150
        } else {
            2000
        }
    }

    #[test]
    fn linkage_target() {
        for input in generated(1, cases(), 400) {
            t::linkage(&input);
        }
    }

    #[test]
    fn profile_update_target() {
        for input in generated(2, cases(), 300) {
            t::profile_update(&input);
        }
    }

    #[test]
    fn stored_profile_target() {
        let seeds: [&[u8]; 4] = [
            b"",
            b"{}",
            br#"{"config":{},"clusters":[],"as_of":0}"#,
            &[0xff; 64],
        ];
        for s in seeds {
            t::stored_profile(s);
        }
        for input in generated(3, cases(), 200) {
            t::stored_profile(&input);
        }
    }

    #[test]
    fn dendrogram_target() {
        let seeds: [&[u8]; 6] = [
            br#"{"observations":2,"merges":[]}"#,
            br#"{"observations":18446744073709551615,"merges":[]}"#,
            br#"{"observations":2,"merges":[{"a":0,"b":9,"distance":1.0,"size":2}]}"#,
            br#"{"observations":2,"merges":[{"a":0,"b":1,"distance":-1.0,"size":2}]}"#,
            br#"{"observations":3,"merges":[{"a":0,"b":1,"distance":2.0,"size":2},{"a":2,"b":3,"distance":1.0,"size":3}]}"#,
            br#"{"observations":1,"merges":[]}"#,
        ];
        for s in seeds {
            t::dendrogram(s);
        }
        for input in generated(4, cases(), 200) {
            t::dendrogram(&input);
        }
    }
}
