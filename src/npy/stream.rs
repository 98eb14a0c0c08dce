//! Streaming `.npy` reading and writing over `std::io::Read` / `Write`.

use std::io::{Read, Seek, SeekFrom, Write};

use crate::dtype::Dtype;
use crate::error::{Error, ErrorKind, Result};
use crate::header::{Header, ParseOptions, ParsedHeader, Version};
use crate::view::Element;
use crate::view::elements::{Elements, Layout, element_fit};

/// Bytes moved per read or write call.
const BLOCK: usize = 1 << 16;

/// Appends `values` to `out` in the byte order `swap` says.
pub(crate) fn encode<T: Element>(values: &[T], swap: bool, out: &mut Vec<u8>) {
    if swap {
        for v in values {
            out.extend_from_slice(bytemuck::bytes_of(&v.swapped()));
        }
    } else {
        out.extend_from_slice(bytemuck::cast_slice(values));
    }
}

/// Reads a whole `.npy` from any reader, front to back (no seeking).
///
/// # Examples
/// ```
/// let file = std::fs::File::open("testdata/npy/f8_be.npy")?;
/// let reader = npymap::npy::NpyReader::new(std::io::BufReader::new(file))?;
/// assert_eq!(reader.header().shape, [6]);
/// assert_eq!(reader.read_vec::<f64>()?[0], -1.875);
/// # Ok::<(), npymap::Error>(())
/// ```
#[derive(Debug)]
pub struct NpyReader<R> {
    reader: R,
    parsed: ParsedHeader,
    payload_len: u64,
}

impl<R: Read> NpyReader<R> {
    /// Reads the header, leaving the reader at the payload.
    ///
    /// # Errors
    /// Any header error, `ObjectDtype`, `Io`.
    pub fn new(mut reader: R) -> Result<Self> {
        let parsed = Header::read_from(&mut reader, &ParseOptions::default())?;
        if parsed.header.dtype.has_object() {
            return Err(Error::new(ErrorKind::ObjectDtype).at(parsed.data_offset));
        }
        let payload_len = parsed.header.payload_len()?;
        Ok(NpyReader {
            reader,
            parsed,
            payload_len,
        })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.parsed.header
    }

    /// The header with its version and data offset.
    pub fn parsed(&self) -> &ParsedHeader {
        &self.parsed
    }

    /// Reads the payload bytes as stored. Memory grows with the bytes that
    /// actually arrive, so a lying header cannot force a huge allocation.
    ///
    /// # Errors
    /// `Truncated` when the stream ends early, `Io`.
    pub fn read_payload(mut self) -> Result<Vec<u8>> {
        let cap = usize::try_from(self.payload_len.min(BLOCK as u64 * 16)).unwrap_or(BLOCK);
        let mut out = Vec::with_capacity(cap);
        (&mut self.reader)
            .take(self.payload_len)
            .read_to_end(&mut out)?;
        if out.len() as u64 != self.payload_len {
            return Err(Error::new(ErrorKind::Truncated {
                what: "payload",
                needed: self.payload_len,
                available: out.len() as u64,
            })
            .at(self.parsed.data_offset));
        }
        Ok(out)
    }

    /// Reads the elements into a native `Vec` in storage order (any byte order).
    ///
    /// # Errors
    /// `DtypeMismatch` (checked before reading), `Truncated`, `InvalidBool`, `Io`.
    pub fn read_vec<T: Element>(self) -> Result<Vec<T>> {
        let dtype = self.parsed.header.dtype.clone();
        element_fit::<T>(&dtype).map_err(|e| e.at(self.parsed.data_offset))?;
        let bytes = self.read_payload()?;
        let count = bytes.len() / dtype.itemsize().max(1);
        let el = Elements::<T>::new(&bytes, Layout::contiguous(count, dtype.itemsize()), &dtype)?;
        Ok(el.to_vec())
    }

    /// Reads the elements into an `ndarray` with the header's shape and order.
    ///
    /// # Errors
    /// As [`read_vec`](Self::read_vec).
    #[cfg(feature = "ndarray")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ndarray")))]
    pub fn read_array<T: Element>(self) -> Result<ndarray::ArrayD<T>> {
        use ndarray::ShapeBuilder;
        let header = self.parsed.header.clone();
        let v = self.read_vec::<T>()?;
        let dims = header
            .shape
            .iter()
            .map(|&d| usize::try_from(d))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| ErrorKind::Overflow { what: "shape" })?;
        let shape = ndarray::IxDyn(&dims);
        let arr = if header.fortran_order {
            ndarray::ArrayD::from_shape_vec(shape.f(), v)
        } else {
            ndarray::ArrayD::from_shape_vec(shape, v)
        };
        arr.map_err(|e| ErrorKind::Unsupported(format!("ndarray: {e}")).into())
    }

    /// The underlying reader, positioned wherever reading stopped.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

/// Elements written so far and how to encode them.
#[derive(Debug)]
struct Sink<W> {
    w: W,
    dtype: Dtype,
    written: u64,
    limit: Option<u64>,
    buf: Vec<u8>,
}

