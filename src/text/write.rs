//! Writing an array as `np.savetxt` does, streaming row by row.

use std::io::Write;
use std::path::Path;

use super::format::{Arg, PyFormat};
use crate::atomic::{Durability, write_atomic_with};
use crate::convert::Payload;
use crate::convert::value::{Num, decode_num};
use crate::dtype::{Dtype, Scalar, ScalarKind};
use crate::error::{Error, ErrorKind, Result};
use crate::header::Header;

/// `np.savetxt`'s `fmt` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fmt {
    /// One string: a single `%` conversion used for every column (joined
    /// with the delimiter), or a whole-row format with one conversion per
    /// column (two per complex column).
    One(String),
    /// A list: one format per column, joined with the delimiter.
    PerColumn(Vec<String>),
}

/// The arguments of `np.savetxt` other than the file and the array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveTxtOptions {
    /// `fmt`, default `%.18e`.
    pub fmt: Fmt,
    /// `delimiter`, default one space.
    pub delimiter: String,
    /// `newline`, default `\n`.
    pub newline: String,
    /// `header`, written first (each line prefixed with `comments`) when
    /// not empty.
    pub header: String,
    /// `footer`, written last like the header.
    pub footer: String,
    /// `comments`, default `# `.
    pub comments: String,
}

impl Default for SaveTxtOptions {
    fn default() -> Self {
        SaveTxtOptions {
            fmt: Fmt::One("%.18e".into()),
            delimiter: " ".into(),
            newline: "\n".into(),
            header: String::new(),
            footer: String::new(),
            comments: "# ".into(),
        }
    }
}

/// The most rows of no values (`(n, 0)` arrays, records without fields)
/// written: such a file is a few bytes whatever `n` says, and would
/// otherwise ask for endless output.
pub const MAX_EMPTY_ROWS: u64 = 1 << 20;

fn text_error(msg: String) -> Error {
    ErrorKind::Text(msg).into()
}

/// NumPy's name of a scalar type, for messages.
fn type_name(s: &Scalar) -> String {
    let kind = match s.kind() {
        ScalarKind::Bool => return "bool".into(),
        ScalarKind::Int => "int",
        ScalarKind::UInt => "uint",
        ScalarKind::Float => "float",
        ScalarKind::Complex => "complex",
        _ => return s.descr(),
    };
    format!("{kind}{}", s.itemsize() * 8)
}

/// Where each value of a row comes from.
#[derive(Debug)]
struct Layout {
    rows: u64,
    /// Columns per row.
    ncol: usize,
    /// Per column: its scalar type and its byte offset inside a record
    /// (0 for plain arrays).
    columns: Vec<(Scalar, usize)>,
    itemsize: usize,
    /// Plain 2-D Fortran-order array: element (r, c) is at `c * rows + r`.
    fortran: bool,
    /// Plain array (not structured): one element per column.
    plain: bool,
    complex: bool,
}

fn supported(s: &Scalar, what: &str) -> Result<()> {
    let ok = match s.kind() {
        ScalarKind::Bool | ScalarKind::Int | ScalarKind::UInt => true,
        ScalarKind::Float => s.itemsize() <= 8,
        ScalarKind::Complex => s.itemsize() <= 16,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(text_error(format!(
            "to-text writes bool, integer, float (up to float64) and complex \
             (up to complex128) values; {what} is {}",
            s.descr()
        )))
    }
}

impl Layout {
    fn new(header: &Header) -> Result<Layout> {
        let layout = Layout::of(header)?;
        if (layout.ncol == 0 || layout.itemsize == 0) && layout.rows > MAX_EMPTY_ROWS {
            return Err(text_error(format!(
                "{} rows without values would print only newlines; at most {MAX_EMPTY_ROWS} are written",
                layout.rows
            )));
        }
        Ok(layout)
    }

