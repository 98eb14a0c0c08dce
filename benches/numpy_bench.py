#!/usr/bin/env python3
"""NumPy's side of npymap's benchmark suite (issue 7), timed in-process.

    numpy_bench.py make-data DIR [--big4]    write the inputs every workload reads
    numpy_bench.py run DIR --json OUT [--only W1,W2,...] [--quick]

The records have the same shape as the Rust harness's (benches/npymap_bench),
so benches/report.py can put both in one table. Times are in seconds.
"""

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

SIDE = 16384
BIG_BYTES = SIDE * SIDE * 4
CHUNK_ROWS = 1024


def make_data(d, big4):
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(7)
    np.save(os.path.join(d, "small_f8.npy"), np.arange(1000, dtype="<f8"))
    fields = np.dtype([(f"f{i}", "<f4") for i in range(1000)])
    np.save(os.path.join(d, "struct_1000.npy"), np.zeros(4, dtype=fields))
    # 1 GiB, written row block by row block so memory stays small.
    big = np.lib.format.open_memmap(
        os.path.join(d, "f32_1g.npy"), mode="w+", dtype="<f4", shape=(SIDE, SIDE)
    )
    for r in range(0, SIDE, CHUNK_ROWS):
        big[r : r + CHUNK_ROWS] = rng.standard_normal((CHUNK_ROWS, SIDE), dtype=np.float32)
    big.flush()
    del big
    # C1 (issue 15): 1 GiB of f8 for the f8 -> f4 cast.
    f8 = np.lib.format.open_memmap(
        os.path.join(d, "f64_1g.npy"), mode="w+", dtype="<f8", shape=(SIDE // 2, SIDE)
    )
    for r in range(0, SIDE // 2, CHUNK_ROWS):
        f8[r : r + CHUNK_ROWS] = rng.standard_normal((CHUNK_ROWS, SIDE))
    f8.flush()
    del f8
    members = {f"arr_{i}": rng.standard_normal(6_250_000) for i in range(10)}
    np.savez(os.path.join(d, "npz_10x50mb.npz"), *members.values())
    make_w9_w10(d)
    if big4:
        make_big4(d, rng)


W9_MEMBERS = 8
W9_ELEMS = (1 << 30) // 4 // W9_MEMBERS  # 8 x 128 MiB of <f4


def w9_array(i):
    """Member i of W9: smooth, quantized floats (a sum of two sines rounded
    to 1/4; deflate makes them about 10x smaller)."""
    x = np.arange(W9_ELEMS, dtype=np.float64)
    a = 100 * np.sin(x / (5000 + 37 * i)) + 10 * np.sin(x / 97.0)
    return (np.round(a * 4) / 4).astype("<f4")


def make_w9_w10(d):
    """W9: w9_0.npy .. w9_7.npy (1 GiB) and the same arrays through
    np.savez_compressed (w9_numpy.npz). W10: np.savez of 10,000 small arrays."""
    arrays = {}
    for i in range(W9_MEMBERS):
        a = w9_array(i)
        np.save(os.path.join(d, f"w9_{i}.npy"), a)
        del a
    for i in range(W9_MEMBERS):
        arrays[f"arr_{i}"] = np.load(os.path.join(d, f"w9_{i}.npy"), mmap_mode="r")
    np.savez_compressed(os.path.join(d, "w9_numpy.npz"), **arrays)
    del arrays
    small = {f"arr_{i}": np.arange(i % 17, dtype="<f8") + i for i in range(10_000)}
    np.savez(os.path.join(d, "w10_10000.npz"), **small)


def make_big4(d, rng=None):
    rng = rng or np.random.default_rng(8)
    side = 2 * SIDE
    big = np.lib.format.open_memmap(
        os.path.join(d, "f32_4g.npy"), mode="w+", dtype="<f4", shape=(side, side)
    )
    for r in range(0, side, CHUNK_ROWS):
        big[r : r + CHUNK_ROWS] = rng.standard_normal((CHUNK_ROWS, side), dtype=np.float32)
    big.flush()
    del big


class Bench:
    def __init__(self, quick):
        self.records = []
        self.quick = quick

    def time(self, wid, case, system, unit, warmup, reps, fn, nbytes=None, note="", role="peer"):
        """fn() returns the seconds one operation took (set-up off the clock)."""
        if self.quick:
            reps, warmup = max(1, -(-reps // 10)), min(warmup, 1)
        samples, error = [], None
        try:
            for i in range(warmup + reps):
                t = fn()
                if i >= warmup:
                    samples.append(t)
        except Exception as e:  # a workload NumPy cannot do is recorded, not fatal
            error = f"{type(e).__name__}: {e}"
        self.push(wid, case, system, unit, samples, error, nbytes, note, "time", role)

    def push(self, wid, case, system, unit, samples, error, nbytes, note, kind, role="peer"):
        rec = {
            "id": wid, "case": case, "system": system, "role": role, "kind": kind,
            "unit": unit, "bytes": nbytes, "n": len(samples),
            "median": statistics.median(samples) if samples and not error else None,
            "min": min(samples) if samples and not error else None,
            "max": max(samples) if samples and not error else None,
            "note": f"could not run: {error}" if error else note,
        }
        shown = rec["note"] if rec["median"] is None else f"{rec['median']:.6f}"
        print(f"  {wid:3} {case[:44]:44} {system[:40]:40} {shown}", file=sys.stderr)
        self.records.append(rec)


def clock(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def rm(p):
    try:
        os.remove(p)
    except FileNotFoundError:
        pass


def w1(b, d):
    p = os.path.join(d, "small_f8.npy")

    def op():
        t = time.perf_counter()
        a = np.load(p, mmap_mode="r")
        x = float(a[500])
        del a
        return time.perf_counter() - t + 0 * x

    b.time("W1", "open 1000 x f8 .npy mapped, parse, typed view, read x[500], close",
           "NumPy (np.load mmap_mode='r')", "us", 300, 3000, op)


def w2_and_stats(b, d, which):
    p = os.path.join(d, "f32_1g.npy")
    np.load(p, mmap_mode="r").sum(dtype=np.float64)  # page cache warm
    cases = {
        "W2": "sum a page-cache-warm 1 GiB f32 file (map each rep)",
        "S": "stats (count, min, max, mean, NaNs) of a warm 1 GiB f32 file",
    }
    for wid in which:
        b.time(wid, cases[wid], "NumPy (np.load mmap + sum(dtype=f64))", "GB/s", 1, 5,
               lambda: clock(lambda: np.load(p, mmap_mode="r").sum(dtype=np.float64)),
               nbytes=BIG_BYTES)
    if "W2" in which:
        b.time("W2", cases["W2"], "NumPy (np.load mmap + sum(), f32 pairwise)", "GB/s", 1, 5,
               lambda: clock(lambda: np.load(p, mmap_mode="r").sum()), nbytes=BIG_BYTES)
        a = np.load(p, mmap_mode="r")
        b.time("W2", "sum a warm 1 GiB f32 file, mapping kept across reps",
               "NumPy (sum(dtype=f64) on one np.load mmap)", "GB/s", 1, 5,
               lambda: clock(lambda: a.sum(dtype=np.float64)), nbytes=BIG_BYTES)
        del a


def w3(b, d):
    a = np.load(os.path.join(d, "f32_1g.npy"))
    out = os.path.join(d, "out_w3.npy")

    def save():
        rm(out)
        t = clock(lambda: np.save(out, a))
        rm(out)
        return t

    def save_fsync():
        rm(out)

        def body():
            with open(out, "wb") as f:
                np.save(f, a)
                f.flush()
                os.fsync(f.fileno())

        t = clock(body)
        rm(out)
        return t

    b.time("W3", "write 1 GiB f32 from memory to a new .npy (page cache)", "NumPy (np.save)",
           "s", 1, 5, save, nbytes=BIG_BYTES)
    b.time("W3", "write 1 GiB f32 from memory to a new .npy, durable (fsync)",
           "NumPy (np.save + os.fsync)", "s", 1, 3, save_fsync, nbytes=BIG_BYTES)


def w4_w5(b, d, which):
    p = os.path.join(d, "f32_1g.npy")
    out = os.path.join(d, "out_w45.npy")

    def rep(fn):
        def op():
            rm(out)
            t = clock(fn)
            rm(out)
            return t
        return op

    if "W4" in which:
        b.time("W4", "byte-swap 1 GiB f32 .npy to a new file (>f4)",
               "NumPy (np.load mmap + astype('>f4') + np.save)", "s", 1, 5,
               rep(lambda: np.save(out, np.load(p, mmap_mode="r").astype(">f4"))),
               nbytes=BIG_BYTES)
    if "W5" in which:
        b.time("W5", "C -> Fortran order, 16384 x 16384 f32 (1 GiB)",
               "NumPy (np.load mmap + asfortranarray + np.save)", "s", 1, 3,
               rep(lambda: np.save(out, np.asfortranarray(np.load(p, mmap_mode="r")))),
               nbytes=BIG_BYTES)


def c1(b, d):
    p = os.path.join(d, "f64_1g.npy")
    out = os.path.join(d, "out_c1.npy")

    def op():
        rm(out)
        t = clock(lambda: np.save(out, np.load(p, mmap_mode="r").astype("<f4")))
        rm(out)
        return t

    b.time("C1", "cast 1 GiB f8 .npy to f4 (--casting same_kind)",
           "NumPy (np.load mmap + astype('<f4') + np.save)", "s", 1, 5, op, nbytes=BIG_BYTES)


def w6(b, d):
    p = os.path.join(d, "f32_4g.npy")
    if not os.path.exists(p):
        print("  W6: f32_4g.npy missing", file=sys.stderr)
        return
    out = os.path.join(d, "out_w6.npy")
    scripts = [
        ("peak RSS, byte-swap a 4 GiB f32 .npy",
         "NumPy (np.load + astype('>f4') + np.save)",
         f"import numpy as np; np.save({out!r}, np.load({p!r}).astype('>f4'))"),
        ("peak RSS, C -> Fortran of a 32768 x 32768 f32 .npy (4 GiB)",
         "NumPy (np.load mmap + asfortranarray + np.save)",
         f"import numpy as np; np.save({out!r}, np.asfortranarray(np.load({p!r}, mmap_mode='r')))"),
    ]
    for case, system, code in scripts:
        rm(out)
        t = time.perf_counter()
        r = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-c", code],
                           capture_output=True, text=True)
        secs = time.perf_counter() - t
        rm(out)
        rss = [float(l.split(":")[1]) * 1024 for l in r.stderr.splitlines()
               if "Maximum resident set size" in l]
        err = None if r.returncode == 0 and rss else f"exit {r.returncode}: {r.stderr[-300:]}"
        b.push("W6", case, system, "MiB", rss, err, None, "", "rss")
        if not err:
            b.push("W6", f"{case} (wall time, 1 run)", system, "s", [secs], None, None, "", "time")


def sl(b, d):
    """SL: NumPy's way to a slice file: mmap, slice, np.save (child process)."""
    p = os.path.join(d, "f32_4g.npy")
    if not os.path.exists(p):
        print("  SL: f32_4g.npy missing", file=sys.stderr)
        return
    out = os.path.join(d, "out_sl.npy")
    for index, case in [
        ("::100", "slice rows ::100 (1% of rows, 42 MB) of a 4 GiB f32 .npy"),
        ("16384:16712", "slice rows 16384:16712 (1% of rows, 42 MB) of a 4 GiB f32 .npy"),
    ]:
        code = f"import numpy as np; np.save({out!r}, np.load({p!r}, mmap_mode='r')[{index}])"
        system = "NumPy (np.load mmap + slice + np.save)"
        rm(out)
        t = time.perf_counter()
        r = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-c", code],
                           capture_output=True, text=True)
        secs = time.perf_counter() - t
        rm(out)
        rss = [float(l.split(":")[1]) * 1024 for l in r.stderr.splitlines()
               if "Maximum resident set size" in l]
        err = None if r.returncode == 0 and rss else f"exit {r.returncode}: {r.stderr[-300:]}"
        b.push("SL", f"peak RSS, {case}", system, "MiB", rss, err, None, "", "rss")
        if not err:
            b.push("SL", f"{case} (wall time, 1 run)", system, "s", [secs], None, None, "", "time")


def w7(b, d):
    p = os.path.join(d, "npz_10x50mb.npz")
    with open(p, "rb") as f:
        f.read()  # page cache warm

    def full():
        t = time.perf_counter()
        with np.load(p) as z:
            a = z["arr_7"]
        t = time.perf_counter() - t
        del a
        return t

    def first():
        t = time.perf_counter()
        with np.load(p, mmap_mode="r") as z:
            x = float(z["arr_7"][0])
        return time.perf_counter() - t + 0 * x

    b.time("W7", "npz: full read of member 7 (50 MB f8) into memory", "NumPy (np.load(npz)['arr_7'])",
           "ms", 3, 30, full, nbytes=50_000_000)
    b.time("W7", "npz: first element of member 7", "NumPy (np.load(npz)['arr_7'][0])", "us",
           3, 30, first, note="NumPy reads the whole member (mmap_mode is ignored for .npz)")


def w8(b, d):
    cases = [
        ("parse a simple header ({'descr': '<f8', ..., 'shape': (1000,)})", "small_f8.npy", 1000),
        ("parse a 1000-field structured header", "struct_1000.npy", 10),
    ]
    for case, name, batch in cases:
        with open(os.path.join(d, name), "rb") as f:
            raw = f.read()
        hlen = int.from_bytes(raw[8:10], "little")
        head = raw[: 10 + hlen]

        def op(head=head, batch=batch):
            t = time.perf_counter()
            for _ in range(batch):
                f = io.BytesIO(head)
                np.lib.format.read_magic(f)
                np.lib.format.read_array_header_1_0(f, max_header_size=1 << 24)
            return (time.perf_counter() - t) / batch

        b.time("W8", case, "NumPy (read_magic + read_array_header_1_0)", "headers/s", 30, 300, op)


def w9(b, d):
    """np.savez_compressed of the 8 W9 arrays (held in memory, loaded
    untimed) and np.load of every member of the archive it writes."""
    arrays = {f"arr_{i}": np.load(os.path.join(d, f"w9_{i}.npy")) for i in range(W9_MEMBERS)}
    out = os.path.join(d, "out_w9.npz")

    def save():
        rm(out)
        t = clock(lambda: np.savez_compressed(out, **arrays))
        rm(out)
        return t

    b.time("W9", "pack --compress 1 GiB in 8 <f4 members (.npy files -> .npz)",
           "NumPy (np.savez_compressed of the arrays in memory)", "s", 0, 3, save,
           nbytes=1 << 30, note="NumPy's arrays are already in memory; npymap reads the .npy files")
    del arrays
    p = os.path.join(d, "w9_numpy.npz")
    with open(p, "rb") as f:
        f.read()  # page cache warm

    def load_all():
        t = time.perf_counter()
        with np.load(p) as z:
            got = [z[k] for k in z.files]
        t = time.perf_counter() - t
        del got
        return t

    b.time("W9", "read back every member of W9's archive (np.savez_compressed, 1 GiB)",
           "NumPy (np.load(npz)[k] for every k)", "s", 1, 3, load_all, nbytes=1 << 30)


def w10(b, d):
    """The member list and every member's header of a 10,000-member npz."""
    p = os.path.join(d, "w10_10000.npz")
    with open(p, "rb") as f:
        f.read()

    def headers():
        t = time.perf_counter()
        with np.load(p) as z:
            n = 0
            for k in z.files:
                with z.zip.open(k + ".npy") as f:
                    version = np.lib.format.read_magic(f)
                    if version == (1, 0):
                        np.lib.format.read_array_header_1_0(f, max_header_size=1 << 24)
                    else:
                        np.lib.format.read_array_header_2_0(f, max_header_size=1 << 24)
                n += 1
        return time.perf_counter() - t + 0 * n

    def files():
        t = time.perf_counter()
        with np.load(p) as z:
            n = len(z.files)
        return time.perf_counter() - t + 0 * n

    b.time("W10", "info of a 10,000-member .npz (every member's header)",
           "NumPy (np.load(npz).files + read_magic + header of each)", "ms", 1, 10, headers)
    b.time("W10", "info of a 10,000-member .npz (every member's header)",
           "NumPy (np.load(npz).files only: no header read)", "ms", 1, 10, files,
           role="reference")


def run(args):
    only = args.only.split(",") if args.only else ["W1", "W2", "S", "W3", "W4", "W5", "W6", "W7", "W8", "C1"]
    b = Bench(args.quick)
    d = args.dir
    for w in only:
        print(f"{w}:", file=sys.stderr)
        if w == "W1":
            w1(b, d)
        elif w == "W2":
            w2_and_stats(b, d, ["W2"])
        elif w == "S":
            w2_and_stats(b, d, ["S"])
        elif w == "W3":
            w3(b, d)
        elif w in ("W4", "W5"):
            w4_w5(b, d, [w])
        elif w == "W6":
            w6(b, d)
        elif w == "W7":
            w7(b, d)
        elif w == "W8":
            w8(b, d)
        elif w == "C1":
            c1(b, d)
        elif w == "SL":
            sl(b, d)
        elif w == "W9":
            w9(b, d)
        elif w == "W10":
            w10(b, d)
    with open(args.json, "w") as f:
        json.dump(b.records, f, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make-data")
    m.add_argument("dir")
    m.add_argument("--big4", action="store_true", help="only write the 4 GiB W6 input")
    r = sub.add_parser("run")
    r.add_argument("dir")
    r.add_argument("--json", required=True)
    r.add_argument("--only")
    r.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.cmd == "make-data":
        if args.big4:
            make_big4(args.dir)
        else:
            make_data(args.dir, False)
    else:
        run(args)


if __name__ == "__main__":
    main()
