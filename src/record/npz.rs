//! Records as npz members: [`NpzReader::read_records`] and
//! [`NpzWriter::add_records`], the archive counterparts of
//! [`super::read()`] and [`super::write()`].

use std::io::{Read, Seek};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::array::Array;
use crate::error::Result;
use crate::header::Header;
use crate::npz::{Compression, NpzReader, NpzWriter, Sink};
use crate::view::NpyView;

impl<R: Read + Seek> NpzReader<R> {
    /// Reads the structured member `name` into one `T` per record (see
    /// [`crate::record::from_view`]) — the npz counterpart of
    /// `np.load(path)[name]` for a structured array. The member's bytes
    /// pass the checks of [`NpzReader::read`] first.
    ///
    /// # Errors
    /// Every error of [`NpzReader::read`] and of
    /// [`record::from_view`](crate::record::from_view), naming the member.
    ///
    /// # Examples
    /// ```
    /// use npymap::npz::{Compression, NpzReader, NpzWriter};
    /// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    /// struct Row { id: u32, label: String }
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("rows.npz");
    /// let rows = [Row { id: 1, label: "one".into() }, Row { id: 2, label: "two".into() }];
    /// let mut w = NpzWriter::create(&path)?;
    /// w.add_records("rows", &[2], &rows, Compression::Deflated)?;
    /// w.finish()?;
    /// let back = NpzReader::open(&path)?.read_records::<Row>("rows")?;
    /// assert_eq!(back.into_vec(), rows);
    /// # Ok::<(), npymap::Error>(())
    /// ```
    pub fn read_records<T: DeserializeOwned>(&mut self, name: &str) -> Result<Array<T>> {
        let bytes = self.read(name)?;
        let member = self.member(name)?.file_name().to_string();
        let view = NpyView::new(&bytes).map_err(|e| e.in_member(&member))?;
        super::from_view(&view).map_err(|e| e.in_member(&member))
    }
}

impl<W: Sink> NpzWriter<W> {
    /// Adds `records` (C order) with `shape` as the member `name.npy`, with
    /// the dtype [`record::dtype_for`](crate::record::dtype_for) derives:
    /// the member `np.savez(path, name=np.array(records, dtype))` writes.
    ///
    /// The records are encoded whole before the member is started, so a
    /// record that cannot be written leaves the archive without the member.
    ///
    /// # Errors
    /// `ShapeMismatch`, the errors of
    /// [`record::dtype_for`](crate::record::dtype_for) and
    /// [`record::to_payload`](crate::record::to_payload), and every error
    /// of [`NpzWriter::add`].
    pub fn add_records<T: Serialize>(
        &mut self,
        name: &str,
        shape: &[usize],
        records: &[T],
        compression: Compression,
    ) -> Result<()> {
        super::check_count(shape, records.len())?;
        let dtype = super::dtype_for(records)?;
        let payload = super::to_payload(&dtype, records)?;
        self.add(name, &Header::new(dtype, shape), &payload, compression)
    }
}
