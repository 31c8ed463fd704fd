#![no_main]
//! `cargo fuzz run stored_profile`: see `tests/fuzz_targets/mod.rs` for what it checks.

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzz_targets/mod.rs"]
#[allow(dead_code)]
mod targets;

fuzz_target!(|data: &[u8]| targets::stored_profile(data));
