#!/usr/bin/env python3
"""Random .npy headers written by NumPy itself, for tests/interop_header.rs.

Usage: python3 random_headers.py [COUNT] [SEED]      (defaults: 500, 20240611)

Prints one JSON object per line:

  {"descr": ..., "shape": [...], "fortran_order": bool,
   "version": "1.0" | "2.0" | "3.0", "forced": null | "2.0" | "3.0",
   "forced_refused": bool, "header_hex": "..."}

"descr" is NumPy's `dtype_to_descr(dtype)` with every tuple turned into a
JSON array (the form `Dtype::to_json` prints). "header_hex" is the magic,
version, length field and padded header that NumPy's `_write_array_header`
writes for {'descr', 'fortran_order', 'shape'} -- the exact bytes `np.save`
puts before the payload. "forced" is the version passed to the writer
(null: NumPy chose the oldest version that fits); when NumPy refused the
forced version, "forced_refused" is true and "header_hex" holds the bytes of
its automatic choice instead.

The output depends only on COUNT and SEED (random.Random), so a failing case
can be reproduced by rerunning with the same arguments.
"""

import io
import json
import random
import sys
import warnings

import numpy as np
from numpy.lib import _format_impl as npf

warnings.simplefilter("ignore")  # "Stored array in format 2.0/3.0" warnings

INT_SIZES = [1, 2, 4, 8]
FLOAT_SIZES = [2, 4, 8, 16]
COMPLEX_SIZES = [8, 16, 32]
TIME_UNITS = ["Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as"]

# Characters for field names and titles: quotes and backslashes (repr picks
# the quote and escapes), controls and latin-1 characters repr escapes
# (header stays ASCII), printable latin-1 (raw byte in a 1.0 header), and
# printable non-latin-1 BMP / astral characters (force 3.0), plus a few
# non-latin-1 characters repr escapes (\u2028, \u200b, \ufeff, format
# characters such as \u0890: header stays ASCII, so 1.0 despite the code
# point) and combining marks it keeps (\u0301, variation selector
# \U000e0100). Unassigned code points are left
# out on purpose: see spec/leniency.md on the printability table.
NAME_CHARS = (
    list("abcdefghijklmnopqrstuvwxyzXYZ_0123456789 ,:()[]{}#")
    + ["'", '"', "\\", "\t", "\n", "\r", "\x01", "\x1f", "\x7f"]
    + ["\x80", "\x9f", "\xa0", "\xad", "é", "ÿ", "ß", "±", "µ"]
    + ["日", "本", "Ω", "€", "\u2028", "\u200b", "\ufeff", "😀", "𝄞", "\U000e0001"]
    + ["\u0890", "\U0001d173", "\U000e0100", "\u0301"]
)


def rand_name(rng, used):
    while True:
        n = rng.choice([1, 1, 2, 3, 5, 8])
        if rng.random() < 0.6:
            name = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n))
        else:
            name = "".join(rng.choice(NAME_CHARS) for _ in range(n))
        if name not in used:
            used.add(name)
            return name


def simple_dtype(rng):
    bo = rng.choice("<>")
    k = rng.randrange(12)
    if k == 0:
        return np.dtype("?")
    if k in (1, 2):
        return np.dtype(f"{bo}{rng.choice('iu')}{rng.choice(INT_SIZES)}")
    if k == 3:
        return np.dtype(f"{bo}f{rng.choice(FLOAT_SIZES)}")
    if k == 4:
        return np.dtype(f"{bo}c{rng.choice(COMPLEX_SIZES)}")
    if k == 5:
        return np.dtype(f"S{rng.choice([1, 2, 3, 7, 64, 1000, 123456])}")
    if k == 6:
        return np.dtype(f"{bo}U{rng.choice([1, 2, 5, 17, 1000])}")
    if k == 7:
        return np.dtype(f"V{rng.choice([1, 3, 4, 16, 255])}")
    if k in (8, 9):
        code = rng.choice("Mm")
        r = rng.random()
        if r < 0.1:
            return np.dtype(f"{bo}{code}8")  # generic
        unit = rng.choice(TIME_UNITS)
        mult = rng.choice([1, 1, 1, 2, 10, 25, 1000, 2**31 - 1])
        return np.dtype(f"{bo}{code}8[{'' if mult == 1 else mult}{unit}]")
    if k == 10:
        return np.dtype("O")
    return np.dtype(f"{bo}{rng.choice('iuf')}{rng.choice([4, 8])}")


def sub_shape(rng):
    nd = rng.choice([1, 1, 2, 3])
    return tuple(rng.choice([1, 2, 3, 4, 0]) for _ in range(nd))


def field_dtype(rng, depth):
    r = rng.random()
    if depth < 3 and r < 0.2:
        dt = struct_dtype(rng, depth + 1)
    else:
        dt = simple_dtype(rng)
    if rng.random() < 0.2:
        dt = np.dtype((dt, sub_shape(rng)))
    return dt


