#!/usr/bin/env python3
"""Generate the npymap test fixtures and testdata/manifest.json.

What it makes (all paths relative to the directory holding this script):

  npy/*.npy      Valid .npy files: every simple dtype in both byte orders,
                 C/Fortran layouts, 0-d and zero-size arrays, special floats,
                 integer extremes, many structured dtypes, format versions
                 1.0/2.0/3.0, plus hand-made headers that NumPy's np.load
                 still accepts (each one is verified with np.load here).
  raw/*.bin      Headerless arrays written with ndarray.tofile (C, Fortran,
                 big endian, and one with a 16-byte prefix for --offset).
  npz/*.npz      np.savez / np.savez_compressed archives.
  hostile/*      Malformed .npy/.npz files, each with the error code a strict
                 reader is expected to report ("expect") and a one-line reason.
  manifest.json  One entry per valid file ("files") and per hostile file
                 ("hostile"); see the task description in the repo history
                 for the field meanings.  Key points:
                   * "descr" mirrors the header literal (tuples -> arrays);
                     for hand-made headers it is NumPy's canonical form and
                     "descr_as_written" holds what the header actually says.
                   * "values" are the elements in logical C order; floats
                     nan/inf/-inf/-0.0 are the strings "nan"/"inf"/"-inf"/
                     "-0.0"; complex is [re, im]; S is the latin-1 decoded
                     bytes and S/U values are NumPy's view of them (trailing
                     NULs stripped); datetimes are the raw int64 values with
                     NaT as "NaT".  f16/c32/V/O/structured have no "values";
                     small non-object ones get "values_hex" (raw payload).
                   * "payload_sha256" is sha256(file[data_offset:]).

The output is deterministic (fixed seeds, no timestamps; zip entries use the
zipfile default date 1980-01-01), so running it twice gives identical bytes.
The output directories are deleted and recreated on every run.

Run from anywhere (needs NumPy; written against NumPy 2.4):

    python3 testdata/generate.py              # (re)generate everything
    python3 testdata/generate.py --verdicts   # also print what np.load does
                                              # with each hostile file
"""

import ast
import hashlib
import io
import json
import math
import shutil
import struct
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npf
from numpy.lib import _format_impl as npf_impl  # for _filter_header (Python-2 "3L")

HERE = Path(__file__).resolve().parent
OUT_DIRS = ["npy", "npz", "raw", "hostile"]
MAGIC = b"\x93NUMPY"
BIG = 2**31  # max_header_size used when *we* load our own (trusted) files
VALUES_HEX_LIMIT = 4096  # bytes of payload above which values_hex is omitted

warnings.simplefilter("ignore")  # format 2.0/3.0 and Python-2 header warnings

files = []     # manifest "files"
hostile = []   # manifest "hostile"


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def write_bytes(rel, data):
    p = HERE / rel
    p.write_bytes(data)
    return p


def save_bytes(arr, version=None):
    """Exactly the bytes np.save / write_array (default options) produce."""
    buf = io.BytesIO()
    npf.write_array(buf, arr, version=version, allow_pickle=True)
    return buf.getvalue()


def wrap_header(text, version=(1, 0), align=64, newline=True, encoding=None,
                extra_pad=0):
    """Hand-build magic + length + header, padded with spaces (+ '\\n')."""
    if encoding is None:
        encoding = "utf8" if version == (3, 0) else "latin1"
    hb = text.encode(encoding) if isinstance(text, str) else text
    lfmt = "<H" if version == (1, 0) else "<I"
    pre = MAGIC + bytes(version)
    base = len(pre) + struct.calcsize(lfmt) + len(hb) + (1 if newline else 0)
    pad = (-base) % align + extra_pad
    body = hb + b" " * pad + (b"\n" if newline else b"")
    return pre + struct.pack(lfmt, len(body)) + body


def raw_npy(version_bytes, hlen_fmt, header_bytes, payload=b"", hlen=None):
    """Completely raw construction for hostile files."""
    if hlen is None:
        hlen = len(header_bytes)
    return MAGIC + bytes(version_bytes) + struct.pack(hlen_fmt, hlen) + header_bytes + payload


def rec(rows, dt):
    """Structured array with zeroed padding bytes (np.array leaves them
    uninitialised, which would make the output non-deterministic)."""
    a = np.zeros(len(rows), dtype=dt)
    for i, r in enumerate(rows):
        a[i] = r
    return a


