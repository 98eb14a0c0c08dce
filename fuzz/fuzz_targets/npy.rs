//! `npy`: see `npymap::fuzzing::check_npy` for the properties checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| npymap::fuzzing::check_npy(data));
