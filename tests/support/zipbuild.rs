//! A minimal raw-zip writer (the findings' `zh.py` in Rust), so tests can
//! build archives whose local headers, central directory and end record
//! disagree. Include with `#[path = "support/zipbuild.rs"] mod zipbuild;`.
#![allow(dead_code)]

use std::io::Write;

/// NumPy's `.npy` bytes of an int64 (`<i8`) vector.
pub fn npy_i8(values: &[i64]) -> Vec<u8> {
    npy_raw("<i8", values.len(), &le(values))
}

/// A version 1.0 `.npy` with a 1-D shape and the given payload.
pub fn npy_raw(descr: &str, n: usize, payload: &[u8]) -> Vec<u8> {
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({n},), }}");
    let total = (10 + dict.len() + 1).div_ceil(64) * 64;
    let mut h = dict.into_bytes();
    h.resize(total - 10 - 1, b' ');
    h.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(payload);
    out
}

fn le(values: &[i64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub fn crc(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

/// Raw deflate of `data`.
pub fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// One entry as both headers will describe it.
#[derive(Clone)]
pub struct Entry {
    pub name: Vec<u8>,
    pub flags: u16,
    pub method: u16,
    pub crc: u32,
    pub csize: u32,
    pub usize: u32,
}

impl Entry {
    /// A stored entry for `data`.
    pub fn stored(name: &str, data: &[u8]) -> Entry {
        Entry {
            name: name.as_bytes().to_vec(),
            flags: 0,
            method: 0,
            crc: crc(data),
            csize: data.len() as u32,
            usize: data.len() as u32,
        }
    }

    /// A deflated entry: `comp` is the deflate of `data`.
    pub fn deflated(name: &str, data: &[u8], comp: &[u8]) -> Entry {
        Entry {
            name: name.as_bytes().to_vec(),
            flags: 0,
            method: 8,
            crc: crc(data),
            csize: comp.len() as u32,
            usize: data.len() as u32,
        }
    }

    pub fn local(&self) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&0x04034b50u32.to_le_bytes());
        for x in [20u16, self.flags, self.method, 0, 0x21] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        for x in [self.crc, self.csize, self.usize] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        for x in [self.name.len() as u16, 0] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.extend_from_slice(&self.name);
        v
    }

    pub fn central(&self, offset: u32) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&0x02014b50u32.to_le_bytes());
        for x in [20u16, 20, self.flags, self.method, 0, 0x21] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        for x in [self.crc, self.csize, self.usize] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        for x in [self.name.len() as u16, 0, 0, 0, 0] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        for x in [0o644u32 << 16, offset] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.extend_from_slice(&self.name);
        v
    }
}

/// The end-of-central-directory record for `n` entries.
pub fn eocd(n: u16, cd_len: u32, cd_off: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&0x06054b50u32.to_le_bytes());
    for x in [0u16, 0, n, n] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    for x in [cd_len, cd_off] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.extend_from_slice(&0u16.to_le_bytes());
    v
}

/// A well-formed archive of `(entry, data as stored)` pairs.
pub fn archive(members: &[(Entry, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut cd = Vec::new();
    for (e, data) in members {
        let off = out.len() as u32;
        out.extend_from_slice(&e.local());
        out.extend_from_slice(data);
        cd.extend_from_slice(&e.central(off));
    }
    let cd_off = out.len() as u32;
    out.extend_from_slice(&cd);
    out.extend_from_slice(&eocd(members.len() as u16, cd.len() as u32, cd_off));
    out
}