    fn of(header: &Header) -> Result<Layout> {
        let ndim = header.shape.len();
        if ndim == 0 || ndim > 2 {
            return Err(text_error(format!(
                "Expected 1D or 2D array, got {ndim}D array instead"
            )));
        }
        let dims = |i: usize| header.shape.get(i).copied().unwrap_or(0);
        let rows = dims(0);
        let itemsize = header.dtype.itemsize();
        match &header.dtype {
            Dtype::Scalar(s) => {
                supported(s, "the array's dtype")?;
                let ncol = if ndim == 1 {
                    1
                } else {
                    usize::try_from(dims(1)).map_err(|_| ErrorKind::Overflow { what: "columns" })?
                };
                Ok(Layout {
                    rows,
                    ncol,
                    columns: Vec::new(),
                    itemsize,
                    fortran: ndim == 2 && header.fortran_order,
                    plain: true,
                    complex: s.kind() == ScalarKind::Complex,
                })
            }
            Dtype::Struct(st) if ndim == 1 => {
                let mut columns = Vec::new();
                for f in st.fields() {
                    let Dtype::Scalar(s) = f.dtype() else {
                        return Err(text_error(format!(
                            "to-text writes structured arrays of scalar fields; field {:?} is {}",
                            f.name(),
                            f.dtype().descr()
                        )));
                    };
                    supported(s, &format!("field {:?}", f.name()))?;
                    if s.kind() == ScalarKind::Complex {
                        // np.savetxt raises TypeError: `%` cannot format a complex scalar.
                        return Err(text_error(format!(
                            "np.savetxt cannot write complex field {:?} of a structured array",
                            f.name()
                        )));
                    }
                    columns.push((*s, f.offset()));
                }
                Ok(Layout {
                    rows,
                    ncol: columns.len(),
                    columns,
                    itemsize,
                    fortran: false,
                    plain: false,
                    complex: false,
                })
            }
            other => Err(text_error(format!(
                "to-text writes 1-D or 2-D arrays of numbers or 1-D structured arrays \
                 of scalar fields; got dtype {} with shape {:?}",
                other.descr(),
                header.shape
            ))),
        }
    }

    /// The byte offset of value `c` of row `r` and its scalar type.
    fn locate(&self, dtype: &Dtype, r: u64, c: usize) -> Option<(usize, Scalar)> {
        if self.plain {
            let s = *dtype.as_scalar()?;
            let index = if self.fortran {
                (c as u64).checked_mul(self.rows)?.checked_add(r)?
            } else {
                r.checked_mul(self.ncol as u64)?.checked_add(c as u64)?
            };
            let off = usize::try_from(index).ok()?.checked_mul(self.itemsize)?;
            Some((off, s))
        } else {
            let &(s, field) = self.columns.get(c)?;
            let off = usize::try_from(r)
                .ok()?
                .checked_mul(self.itemsize)?
                .checked_add(field)?;
            Some((off, s))
        }
    }
}

fn push_args(args: &mut Vec<Arg>, s: &Scalar, num: Num) {
    match num {
        Num::Bool(b) => args.push(Arg::Bool(b)),
        Num::Int(v) => args.push(Arg::Int(v)),
        Num::UInt(v) => args.push(Arg::UInt(v)),
        Num::Float(x) => args.push(Arg::Float(x, s.itemsize())),
        Num::Complex(re, im) => {
            let half = s.itemsize() / 2;
            args.push(Arg::Float(re, half));
            args.push(Arg::Float(im, half));
        }
    }
}

/// The row format as `np.savetxt` builds it from `fmt`, and its text.
fn row_format(opts: &SaveTxtOptions, ncol: usize, complex: bool) -> Result<(PyFormat, String)> {
    let text = match &opts.fmt {
        Fmt::PerColumn(list) => {
            if list.len() != ncol {
                return Err(text_error(format!(
                    "fmt has wrong shape: {} formats for {ncol} columns",
                    list.len()
                )));
            }
            list.join(&opts.delimiter)
        }
        Fmt::One(f) => {
            let percents = f.matches('%').count();
            if percents == 1 {
                let one = if complex {
                    format!(" ({f}+{f}j)")
                } else {
                    f.clone()
                };
                vec![one; ncol].join(&opts.delimiter)
            } else if (complex && percents != 2 * ncol) || (!complex && percents != ncol) {
                return Err(text_error(format!(
                    "fmt has wrong number of % formats: {f} ({} expected)",
                    if complex { 2 * ncol } else { ncol }
                )));
            } else {
                f.clone()
            }
        }
    };
    Ok((PyFormat::parse(&text)?, text))
}