def longdouble(values, bo, cplx=False):
    """np.longdouble / np.clongdouble array with deterministic bytes: the
    unused high bytes of x87 80-bit values are zeroed, and the big-endian
    variant is the exact byte reversal of each 16-byte little-endian part."""
    base = np.dtype(np.clongdouble if cplx else np.longdouble)
    le = np.asarray(values).astype(base.newbyteorder("<"))
    parts = le.view("u1").reshape(-1, base.itemsize // (2 if cplx else 1))
    if np.finfo(np.longdouble).nmant == 63 and parts.shape[1] == 16:
        parts[:, 10:] = 0  # x87 extended: 10 significant bytes
    if bo == "<":
        return le
    swapped = np.ascontiguousarray(parts[:, ::-1]).reshape(-1)
    return swapped.view(base.newbyteorder(">")).reshape(le.shape)


def descr_json(d):
    if isinstance(d, (tuple, list)):
        return [descr_json(x) for x in d]
    return d


def jfloat(x):
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0.0 and math.copysign(1.0, x) < 0:
        return "-0.0"
    return x


def json_values(arr):
    """Elements in logical C order, JSON-friendly, or None if omitted."""
    dt = arr.dtype
    if dt.names is not None or dt.kind in "VO":
        return None
    if dt.kind in "fc" and dt.itemsize > (8 if dt.kind == "f" else 16):
        return None  # long double / clongdouble
    flat = arr.ravel(order="C")
    if dt.kind == "b":
        return [bool(x) for x in flat.tolist()]
    if dt.kind in "iu":
        return [int(x) for x in flat.tolist()]
    if dt.kind == "f":
        return [jfloat(x) for x in flat.tolist()]
    if dt.kind == "c":
        return [[jfloat(z.real), jfloat(z.imag)] for z in flat.tolist()]
    if dt.kind == "S":
        return [x.decode("latin-1") for x in flat.tolist()]
    if dt.kind == "U":
        return [str(x) for x in flat.tolist()]
    if dt.kind in "Mm":
        nat = np.isnat(flat)
        ints = flat.astype(dt.newbyteorder("=")).view("i8")
        return ["NaT" if n else int(v) for n, v in zip(nat.tolist(), ints.tolist())]
    raise AssertionError(f"unhandled dtype {dt}")


def parse_header(data):
    """Return (version_str, data_offset, header_dict) using NumPy's rules."""
    assert data[:6] == MAGIC
    major, minor = data[6], data[7]
    if (major, minor) == (1, 0):
        hlen = struct.unpack("<H", data[8:10])[0]
        start = 10
    else:
        hlen = struct.unpack("<I", data[8:12])[0]
        start = 12
    enc = "utf8" if major == 3 else "latin1"
    text = data[start:start + hlen].decode(enc)
    try:
        d = ast.literal_eval(text)
    except SyntaxError:
        d = ast.literal_eval(npf_impl._filter_header(text))  # Python-2 '3L'
    return f"{major}.{minor}", start + hlen, d


def array_info(data, arr, numpy_default, expected=None, write_version=None,
               note=None):
    """Per-array manifest fields for npy files and npz members."""
    version, data_offset, hdr = parse_header(data)
    dt = arr.dtype
    canon = npf.dtype_to_descr(dt)
    shape = tuple(hdr["shape"])
    assert shape == arr.shape, (shape, arr.shape)
    assert hdr["fortran_order"] is bool(hdr["fortran_order"])
    if expected is not None:
        assert arr.dtype == expected.dtype, (arr.dtype, expected.dtype)
        assert arr.shape == expected.shape
        if dt.kind in "fc" and dt.names is None:
            assert np.array_equal(arr, expected, equal_nan=True)
        elif not dt.hasobject:
            assert arr.tobytes() == expected.tobytes()
        else:
            assert arr.tolist() == expected.tolist()
    n = int(np.prod(shape, dtype=object)) if shape else 1
    info = {
        "version": version,
        "descr": descr_json(canon),
        "fortran_order": hdr["fortran_order"],
        "shape": list(shape),
        "data_offset": data_offset,
        "itemsize": dt.itemsize,
        "nbytes": dt.itemsize * n,
        "alignment": dt.alignment,
        "numpy_default": numpy_default,
    }
    if hdr["descr"] != canon:
        assert not numpy_default, "numpy-written header descr must be canonical"
        info["descr_as_written"] = descr_json(hdr["descr"])
    # numpy_default must be true exactly when re-saving gives the same header
    resaved = save_bytes(arr, version=write_version)
    same_header = resaved[:data_offset] == data[:data_offset]
    assert same_header == numpy_default, ("numpy_default mismatch", note)
    if numpy_default and not dt.hasobject:
        assert resaved == data
    if dt.names is not None:
        fields = []
        for name in dt.names:
            f = dt.fields[name]
            fdt, off = f[0], f[1]
            title = f[2] if len(f) > 2 else None
            base, sub = (fdt.subdtype if fdt.subdtype else (fdt, ()))
            fields.append({
                "name": name,
                "title": title,
                "offset": off,
                "descr": descr_json(npf.dtype_to_descr(base)),
                "shape": list(sub),
            })
        info["fields"] = fields
    payload = data[data_offset:]
    vals = json_values(arr)
    if vals is not None:
        info["values"] = vals
    elif not dt.hasobject and len(payload) <= VALUES_HEX_LIMIT:
        info["values_hex"] = payload.hex()
    info["payload_sha256"] = hashlib.sha256(payload).hexdigest()
    if not dt.hasobject:
        assert data_offset + info["nbytes"] == len(data), note
    return info


def load_bytes(data, allow_pickle=False):
    return np.load(io.BytesIO(data), allow_pickle=allow_pickle,
                   max_header_size=BIG)


def add_npy(name, data, expected, note, numpy_default, write_version=None):
    """Write an .npy (given as bytes), verify with np.load, record it."""
    rel = f"npy/{name}.npy"
    p = write_bytes(rel, data)
    is_obj = expected.dtype.hasobject
    arr = np.load(p, allow_pickle=is_obj, max_header_size=BIG)
    entry = {"path": rel, "kind": "npy"}
    entry.update(array_info(data, arr, numpy_default, expected, write_version, note))
    entry["note"] = note
    files.append(entry)
    return entry


def save(name, arr, note, version=None):
    """Add a file written by NumPy itself (write_array == np.save)."""
    arr = np.asanyarray(arr)
    data = save_bytes(arr, version)
    # double-check that np.save writes the very same bytes
    buf = io.BytesIO()
    if version is None:
        np.save(buf, arr, allow_pickle=True)
        assert buf.getvalue() == data
    return add_npy(name, data, arr, note, True, write_version=version)


def hand(name, data, expected, note):
    """Add a hand-made file that np.load must accept and equal `expected`."""
    return add_npy(name, data, np.asanyarray(expected), note, False)


def add_hostile(name, data, expect, reason):
    rel = f"hostile/{name}"
    write_bytes(rel, data)
    hostile.append({"path": rel, "expect": expect, "reason": reason})


# --------------------------------------------------------------------------
# 1. valid .npy files
# --------------------------------------------------------------------------

def gen_npy():
    rng = np.random.default_rng(20240601)

    # ---- simple dtypes ----------------------------------------------------
    save("b1", np.array([True, False, True, True, False, False]), "bool |b1")
    save("i1", np.arange(-3, 3, dtype="i1"), "int8 |i1, no byte order")
    save("u1", np.arange(250, 256, dtype="u1"), "uint8 |u1")
    for code, base in [("i2", np.arange(-3, 3) * 1000), ("i4", np.arange(-3, 3) * 100000),
                       ("i8", np.arange(-3, 3) * 10**12), ("u2", np.arange(6) * 10000 + 1),
                       ("u4", np.arange(6) * 10**9 + 1), ("u8", np.arange(6, dtype="u8") * 10**18 + 1)]:
        for bo, word in [("<", "le"), (">", "be")]:
            save(f"{code}_{word}", np.asarray(base).astype(bo + code),
                 f"{bo}{code}: arange-based values")
    for code in ["f2", "f4", "f8"]:
        for bo, word in [("<", "le"), (">", "be")]:
            a = (np.arange(6) - 2.5) * 0.75
            save(f"{code}_{word}", a.astype(bo + code), f"{bo}{code}: (arange(6)-2.5)*0.75")
    for code, fl in [("c8", "f4"), ("c16", "f8")]:
        for bo, word in [("<", "le"), (">", "be")]:
            re_ = np.arange(4, dtype=fl) + 0.5
            im = -np.arange(4, dtype=fl) * 0.25
            save(f"{code}_{word}", (re_ + 1j * im).astype(bo + code), f"{bo}{code}: k+0.5 - 0.25k i")
    for bo, word in [("<", "le"), (">", "be")]:
        save(f"f16_{word}", longdouble(np.arange(4) / 3, bo),
             f"np.longdouble ({bo}f16, x87 80-bit in 16 bytes): arange(4)/3; values_hex only")
        save(f"c32_{word}", longdouble((np.arange(3) + 1j) / 3, bo, cplx=True),
             f"np.clongdouble ({bo}c32): (k+1j)/3; values_hex only")
    save("S5", np.array([b"hello", b"ab", b"", b"a\x00b", b"\xff\xfe12"], dtype="S5"),
         "|S5; values are NumPy's view (trailing NULs stripped), latin-1 decoded")
    u = np.array(["abc", "é", "日本", "", "😀x"], dtype="<U3")
    save("U3_le", u, "<U3 (UTF-32LE code points); trailing NULs stripped in values")
    save("U3_be", u.astype(">U3"), ">U3 (UTF-32BE code points)")
    save("V4", np.array([b"\x01\x02\x03\x04", b"\xde\xad\xbe\xef", b"\x00\x00\x00\x00"], dtype="V4"),
         "|V4 raw void bytes; values_hex only")
    save("M8_ns", np.array(["2024-01-02T03:04:05.123456789", "NaT", "1969-12-31T23:59:59",
                            "1970-01-01"], dtype="<M8[ns]"), "<M8[ns] with NaT and a negative value")
    save("M8_ns_be", np.array(["2024-01-02T03:04:05", "NaT"], dtype=">M8[ns]"), ">M8[ns] big endian")
    save("M8_D", np.array(["2000-01-01", "1970-01-01", "NaT", "1900-03-04"], dtype="<M8[D]"),
         "<M8[D] days since epoch")
    save("m8_10s", np.array([0, 1, -2, 360], dtype="<m8[10s]"), "<m8[10s] multiplier unit")
    save("M8_generic", np.array(["NaT", "NaT"], dtype="M8"), "generic <M8 (no unit), only NaT is possible")
    save("m8_us", np.array([1, -1, 10**12, "NaT"], dtype="<m8[us]"), "<m8[us] with NaT")
    save("object", np.array([1, 2, 3, 10**30], dtype=object),
         "|O: pickled payload (protocol 4); header only is meaningful, no values")

    # ---- layouts ------------------------------------------------------------
    a23 = np.arange(6, dtype="<f8").reshape(2, 3)
    save("c_2x3", a23, "C order 2x3 f8 arange")
    save("f_2x3", np.asfortranarray(a23), "Fortran order 2x3 f8 arange (payload in column-major)")
    a234 = np.arange(24, dtype="<i4").reshape(2, 3, 4)
    save("c_2x3x4", a234, "C order 2x3x4 i4 arange")
    save("f_2x3x4", np.asfortranarray(a234), "Fortran order 2x3x4 i4 arange")
    save("one_d", np.arange(7, dtype="<i2"), "1-D i2")
    save("zero_d", np.array(3.5, dtype="<f8"), "0-d f8, shape ()")
    save("zero_d_i4", np.array(-7, dtype="<i4"), "0-d i4")
    save("empty_0", np.zeros((0,), dtype="<f4"), "zero-size shape (0,)")
    save("empty_3x0", np.zeros((3, 0), dtype="<i4"), "zero-size shape (3,0)")
    e05 = np.asfortranarray(np.zeros((0, 5), dtype="<f8"))
    save("empty_0x5_from_fortran", e05,
         "zero-size (0,5) from an F array: zero-size is C-contiguous, so NumPy writes fortran_order False")
    d = {"descr": "<f8", "fortran_order": True, "shape": (0, 5)}
    buf = io.BytesIO()
    npf.write_array_header_1_0(buf, d)
    hand("empty_0x5_fortran", buf.getvalue(), np.zeros((0, 5), order="F"),
         "zero-size (0,5) with fortran_order True (np.save never writes this; header by np.lib.format.write_array_header_1_0)")
    save("one_d_from_fortran", np.asfortranarray(np.arange(5, dtype="<i8")),
         "1-D array taken from np.asfortranarray: header says fortran_order False")
    save("f_2x1", np.asfortranarray(np.arange(2, dtype="<f4").reshape(2, 1)),
         "2x1 F array is also C-contiguous: fortran_order False")
    save("noncontig_slice", np.arange(12, dtype="<i4").reshape(3, 4)[:, ::2],
         "non-contiguous view saved: NumPy writes it C order, fortran_order False")
    save("c_rand_3x4", rng.standard_normal((3, 4)).astype("<f4"), "3x4 f4 from default_rng(20240601)")

    # ---- special floats / int extremes -------------------------------------
    for code in ["f2", "f4", "f8"]:
        fi = np.finfo(code)
        vals = [np.nan, np.inf, -np.inf, -0.0, 0.0, fi.smallest_subnormal,
                -fi.smallest_subnormal, fi.smallest_normal - fi.smallest_subnormal,
                fi.smallest_normal, fi.max, -fi.max, 1.0]
        save(f"special_{code}", np.array(vals, dtype="<" + code),
             f"<{code}: nan inf -inf -0.0 0.0 min-subnormal -min-subnormal max-subnormal min-normal max -max 1")
    save("special_f8_be", np.array([np.nan, -np.inf, -0.0, 5e-324], dtype=">f8"), ">f8 special values")
    for code in ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"]:
        ii = np.iinfo(code)
        vals = [ii.min, ii.max, 0, 1] + ([-1] if code[0] == "i" else [ii.max - 1])
        dt = np.dtype(code).newbyteorder("<")
        save(f"extremes_{code}", np.array(vals, dtype=dt), f"{dt.str}: min max 0 1 and -1 / max-1")
    save("extremes_i8_be", np.array([np.iinfo("i8").min, np.iinfo("i8").max], dtype=">i8"), ">i8 min max")
    save("extremes_u8_be", np.array([0, np.iinfo("u8").max], dtype=">u8"), ">u8 0 max")

    # ---- structured -----------------------------------------------------------
    dt = np.dtype([("x", "<i4"), ("y", "<f8")])
    save("struct_simple", rec([(1, 1.5), (-2, 2.5), (3, -0.0)], dt), "[('x','<i4'),('y','<f8')]")
    dt = np.dtype([("x", ">i4"), ("y", ">f8"), ("z", ">u2")])
    save("struct_be", rec([(1, 1.5, 7), (-2, 2.5, 65535)], dt), "big-endian fields")
    dt = np.dtype([("a", "u1"), ("b", "<i4"), ("c", "u1"), ("d", "<f8")], align=True)
    save("struct_aligned", rec([(1, 2, 3, 4.0), (5, 6, 7, 8.0)], dt),
         "align=True: ('', '|V3') / ('', '|V7') padding entries; itemsize 24 (loaded dtype is not flagged aligned)")
    dt = np.dtype([(("title", "name"), "<f4"), (("Long title, with comma", "b"), "<i2"), ("plain", "u1")])
    save("struct_titles", rec([(1.0, 2, 3), (4.0, 5, 6)], dt), "titled fields (('title','name'),'<f4')")
    dt = np.dtype([("a", "<i4", (2, 3)), ("b", "<f8", (2,))])
    arr = np.zeros(2, dtype=dt)
    arr["a"] = np.arange(12).reshape(2, 2, 3)
    arr["b"] = [[0.5, 1.5], [2.5, 3.5]]
    save("struct_subarray", arr, "subarray fields ('a','<i4',(2,3)) and ('b','<f8',(2,))")
    dt = np.dtype([("p", [("x", "<f4"), ("y", "<f4")]), ("id", "<u2")])
    save("struct_nested", rec([((1.0, 2.0), 1), ((3.0, 4.0), 2)], dt), "nested struct")
    pt = np.dtype([("x", "<i2"), ("y", "<i2")])
    dt = np.dtype([("pts", pt, (3,)), ("n", "u1"), ("m", [("q", pt, (2, 1))])])
    arr = np.zeros(2, dtype=dt)
    arr["pts"]["x"] = [[1, 2, 3], [4, 5, 6]]
    arr["pts"]["y"] = [[-1, -2, -3], [-4, -5, -6]]
    arr["n"] = [3, 3]
    arr["m"]["q"]["x"] = 9
    save("struct_nested_subarray", arr, "subarray of struct ('pts',[x,y],(3,)) and nested struct with subarray of struct")
    inner = np.dtype("<f4")
    for i in range(10):
        inner = np.dtype([("a", inner)])
    save("struct_nested_deep10", np.zeros(2, dtype=inner) , "10 levels of nested single-field structs (legit depth)")
    dt = np.dtype([("name", "<U4"), ("tag", "S3"), ("v", "<i2")])
    save("struct_strings", rec([("abcd", b"xyz", 1), ("é", b"q", -1)], dt), "U and S fields")
    dt = np.dtype([("t", "<M8[s]"), ("dt", "<m8[ms]"), ("v", "<f4")])
    save("struct_datetime", rec([("2020-02-29T12:00:00", 1500, 1.0), ("NaT", "NaT", 2.0)], dt),
         "datetime/timedelta fields")
    dt = np.dtype({"names": ["x", "y"], "formats": ["<i4", "<i2"], "offsets": [0, 4], "itemsize": 12})
    save("struct_trailing_pad", rec([(1, 2), (3, 4)], dt), "itemsize 12 > last field end 6: trailing ('', '|V6')")
    dt = np.dtype({"names": ["y", "x"], "formats": ["<i2", "<i4"], "offsets": [8, 0], "itemsize": 12})
    try:  # NumPy cannot write fields whose offsets are out of order: no fixture
        save_bytes(np.zeros(1, dtype=dt))
        raise AssertionError("NumPy unexpectedly saved out-of-order fields")
    except ValueError:
        pass
    save("struct_empty", np.zeros(3, dtype=np.dtype([])), "np.dtype([]): descr [], itemsize 0, empty payload")
    dt = np.dtype([("it's", "<i4"), ('say "hi"', "<i2"), ("back\\slash", "u1"), ("both'\"", "u1")])
    save("struct_quoted_names", rec([(1, 2, 3, 4)], dt),
         "field names with ' \" and backslash (repr uses double quotes and escapes)")

    # ---- format versions ------------------------------------------------------
    dt = np.dtype([(f"f{i:04d}", "u1") for i in range(4000)])
    arr = np.zeros(2, dtype=dt)
    arr.view("u1")[:] = np.arange(8000) % 251
    e = save("v2_many_fields", arr, "4000 u1 fields: header > 65535 bytes so NumPy picks format 2.0")
    assert e["version"] == "2.0"
    e = save("v2_explicit", np.arange(6, dtype="<i4").reshape(2, 3), "write_array(version=(2,0))", version=(2, 0))
    assert e["version"] == "2.0"
    dt = np.dtype([("température", "<f4"), ("v", "u1")])
    e = save("v1_latin1_name", rec([(1.5, 1)], dt),
             "field name 'température' fits latin-1 so NumPy keeps format 1.0 (byte 0xE9 in header)")
    assert e["version"] == "1.0"
    dt = np.dtype([("température", "<f4"), ("データ", "<i2")])
    e = save("v3_utf8_names", rec([(1.5, 1), (2.5, 2)], dt), "non-latin-1 field name: format 3.0 (UTF-8)")
    assert e["version"] == "3.0"
    e = save("v3_explicit", np.arange(3, dtype="<f8"), "write_array(version=(3,0))", version=(3, 0))
    assert e["version"] == "3.0"

    # ---- hand-made headers NumPy accepts ---------------------------------------
    a = np.arange(3, dtype="<f8")
    hand("hand_keys_reordered",
         wrap_header("{'shape': (3,), 'fortran_order': False, 'descr': '<f8'}") + a.tobytes(), a,
         "keys in shape/fortran_order/descr order")
    a = np.arange(6, dtype="<i4").reshape(2, 3)
    hand("hand_double_quotes",
         wrap_header('{"descr": "<i4", "fortran_order": False, "shape": (2, 3)}') + a.tobytes(), a,
         "double-quoted strings")
    a = np.arange(4, dtype="<f4")
    hand("hand_no_trailing_comma",
         wrap_header("{'descr': '<f4', 'fortran_order': False, 'shape': (4,)}") + a.tobytes(), a,
         "no trailing comma after last item")
    a = np.arange(4, dtype="<u2").reshape(2, 2)
    hand("hand_whitespace",
         wrap_header("{\n  'descr' : '<u2' ,\n\t'fortran_order':False,'shape':( 2 , 2 , ) ,\n}") + a.tobytes(), a,
         "spaces, tabs and newlines inside the dict; trailing comma inside shape tuple")
    a = np.asfortranarray(np.arange(6, dtype="<i2").reshape(3, 2))
    hand("hand_fortran_spaces",
         wrap_header("{ 'descr':'<i2','fortran_order':True,'shape':(3,2)}") + a.T.tobytes(), a,
         "Fortran order, no spaces after colons/commas")
    a = np.arange(4, dtype="<i8")
    hdr = "{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }"
    data = wrap_header(hdr, align=16)
    if (len(data) % 64) == 0:
        data = wrap_header(hdr, align=16, extra_pad=16)
    assert len(data) % 16 == 0 and len(data) % 64 != 0
    hand("hand_align16", data + a.tobytes(), a, "data aligned to 16 bytes only (old NumPy)")
    a = np.arange(12, dtype="<f8").reshape(3, 4)
    hand("hand_py2_long",
         wrap_header("{'descr': '<f8', 'fortran_order': False, 'shape': (3L, 4L), }") + a.tobytes(), a,
         "Python-2 long suffix (3L, 4L) in a v1.0 header")
    for nm, written, arr_ in [("hand_descr_eq_f8", "=f8", np.arange(3, dtype="<f8")),
                              ("hand_descr_noorder_i4", "i4", np.arange(3, dtype="<i4")),
                              ("hand_descr_lt_u1", "<u1", np.arange(3, dtype="u1")),
                              ("hand_descr_gt_S3", ">S3", np.array([b"abc", b"d"], dtype="S3"))]:
        hand(nm, wrap_header(f"{{'descr': '{written}', 'fortran_order': False, 'shape': {arr_.shape}, }}")
             + arr_.tobytes(), arr_, f"descr written as '{written}' (canonical {arr_.dtype.str})")
    a = np.arange(5, dtype="<i2")
    data = wrap_header("{'descr': '<i2', 'fortran_order': False, 'shape': (5,), }", extra_pad=4096)
    hand("hand_pad_4k", data + a.tobytes(), a,
         f"header padded with 4096 extra spaces (data_offset {len(data)}, still 64-aligned)")
    hdr = "{'descr': '<i2', 'fortran_order': False, 'shape': (5,), }"
    data = wrap_header(hdr)
    data = wrap_header(hdr, extra_pad=65536 - len(data))  # data_offset 65536, hlen 65526
    assert struct.unpack("<H", data[8:10])[0] == 65526
    hand("hand_pad_max_v1", data + a.tobytes(), a,
         "v1.0 maximal padding: hlen 65526, data_offset 65536 (np.load needs max_header_size > 10000)")
    a = np.arange(3, dtype="<f4")
    hand("hand_no_newline",
         wrap_header("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", newline=False) + a.tobytes(), a,
         "header padding ends with a space, not '\\n'")
    a = np.array([(1.5, 2)], dtype=[("é", "<f4"), ("ÿ", "u1")])
    hand("hand_v2_latin1",
         wrap_header("{'descr': [('é', '<f4'), ('ÿ', '|u1')], 'fortran_order': False, 'shape': (1,)}",
                     version=(2, 0)) + a.tobytes(), a,
         "v2.0 header with latin-1 bytes 0xE9 0xFF in field names")


# --------------------------------------------------------------------------
# 2. raw headerless files
# --------------------------------------------------------------------------

def add_raw(name, arr, order, note, prefix=b""):
    rel = f"raw/{name}.bin"
    p = HERE / rel
    with open(p, "wb") as fh:
        fh.write(prefix)
        (arr.T if order == "F" else arr).tofile(fh)  # F: column-major bytes
    data = p.read_bytes()
    payload = data[len(prefix):]
    # verify via np.fromfile / np.memmap
    back = np.fromfile(p, dtype=arr.dtype, offset=len(prefix))
    back = back.reshape(arr.shape[::-1]).T if order == "F" else back.reshape(arr.shape)
    assert back.tobytes() == arr.tobytes()
    mm = np.memmap(p, dtype=arr.dtype, mode="r", offset=len(prefix), shape=arr.shape, order=order)
    assert np.array_equal(mm, arr)
    del mm
    files.append({
        "path": rel, "kind": "raw", "descr": arr.dtype.str, "shape": list(arr.shape),
        "order": order, "offset": len(prefix), "itemsize": arr.dtype.itemsize,
        "nbytes": arr.nbytes, "values": json_values(arr),
        "payload_sha256": hashlib.sha256(payload).hexdigest(), "note": note,
    })


def gen_raw():
    add_raw("f4_c_3x4", np.arange(12, dtype="<f4").reshape(3, 4) / 4, "C", "<f4 3x4 C order, arange/4 (tofile)")
    add_raw("i2_be_1d", (np.arange(-5, 5) * 1000).astype(">i2"), "C", ">i2 1-D big endian")
    add_raw("f8_fortran_2x3", np.arange(6, dtype="<f8").reshape(2, 3) + 0.5, "F",
            "<f8 2x3 written column-major (arr.T.tofile); values are logical C order")
    add_raw("u2_offset16", np.arange(10, dtype="<u2").reshape(2, 5) * 3, "C",
            "<u2 2x5 after a 16-byte prefix (use --offset 16)", prefix=b"RAWPREFIX16BYTES")


# --------------------------------------------------------------------------
# 3. npz archives
# --------------------------------------------------------------------------

def add_npz(name, writer, note):
    rel = f"npz/{name}.npz"
    buf = io.BytesIO()
    writer(buf)
    data = buf.getvalue()
    write_bytes(rel, data)
    members = []
    comps = set()
    with zipfile.ZipFile(io.BytesIO(data)) as zf, np.load(HERE / rel, allow_pickle=False) as npz:
        for zi in zf.infolist():
            mdata = zf.read(zi)
            key = zi.filename[:-4] if zi.filename.endswith(".npy") else zi.filename
            arr = npz[key]
            comp = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}[zi.compress_type]
            comps.add(comp)
            m = {"name": zi.filename, "key": key, "compression": comp,
                 "compressed_size": zi.compress_size, "file_size": zi.file_size}
            m.update(array_info(mdata, arr, True, None, None, f"{rel}:{zi.filename}"))
            members.append(m)
    assert len(comps) == 1
    files.append({"path": rel, "kind": "npz", "compression": comps.pop(), "members": members, "note": note})