impl<W: Write> Sink<W> {
    fn take(&mut self, n: u64) -> Result<()> {
        let total = self.written.checked_add(n).ok_or(ErrorKind::Overflow {
            what: "element count",
        })?;
        if let Some(limit) = self.limit.filter(|&l| total > l) {
            return Err(ErrorKind::ElementCount {
                expected: limit,
                actual: total,
            }
            .into());
        }
        self.written = total;
        Ok(())
    }

    fn write_slice<T: Element>(&mut self, values: &[T]) -> Result<()> {
        let swap = element_fit::<T>(&self.dtype)?;
        self.take(values.len() as u64)?;
        if !swap {
            self.w.write_all(bytemuck::cast_slice(values))?;
            return Ok(());
        }
        for block in values.chunks(BLOCK / std::mem::size_of::<T>().max(1)) {
            self.buf.clear();
            encode(block, swap, &mut self.buf);
            self.w.write_all(&self.buf)?;
        }
        Ok(())
    }

    fn write_iter<T: Element>(&mut self, values: impl IntoIterator<Item = T>) -> Result<()> {
        element_fit::<T>(&self.dtype)?;
        let mut block = Vec::with_capacity(BLOCK / std::mem::size_of::<T>().max(1));
        for v in values {
            block.push(v);
            if block.len() == block.capacity() {
                self.write_slice(&block)?;
                block.clear();
            }
        }
        self.write_slice(&block)
    }

    fn write_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        let itemsize = self.dtype.itemsize().max(1);
        if !bytes.len().is_multiple_of(itemsize) {
            return Err(ErrorKind::RawSize {
                available: bytes.len() as u64,
                itemsize,
            }
            .into());
        }
        self.take((bytes.len() / itemsize) as u64)?;
        self.w.write_all(bytes)?;
        Ok(())
    }
}

/// Writes a `.npy` to any writer: header first, then elements in chunks.
/// The output is byte-identical to `np.save` of the same array.
///
/// # Examples
/// ```
/// use npymap::{Dtype, Header, npy::NpyWriter};
/// let header = Header { dtype: Dtype::from_descr("<f8")?, fortran_order: false, shape: vec![2, 3] };
/// let mut w = NpyWriter::new(Vec::new(), &header)?;
/// w.write_slice(&[0.0f64, 1.0, 2.0])?;
/// w.write_iter((3..6).map(f64::from))?;
/// let bytes = w.finish()?;
/// assert_eq!(bytes, std::fs::read("testdata/npy/c_2x3.npy")?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct NpyWriter<W: Write> {
    sink: Sink<W>,
}

impl<W: Write> NpyWriter<W> {
    /// Writes NumPy's header for `header` and gets ready for its elements.
    ///
    /// # Errors
    /// `ObjectDtype`, `Overflow`, `VersionTooSmall`, `Io`.
    pub fn new(w: W, header: &Header) -> Result<Self> {
        NpyWriter::with_version(w, header, None)
    }

    /// As [`new`](Self::new), in a given format version (`None`: the
    /// oldest that holds the header, as NumPy chooses).
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_version(mut w: W, header: &Header, version: Option<Version>) -> Result<Self> {
        if header.dtype.has_object() {
            return Err(ErrorKind::ObjectDtype.into());
        }
        let limit = header.element_count()?;
        header.payload_len()?;
        w.write_all(&header.to_bytes(version)?)?;
        // Zero-byte elements (`np.dtype([])`) have no payload to deliver.
        let written = if header.dtype.itemsize() == 0 {
            limit
        } else {
            0
        };
        Ok(NpyWriter {
            sink: Sink {
                w,
                dtype: header.dtype.clone(),
                written,
                limit: Some(limit),
                buf: Vec::new(),
            },
        })
    }

    /// The writer the file goes to.
    pub(crate) fn get_ref(&self) -> &W {
        &self.sink.w
    }

    /// Writes elements, converting to the file's byte order.
    ///
    /// # Errors
    /// `DtypeMismatch`, `ElementCount` past the header's count, `Io`.
    pub fn write_slice<T: Element>(&mut self, values: &[T]) -> Result<()> {
        self.sink.write_slice(values)
    }

    /// Writes elements from an iterator, buffered in blocks.
    ///
    /// # Errors
    /// As [`write_slice`](Self::write_slice).
    pub fn write_iter<T: Element>(&mut self, values: impl IntoIterator<Item = T>) -> Result<()> {
        self.sink.write_iter(values)
    }

    /// Writes payload bytes already in the file's dtype and byte order.
    ///
    /// # Errors
    /// `RawSize` for a partial element, `ElementCount`, `Io`.
    pub fn write_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        self.sink.write_bytes(bytes)
    }

    /// Checks that every element arrived, flushes, and returns the writer.
    ///
    /// # Errors
    /// `ElementCount` when fewer elements than the header declares were written, `Io`.
    pub fn finish(mut self) -> Result<W> {
        let expected = self.sink.limit.unwrap_or(self.sink.written);
        if self.sink.written != expected {
            return Err(ErrorKind::ElementCount {
                expected,
                actual: self.sink.written,
            }
            .into());
        }
        self.sink.w.flush()?;
        Ok(self.sink.w)
    }
}

