//! The `safetensors` target: any bytes as a `.safetensors` file.

use crate::safetensors::{SafetensorsPlan, read_header};

/// Parses `data` as a whole `.safetensors` file. It must never panic; when
/// it is accepted: every tensor's bytes lie inside `data`, back to back from
/// the end of the header to the end of the file, and each convertible
/// tensor's `.npy` payload length is its byte count. Then the tensors are
/// written again ([`SafetensorsPlan`]) with their bytes copied in the
/// planned order: the new file must parse to the same tensors, metadata
/// and bytes.
pub fn check_safetensors(data: &[u8]) {
    let Ok(contents) = read_header(data, data.len() as u64) else {
        return;
    };
    let mut at = contents.data_start;
    let mut convertible = true;
    let mut list = Vec::new();
    for t in &contents.tensors {
        let r = t.range();
        assert_eq!(
            r.start,
            at,
            "tensor {:?} does not follow the previous one",
            t.name()
        );
        assert!(r.end >= r.start && r.end <= data.len() as u64);
        at = r.end;
        match t.header() {
            Ok(h) => {
                assert_eq!(h.payload_len().unwrap(), r.end - r.start, "{:?}", t.name());
                list.push((t.name().to_string(), h));
            }
            Err(_) => convertible = false,
        }
    }
    assert_eq!(
        at,
        data.len() as u64,
        "data does not end at the end of the file"
    );
    if !convertible {
        return;
    }
    let plan = SafetensorsPlan::new(&list, contents.metadata.as_ref())
        .expect("a file that was read can be written again");
    let mut out = plan.header_bytes().to_vec();
    for name in plan.names() {
        let t = contents.tensors.iter().find(|t| t.name() == name).unwrap();
        let r = t.range();
        out.extend_from_slice(&data[r.start as usize..r.end as usize]);
    }
    assert_eq!(out.len() as u64, plan.file_len());
    let again = read_header(&out, out.len() as u64).expect("what was written reads back");
    assert_eq!(again.metadata, contents.metadata);
    assert_eq!(again.tensors.len(), contents.tensors.len());
    for t in &again.tensors {
        let old = contents
            .tensors
            .iter()
            .find(|o| o.name() == t.name())
            .unwrap();
        assert_eq!((t.dtype(), t.shape()), (old.dtype(), old.shape()));
        let (a, b) = (t.range(), old.range());
        assert_eq!(
            &out[a.start as usize..a.end as usize],
            &data[b.start as usize..b.end as usize]
        );
    }
}
