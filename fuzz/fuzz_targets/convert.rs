//! `convert`: see `npymap::fuzzing::check_convert` for the properties checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| npymap::fuzzing::check_convert(data));