/// A streaming writer for arrays whose length along the growth axis is not
/// known up front (axis 0 in C order, the last axis in Fortran order). The
/// header is written with that axis 0 and rewritten in place by
/// [`finish`](Self::finish): NumPy's header padding leaves room for any
/// length, so the result is byte-identical to `np.save`.
///
/// # Examples
/// ```
/// use npymap::{Dtype, npy::GrowingNpyWriter};
/// let mut w = GrowingNpyWriter::new(std::io::Cursor::new(Vec::new()), Dtype::from_descr("<f8")?, false, &[0, 3])?;
/// w.write_iter((0..6).map(f64::from))?;
/// let (out, header) = w.finish()?;
/// assert_eq!(header.shape, [2, 3]);
/// assert_eq!(out.into_inner(), std::fs::read("testdata/npy/c_2x3.npy")?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct GrowingNpyWriter<W: Write + Seek> {
    sink: Sink<W>,
    header: Header,
    start: u64,
    header_len: usize,
}

impl<W: Write + Seek> GrowingNpyWriter<W> {
    /// Writes a provisional header. `shape` gives the other axes; its
    /// growth-axis entry is ignored.
    ///
    /// # Errors
    /// `Unsupported` for a 0-d shape, `ObjectDtype`, `VersionTooSmall`, `Io`.
    pub fn new(mut w: W, dtype: Dtype, fortran_order: bool, shape: &[u64]) -> Result<Self> {
        if dtype.has_object() {
            return Err(ErrorKind::ObjectDtype.into());
        }
        let mut header = Header {
            dtype,
            fortran_order,
            shape: shape.to_vec(),
        };
        let axis = growth_axis(&header)?;
        if let Some(d) = header.shape.get_mut(axis) {
            *d = 0;
        }
        let start = w.stream_position()?;
        let bytes = header.to_bytes(None)?;
        w.write_all(&bytes)?;
        Ok(GrowingNpyWriter {
            sink: Sink {
                w,
                dtype: header.dtype.clone(),
                written: 0,
                limit: None,
                buf: Vec::new(),
            },
            header,
            start,
            header_len: bytes.len(),
        })
    }

    /// Writes elements, converting to the file's byte order.
    ///
    /// # Errors
    /// `DtypeMismatch`, `Io`.
    pub fn write_slice<T: Element>(&mut self, values: &[T]) -> Result<()> {
        self.sink.write_slice(values)
    }

    /// Writes elements from an iterator, buffered in blocks.
    ///
    /// # Errors
    /// As [`write_slice`](Self::write_slice).
    pub fn write_iter<T: Element>(&mut self, values: impl IntoIterator<Item = T>) -> Result<()> {
        self.sink.write_iter(values)
    }

    /// Writes payload bytes already in the file's dtype and byte order.
    ///
    /// # Errors
    /// `RawSize` for a partial element, `Io`.
    pub fn write_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        self.sink.write_bytes(bytes)
    }

    /// Fixes the growth axis from the element count, rewrites the header in
    /// place, and returns the writer (positioned at the end) and the header.
    ///
    /// # Errors
    /// `NotWholeRows` when the elements do not fill whole rows, `Io`.
    pub fn finish(mut self) -> Result<(W, Header)> {
        let axis = growth_axis(&self.header)?;
        let row_len = row_len(&self.header, axis)?;
        let written = self.sink.written;
        let whole = match row_len {
            0 => (written == 0).then_some(0),
            n => written.is_multiple_of(n).then_some(written / n),
        };
        let rows = whole.ok_or(ErrorKind::NotWholeRows {
            elements: written,
            row_len,
        })?;
        if let Some(d) = self.header.shape.get_mut(axis) {
            *d = rows;
        }
        let bytes = self.header.to_bytes(None)?;
        if bytes.len() != self.header_len {
            return Err(ErrorKind::Unsupported(format!(
                "final header is {} bytes, the provisional one {}",
                bytes.len(),
                self.header_len
            ))
            .into());
        }
        let w = &mut self.sink.w;
        let end = w.stream_position()?;
        w.seek(SeekFrom::Start(self.start))?;
        w.write_all(&bytes)?;
        w.seek(SeekFrom::Start(end))?;
        w.flush()?;
        Ok((self.sink.w, self.header))
    }
}

/// The axis arrays grow along: 0 in C order, the last in Fortran order.
pub(crate) fn growth_axis(header: &Header) -> Result<usize> {
    match header.shape.len() {
        0 => Err(ErrorKind::Unsupported("a 0-d array has no axis to grow along".into()).into()),
        n if header.fortran_order => Ok(n - 1),
        _ => Ok(0),
    }
}

/// Elements in one row: the product of the axes other than `axis`.
pub(crate) fn row_len(header: &Header, axis: usize) -> Result<u64> {
    header
        .shape
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != axis)
        .try_fold(1u64, |acc, (_, &d)| acc.checked_mul(d))
        .ok_or_else(|| ErrorKind::Overflow { what: "row length" }.into())
}