/// Writes `input` to `w` as `np.savetxt(w, a, ...)` would, reading the
/// payload in order and releasing what was read (a Fortran-order 2-D
/// array is read column-strided). Returns the number of rows written.
///
/// # Errors
/// `Text` for arrays `np.savetxt` refuses (0-d, more than 2-D, 2-D
/// structured) or that this writer does not support (strings, dates,
/// objects, long doubles, nested or subarray fields), for a `fmt` that
/// does not fit the columns, and for values a conversion cannot take
/// (`%d` of NaN, `%x` of a float), naming the row and column; `Io`.
pub fn write_text(input: &impl Payload, w: &mut impl Write, opts: &SaveTxtOptions) -> Result<u64> {
    let header = input.header();
    let layout = Layout::new(header)?;
    let (format, format_text) = row_format(opts, layout.ncol, layout.complex)?;
    let payload = input.payload();
    let expected = header.payload_len()?;
    if (payload.len() as u64) < expected {
        return Err(ErrorKind::PayloadSize {
            expected,
            actual: payload.len() as u64,
        }
        .into());
    }
    let comment_block = |text: &str| {
        let body = text.replace('\n', &format!("\n{}", opts.comments));
        format!("{}{body}{}", opts.comments, opts.newline)
    };
    if !opts.header.is_empty() {
        w.write_all(comment_block(&opts.header).as_bytes())?;
    }
    let mut args: Vec<Arg> = Vec::new();
    let mut line = String::new();
    let mut out: Vec<u8> = Vec::with_capacity(1 << 16);
    let mut released = 0usize;
    for r in 0..layout.rows {
        args.clear();
        for c in 0..layout.ncol {
            let (off, s) = layout
                .locate(&header.dtype, r, c)
                .ok_or(ErrorKind::Overflow { what: "offset" })?;
            let bytes = off
                .checked_add(s.itemsize())
                .and_then(|end| payload.get(off..end))
                .ok_or(ErrorKind::Overflow { what: "offset" })?;
            push_args(&mut args, &s, decode_num(&s, bytes));
        }
        line.clear();
        format.format(&args, &mut line).map_err(|e| {
            text_error(format!(
                "row {r}: {e} (dtype {}, row format {format_text:?})",
                header
                    .dtype
                    .as_scalar()
                    .map_or_else(|| header.dtype.descr(), type_name),
            ))
        })?;
        if layout.complex {
            // np.savetxt's own rule for complex rows.
            line = line.replace("+-", "-");
        }
        line.push_str(&opts.newline);
        out.extend_from_slice(line.as_bytes());
        if out.len() >= 1 << 16 {
            w.write_all(&out)?;
            out.clear();
            if !layout.fortran {
                let row_bytes = if layout.plain {
                    layout.itemsize.checked_mul(layout.ncol)
                } else {
                    Some(layout.itemsize)
                };
                let done = usize::try_from(r + 1)
                    .ok()
                    .and_then(|n| n.checked_mul(row_bytes?));
                if let Some(done) = done.map(|d| d.min(payload.len()))
                    && done > released
                {
                    input.release(released..done);
                    released = done;
                }
            }
        }
    }
    w.write_all(&out)?;
    if !opts.footer.is_empty() {
        w.write_all(comment_block(&opts.footer).as_bytes())?;
    }
    Ok(layout.rows)
}

/// Writes `input` as text to `out` atomically (temp file + rename), as
/// [`write_text`] does. Returns the number of rows written.
///
/// # Errors
/// As [`write_text`]; on error `out` is left as it was.
pub fn to_text_file(
    input: &impl Payload,
    out: &Path,
    opts: &SaveTxtOptions,
    durability: Durability,
) -> Result<u64> {
    // Refuse before creating anything.
    let layout = Layout::new(input.header())?;
    row_format(opts, layout.ncol, layout.complex)?;
    let mut rows = 0;
    write_atomic_with(out, durability, |file| {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, file);
        rows = write_text(input, &mut w, opts).map_err(|e| match (input.path(), e.kind()) {
            (Some(p), ErrorKind::Text(_)) => e.in_path(p),
            _ => e,
        })?;
        w.flush()?;
        Ok(())
    })?;
    Ok(rows)
}