def gen_npz():
    a = np.arange(6, dtype="<f8").reshape(2, 3)
    b = np.array([1, -2, 3], dtype=">i4")
    c = np.array([b"ab", b"cde"], dtype="S3")
    add_npz("named", lambda f: np.savez(f, alpha=a, beta=b, gamma=c), "np.savez keyword members alpha, beta, gamma")
    add_npz("positional", lambda f: np.savez(f, a, np.asfortranarray(a)), "np.savez positional: arr_0, arr_1 (Fortran)")
    add_npz("mixed", lambda f: np.savez(f, b, extra=c), "np.savez(f, b, extra=c): keyword members first, then arr_0")
    rng = np.random.default_rng(7)
    big = np.repeat(np.arange(50, dtype="<i4"), 20)
    add_npz("compressed", lambda f: np.savez_compressed(f, x=rng.integers(0, 100, 16, dtype="<i8"), rep=big, s=a),
            "np.savez_compressed (deflated members)")
    add_npz("scalar_member", lambda f: np.savez(f, scalar=np.array(2.5), vec=np.arange(3, dtype="<u2")),
            "0-d member 'scalar'")
    dt = np.dtype([("x", "<i4"), ("p", [("u", "<f4"), ("v", "<f4")]), ("s", "S2")])
    st = rec([(1, (0.5, 1.5), b"ok"), (2, (2.5, 3.5), b"no")], dt)
    add_npz("structured_member", lambda f: np.savez_compressed(f, rec=st, empty=np.zeros((0, 2), "<f4")),
            "structured member + zero-size member, compressed")


