//! `descr`: see `npymap::fuzzing::check_descr` for the properties checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| npymap::fuzzing::check_descr(data));
