//! `safetensors`: see `npymap::fuzzing::check_safetensors` for the properties checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| npymap::fuzzing::check_safetensors(data));