def struct_dtype(rng, depth=1):
    nfields = rng.choice([0, 1, 1, 2, 3, 4, 6])
    used = set()
    names = [rand_name(rng, used) for _ in range(nfields)]
    formats = [field_dtype(rng, depth) for _ in range(nfields)]
    titles = None
    if nfields and rng.random() < 0.25:
        titles = []
        for _ in names:
            titles.append(rand_name(rng, used) if rng.random() < 0.5 else None)
    style = rng.random()
    if style < 0.35 or nfields == 0:
        # List form, packed.
        spec = []
        for i, (n, f) in enumerate(zip(names, formats)):
            key = (titles[i], n) if titles and titles[i] is not None else n
            spec.append((key, f))
        return np.dtype(spec)
    if style < 0.6:
        # Dict form with align=True: NumPy inserts padding for alignment.
        d = {"names": names, "formats": formats}
        if titles:
            d["titles"] = titles
        return np.dtype(d, align=True)
    # Dict form with explicit, increasing offsets and a larger itemsize.
    offsets = []
    off = 0
    for f in formats:
        off += rng.choice([0, 0, 1, 3, 8])
        offsets.append(off)
        off += f.itemsize
    d = {
        "names": names,
        "formats": formats,
        "offsets": offsets,
        "itemsize": off + rng.choice([0, 0, 1, 5, 64]),
    }
    if titles:
        d["titles"] = titles
    # A field named '' of a void or subarray type would be read back as
    # padding (by NumPy too), so only non-void types may have that name.
    return np.dtype(d)


def many_fields(rng):
    n = rng.choice([3000, 5000])
    return np.dtype([(f"field_{i:05d}", rng.choice(["<f8", ">i2", "u1"])) for i in range(n)])


def rand_shape(rng, itemsize):
    nd = rng.choice([0, 1, 1, 2, 2, 3, 4, 5, 6])
    dims = []
    for _ in range(nd):
        r = rng.random()
        if r < 0.1:
            dims.append(0)
        elif r < 0.2:
            dims.append(rng.randrange(2**40 - 1000, 2**40 + 1000))
        elif r < 0.25:
            dims.append(rng.randrange(10**12, 10**15))
        else:
            dims.append(rng.choice([1, 2, 3, 7, 10, 99, 100, 1000, 65535, 65536]))
    # Keep itemsize times every non-zero dim within npy_intp, as NumPy
    # requires even of an empty array ("array is too big"): shrink the
    # largest dim until it fits. (For itemsize 0 NumPy checks nothing; we
    # still keep the element count representable.)
    def nbytes():
        p = max(itemsize, 1)
        for d in dims:
            p *= max(d, 1)
        return p
    while nbytes() > 2**63 - 1:
        i = max(range(len(dims)), key=lambda j: dims[j])
        dims[i] = max(1, dims[i] // 1024)
    return tuple(dims)


def to_json(d):
    if isinstance(d, (tuple, list)):
        return [to_json(x) for x in d]
    return d


def case(rng, i):
    r = rng.random()
    if i < 3:
        dt = many_fields(rng)  # headers over 65535 bytes: format 2.0
    elif r < 0.4:
        dt = simple_dtype(rng)
    else:
        dt = struct_dtype(rng)
    shape = rand_shape(rng, dt.itemsize)
    fortran = rng.random() < 0.4
    d = {"descr": npf.dtype_to_descr(dt), "fortran_order": fortran, "shape": shape}
    forced = None
    if rng.random() < 0.1:
        forced = rng.choice([(2, 0), (3, 0)])
    forced_refused = False
    if forced is not None:
        try:
            npf._write_array_header(io.BytesIO(), d, version=forced)
        except ValueError:  # includes UnicodeEncodeError: 2.0 is latin-1 only
            forced_refused = True
    buf = io.BytesIO()
    npf._write_array_header(buf, d, version=None if forced_refused else forced)
    data = buf.getvalue()
    # Cross-check: NumPy's own reader gives back what was written.
    version = (data[6], data[7])
    rd = io.BytesIO(data[8:])
    s, f, back = npf._read_array_header(rd, version, max_header_size=2**31)
    assert s == shape and f == fortran and rd.read() == b"", i
    return {
        "descr": to_json(d["descr"]),
        "shape": list(shape),
        "fortran_order": fortran,
        "version": f"{data[6]}.{data[7]}",
        "forced": None if forced is None else f"{forced[0]}.{forced[1]}",
        "forced_refused": forced_refused,
        "header_hex": data.hex(),
    }


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 20240611
    rng = random.Random(seed)
    out = sys.stdout
    for i in range(count):
        out.write(json.dumps(case(rng, i), ensure_ascii=True) + "\n")


if __name__ == "__main__":
    main()