# --------------------------------------------------------------------------
# 4. hostile files
# --------------------------------------------------------------------------

def h1(header, payload=b"", version=(1, 0), **kw):
    return wrap_header(header, version=version, **kw) + payload


F8_3 = np.arange(3, dtype="<f8").tobytes()
GOOD = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"


def gen_hostile():
    rng = np.random.default_rng(99)
    good = h1(GOOD, F8_3)
    add_hostile("bad_magic.npy", b"\x93NUMPX" + good[6:], "not_npy", "magic is \\x93NUMPX")
    add_hostile("text_file.npy", b"hello, this is not an npy file at all\n", "not_npy", "plain text")
    for maj, mn in [(0, 0), (4, 0), (1, 1), (255, 255)]:
        add_hostile(f"version_{maj}_{mn}.npy", good[:6] + bytes([maj, mn]) + good[8:], "unsupported_version",
                    f"format version {maj}.{mn}")
    add_hostile("empty.npy", b"", "truncated", "zero-length file")
    add_hostile("short_preamble.npy", good[:7], "truncated", "7 bytes, shorter than the 10-byte preamble")
    add_hostile("v1_magic_only.npy", good[:9], "truncated", "9 bytes: magic+version+half the length field")
    add_hostile("hlen_past_eof.npy", raw_npy((1, 0), "<H", good[10:60], hlen=1000), "truncated",
                "v1 header length 1000 but the file has 60 bytes")
    add_hostile("hlen_zero.npy", raw_npy((1, 0), "<H", b"", F8_3), "header_syntax",
                "header length 0: empty header is not a dict")
    hb = b"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"
    data = raw_npy((2, 0), "<I", hb, hlen=0xFFFFFFFF)
    data = (data + b" " * 100)[:100]
    add_hostile("hlen_ffffffff_v2.npy", data, "header_too_long", "v2 header length 0xFFFFFFFF in a 100-byte file: over the 16 MiB limit, refused before reading")
    add_hostile("header_list.npy", h1("[('descr', '<f8'), ('fortran_order', False), ('shape', (3,))]", F8_3),
                "header_syntax", "header is a list, not a dict")
    add_hostile("missing_key.npy", h1("{'descr': '<f8', 'shape': (3,), }", F8_3), "header_key",
                "no fortran_order key")
    add_hostile("extra_key.npy", h1("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'extra': 1, }", F8_3),
                "header_key", "unknown key 'extra'")
    add_hostile("duplicate_key.npy",
                h1("{'descr': '<i4', 'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", F8_3),
                "header_key", "'descr' appears twice (NumPy's literal_eval silently keeps the last)")
    add_hostile("shape_list.npy", h1("{'descr': '<f8', 'fortran_order': False, 'shape': [3], }", F8_3),
                "header_value", "shape is a list [3]")
    add_hostile("shape_int.npy", h1("{'descr': '<f8', 'fortran_order': False, 'shape': 3, }", F8_3),
                "header_value", "shape is an int")
    add_hostile("shape_paren_int.npy", h1("{'descr': '<f8', 'fortran_order': False, 'shape': (3), }", F8_3),
                "header_value", "shape is (3), i.e. an int, not a tuple")
    add_hostile("shape_str_dim.npy", h1("{'descr': '<f8', 'fortran_order': False, 'shape': ('3',), }", F8_3),
                "header_value", "shape element is a string")
    add_hostile("shape_float_dim.npy", h1("{'descr': '<f8', 'fortran_order': False, 'shape': (3.0,), }", F8_3),
                "header_value", "shape element is a float")
    add_hostile("fortran_order_int.npy", h1("{'descr': '<f8', 'fortran_order': 1, 'shape': (3,), }", F8_3),
                "header_value", "fortran_order is 1, not a bool")
    add_hostile("fortran_order_lower.npy", h1("{'descr': '<f8', 'fortran_order': false, 'shape': (3,), }", F8_3),
                "header_syntax", "fortran_order is JSON-style false (a bare name, not a literal)")
    add_hostile("descr_int.npy", h1("{'descr': 8, 'fortran_order': False, 'shape': (3,), }", F8_3),
                "header_value", "descr is an int")
    add_hostile("unterminated_string.npy", h1("{'descr': '<f8, 'fortran_order': False, 'shape': (3,), }", F8_3),
                "header_syntax", "string literal never closed")
    add_hostile("unterminated_dict.npy", h1("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), ", F8_3),
                "header_syntax", "dict has no closing brace")
    add_hostile("unterminated_tuple.npy", h1("{'descr': '<f8', 'fortran_order': False, 'shape': (3, }", F8_3),
                "header_syntax", "shape tuple has no closing paren")
    add_hostile("trailing_garbage.npy", h1("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), } xyz", F8_3),
                "header_syntax", "non-space text after the dict")
    bad = "{'descr': [('\udcff\udcfe', '<f8')], 'fortran_order': False, 'shape': (3,), }"
    hbytes = bad.encode("utf8", "surrogateescape")
    assert b"\xff\xfe" in hbytes
    add_hostile("v3_invalid_utf8.npy", h1(hbytes, F8_3, version=(3, 0)), "header_encoding",
                "v3 header contains bytes FF FE (invalid UTF-8)")
    add_hostile("nul_in_header.npy",
                h1("{'descr': '<f8',\x00 'fortran_order': False, 'shape': (3,), }", F8_3),
                "header_syntax", "NUL byte between dict items")
    add_hostile("nul_in_padding.npy",
                h1("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }   \x00", F8_3),
                "header_syntax", "NUL byte in the padding after the dict")
    add_hostile("dim_1000_digits.npy",
                h1("{'descr': '<f8', 'fortran_order': False, 'shape': (" + "9" * 1000 + ",), }", F8_3),
                "integer_too_large", "a 1000-digit dimension")
    add_hostile("dim_u64_plus1.npy",
                h1("{'descr': '|u1', 'fortran_order': False, 'shape': (18446744073709551616,), }", b"\0"),
                "integer_too_large", "dimension 2**64 does not fit in u64")
    add_hostile("negative_dim.npy", h1("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }", F8_3),
                "negative_dim", "shape (-1,)")
    add_hostile("negative_dim_2d.npy", h1("{'descr': '<f8', 'fortran_order': False, 'shape': (-1, -3), }", F8_3),
                "negative_dim", "shape (-1, -3): product is positive 3, matching the payload")
    add_hostile("dims_overflow.npy",
                h1("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }", F8_3),
                "overflow", "shape (2**40, 2**40): element count overflows u64")
    add_hostile("nbytes_overflow.npy",
                h1("{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,), }", F8_3),
                "overflow", "shape (2**61,) of f8: 2**64 bytes overflows u64")
    add_hostile("dims_100.npy",
                h1("{'descr': '<f8', 'fortran_order': False, 'shape': (" + "1, " * 100 + "), }", F8_3[:8]),
                "too_many_dims", "100 dims of size 1 (NumPy max is 64)")
    deep = "[" * 100000 + "]" * 100000
    add_hostile("deep_list_descr.npy",
                h1("{'descr': " + deep + ", 'fortran_order': False, 'shape': (3,), }", F8_3, version=(2, 0)),
                "too_deep", "descr is a 100,000-deep nested list (v2 header, ~200 KB)")
    s = "'<f4'"
    for _ in range(1000):
        s = "[('a', " + s + ")]"
    add_hostile("deep_struct_descr.npy",
                h1("{'descr': " + s + ", 'fortran_order': False, 'shape': (1,), }", b"\0\0\x80\x3f"),
                "too_deep", "1000 levels of [('a', [('a', ... '<f4')])], otherwise well-formed")
    for fname, d, reason in [("dtype_x4.npy", "<x4", "unknown type code 'x'"),
                             ("dtype_i3.npy", "<i3", "integer of 3 bytes"),
                             ("dtype_S0.npy", "|S0", "zero itemsize string"),
                             ("dtype_fortnight.npy", "<M8[fortnight]", "unknown datetime unit"),
                             ("dtype_empty_str.npy", "", "empty descr string")]:
        add_hostile(fname, h1("{'descr': '" + d + "', 'fortran_order': False, 'shape': (3,), }", F8_3),
                    "dtype", reason)
    add_hostile("dtype_dup_fields.npy",
                h1("{'descr': [('a', '<i4'), ('a', '<f4')], 'fortran_order': False, 'shape': (3,), }", F8_3),
                "dtype", "two fields named 'a'")
    add_hostile("dtype_field_not_tuple.npy",
                h1("{'descr': ['<i4'], 'fortran_order': False, 'shape': (3,), }", F8_3[:12]),
                "dtype", "structured descr entry is a bare string, not a (name, descr) tuple")
    add_hostile("payload_short.npy", h1(GOOD, F8_3[:20]), "payload_size", "3 x f8 declared, 20 bytes present")
    add_hostile("payload_long.npy", h1(GOOD, F8_3 + b"\x01\x02\x03"), "payload_size",
                "3 trailing bytes after the 24-byte payload (NumPy's np.load ignores them)")
    add_hostile("huge_shape_tiny_file.npy",
                h1("{'descr': '|u1', 'fortran_order': False, 'shape': (4611686018427387904,), }", b"\x00" * 8),
                "payload_size", "shape (2**62,) u1 but 8 payload bytes; must not allocate")
    obj = save_bytes(np.array([1, 2, 3], dtype=object))
    add_hostile("object_dtype.npy", obj, "ok_header_object",
                "valid |O header + pickle payload: header readable, data needs pickle (object_dtype)")
    add_hostile("v3_long_suffix.npy",
                h1("{'descr': '<f8', 'fortran_order': False, 'shape': (3L,), }", F8_3, version=(3, 0)),
                "header_syntax", "Python-2 '3L' is only tolerated in v1/v2 headers")

    # ---- npz ------------------------------------------------------------------
    add_hostile("not_a_zip.npz", rng.integers(0, 256, 256, dtype="u1").tobytes(), "zip", "256 random bytes")
    buf = io.BytesIO()
    np.savez(buf, a=np.arange(4, dtype="<i4"), b=np.arange(3, dtype="<f8"))
    z = buf.getvalue()
    eocd = z.rfind(b"PK\x05\x06")
    cd_size, cd_off = struct.unpack("<II", z[eocd + 12:eocd + 20])
    add_hostile("truncated_central_dir.npz", z[:cd_off + cd_size // 2], "zip",
                "cut in the middle of the central directory (no EOCD)")

    def mkzip(entries, compression=zipfile.ZIP_STORED):
        b = io.BytesIO()
        with zipfile.ZipFile(b, "w", compression=compression) as zf:
            for nm, payload in entries:
                zi = zipfile.ZipInfo(nm, date_time=(1980, 1, 1, 0, 0, 0))
                zi.compress_type = compression
                zf.writestr(zi, payload)
        return b.getvalue()

    small = save_bytes(np.arange(3, dtype="<i4"))
    for fname, member in [("evil_dotdot.npz", "../evil.npy"), ("evil_abs.npz", "/abs.npy")]:
        data = mkzip([("ok.npy", small), (member, small)])
        assert member in zipfile.ZipFile(io.BytesIO(data)).namelist()
        add_hostile(fname, data, "unsafe_name", f"member name {member!r}")
    data = mkzip([("a.npy", small), ("a.npy", save_bytes(np.arange(5, dtype="<f8")))])
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == ["a.npy", "a.npy"]
    add_hostile("duplicate_member.npz", data, "duplicate_member", "two members named a.npy")
    # A bad member reports the inner .npy error's code, with the member named.
    add_hostile("bad_member.npz", mkzip([("ok.npy", small), ("bad.npy", b"this is not npy data")]), "not_npy",
                "member bad.npy has no npy magic")
    add_hostile("bad_member_header.npz",
                mkzip([("bad.npy", h1("{'descr': '<f8', 'fortran_order': False, 'shape': [3], }", F8_3))]),
                "header_value", "member bad.npy has shape given as a list")
    n = 10 * 2**20
    bomb_npy = save_bytes(np.zeros(n, dtype="u1"))
    data = bytearray(mkzip([("bomb.npy", bomb_npy)], compression=zipfile.ZIP_DEFLATED))
    declared = 1024
    # local header: uncompressed size at +22; central dir entry: at +24
    lh = data.find(b"PK\x03\x04")
    assert struct.unpack("<I", data[lh + 22:lh + 26])[0] == len(bomb_npy)
    data[lh + 22:lh + 26] = struct.pack("<I", declared)
    cd = data.find(b"PK\x01\x02")
    assert struct.unpack("<I", data[cd + 24:cd + 28])[0] == len(bomb_npy)
    data[cd + 24:cd + 28] = struct.pack("<I", declared)
    add_hostile("zip_bomb.npz", bytes(data), "zip_limit",
                f"deflated member declares {declared} bytes uncompressed but inflates to {len(bomb_npy)}")


# --------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------

def check_all():
    for e in files:
        p = HERE / e["path"]
        size = p.stat().st_size
        if e["kind"] == "npy":
            obj = e["descr"] == "|O"
            arr = np.load(p, allow_pickle=obj, max_header_size=BIG)
            assert list(arr.shape) == e["shape"], e["path"]
            assert arr.dtype.itemsize == e["itemsize"]
            assert e["nbytes"] == e["itemsize"] * math.prod(e["shape"])
            if e["fortran_order"] and arr.ndim > 1 and arr.size > 1:
                assert arr.flags.f_contiguous
            if e["numpy_default"]:
                assert e["data_offset"] % 64 == 0, e["path"]
            if not obj:
                assert e["data_offset"] + e["nbytes"] == size, e["path"]
            if "values" in e:
                assert e["values"] == json_values(arr)
            assert e["payload_sha256"] == hashlib.sha256(p.read_bytes()[e["data_offset"]:]).hexdigest()
        elif e["kind"] == "raw":
            assert e["offset"] + e["nbytes"] == size
        else:
            with np.load(p) as z:
                assert [m["key"] for m in e["members"]] == list(z.keys())


def numpy_verdicts():
    """Print what np.load itself does with each hostile file (for humans)."""
    out = []
    for h in hostile:
        p = HERE / h["path"]
        try:
            r = np.load(p)
            if isinstance(r, np.lib.npyio.NpzFile):
                with r:
                    r = {k: r[k].shape for k in r.keys()}
            else:
                r = f"loaded {r.dtype} {r.shape}"
            verdict = f"ACCEPTED: {r}"
        except Exception as ex:  # noqa: BLE001
            verdict = f"{type(ex).__name__}: {str(ex).splitlines()[0][:90] if str(ex) else ''}"
        out.append(f"  {h['path']:<42} expect={h['expect']:<18} numpy -> {verdict}")
    return out


def main():
    for d in OUT_DIRS:
        shutil.rmtree(HERE / d, ignore_errors=True)
        (HERE / d).mkdir(parents=True)
    gen_npy()
    gen_raw()
    gen_npz()
    gen_hostile()
    check_all()
    manifest = {
        "generator": "testdata/generate.py",
        "numpy_version": np.__version__,
        "files": files,
        "hostile": hostile,
    }
    text = json.dumps(manifest, indent=1, sort_keys=False, ensure_ascii=False, allow_nan=False)
    (HERE / "manifest.json").write_text(text + "\n", encoding="utf-8")
    kinds = {}
    for e in files:
        kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
    print(f"wrote {kinds} valid files and {len(hostile)} hostile files")
    if "--verdicts" in sys.argv:
        print("\n".join(numpy_verdicts()))


if __name__ == "__main__":
    main()
