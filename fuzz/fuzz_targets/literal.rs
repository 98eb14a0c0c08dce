//! `literal`: see `npymap::fuzzing::check_literal` for the properties checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| npymap::fuzzing::check_literal(data));
