"""NumPy's side of the remote benchmarks W11-W13 (issue 14), and the data.

    python3 benches/remote_bench.py make-data DIR [--w11-rows N] [--big4]
    python3 benches/remote_bench.py run DIR --s3 ENDPOINT --http BASE \
        [--s3fs-server ENDPOINT] [--only W11,W12,W13] [--json OUT] [--reps N]

`bash benches/remote_run.sh` does both, with the servers. NumPy reads
objects through fsspec: `s3fs` for S3, fsspec's HTTP filesystem (aiohttp)
for nginx. s3fs is a BENCHMARK-ONLY dependency, not one of npymap's nor of
its tests: remote_run.sh installs it with `pip install --target` into a
private directory (it pins a botocore that the machine's boto3/awscli may
not accept) and puts that on PYTHONPATH for this script alone.

W11: rows 1,000,000..1,010,000 of an (N, 256) <f4 object: `np.load` of the
whole object, the best an fsspec file allows (header parse, seek, read of
exactly the rows), and the floor (one raw ranged GET, `fs.cat_file`).
W12: `np.load(fsspec file).files` plus every member's header read through
the zip member. W13: `np.load` of a 1 GiB .npy over HTTP, and 8 concurrent
raw ranged GETs (`fs.cat_ranges`).
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

BUCKET = "npymap-bench"
W11_ROWS = (1_000_000, 1_010_000)


def make_data(d, w11_rows, big4):
    os.makedirs(d, exist_ok=True)
    chunk = 1 << 16

    def write_f4(path, rows):
        # Row i holds i * 256 + column, as float32: written in chunks so
        # memory stays small.
        mm = np.lib.format.open_memmap(path, mode="w+", dtype="<f4", shape=(rows, 256))
        for s in range(0, rows, chunk):
            e = min(rows, s + chunk)
            mm[s:e] = (np.arange(s, e, dtype=np.float64)[:, None] * 256 + np.arange(256)).astype("<f4")
        mm.flush()
        del mm

    write_f4(os.path.join(d, "w11.npy"), w11_rows)
    if big4:
        write_f4(os.path.join(d, "w11_4g.npy"), 4 << 20)  # 4 GiB
    # W13: 1 GiB of <f4 (2**28 elements).
    write_f4(os.path.join(d, "w13.npy"), 1 << 20)
    # W12: 1,000 small members of mixed dtypes and shapes, as in tests/remote.rs.
    dts = ["<f4", ">i8", "|u1", "<c16", "|b1", "<U3", "<M8[s]", ">f2"]
    shapes = [lambda i: (i % 7 + 1, 16), lambda i: (i % 5, 3), lambda i: (), lambda i: (2, i % 4, 1)]
    arrs = {"m%04d" % i: np.ones(shapes[i % 4](i), dtype=dts[i % len(dts)]) for i in range(1000)}
    np.savez(os.path.join(d, "w12.npz"), **arrs)


def read_header(f):
    """NumPy's own header parse on a file object: (shape, fortran, dtype)."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(f)
    return np.lib.format.read_array_header_2_0(f)


def timed(reps, fn):
    fn()
    runs = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return runs


def row(wid, server, case, system, runs, needed):
    r = {
        "id": wid,
        "server": server,
        "case": case,
        "system": system,
        "median": statistics.median(runs),
        "min": min(runs),
        "max": max(runs),
        "n": len(runs),
        "requests": None,
        "bytes": None,
        "needed": needed,
    }
    print(
        f"{wid} [{server}] {system}: median {r['median'] * 1e3:.2f} ms "
        f"(min {r['min'] * 1e3:.2f}, max {r['max'] * 1e3:.2f}, n {r['n']})",
        file=sys.stderr,
    )
    return r


def s3(endpoint):
    import s3fs

    return s3fs.S3FileSystem(
        key="test",
        secret="testtesttest",
        client_kwargs={"endpoint_url": endpoint, "region_name": "us-east-1"},
        skip_instance_cache=True,
    )


def w11(server, endpoint, key, reps, whole):
    fs = s3(endpoint)
    path = f"{BUCKET}/{key}"
    case = "rows 1,000,000..1,010,000 of (N, 256) <f4"
    a, b = W11_ROWS
    needed = (b - a) * 1024
    out = []
    want = (np.arange(a, b, dtype=np.float64)[:, None] * 256 + np.arange(256)).astype("<f4")

    def best():
        with fs.open(path, "rb") as f:
            shape, fortran, dtype = read_header(f)
            assert not fortran and shape[1] == 256 and dtype == np.dtype("<f4")
            f.seek(f.tell() + a * 1024)
            rows = np.frombuffer(f.read(needed), dtype=dtype).reshape(-1, 256)
        assert np.array_equal(rows, want)

    def best_nocache():
        # The same, with fsspec's read-ahead cache off: each read is one
        # GET of exactly its bytes.
        with fs.open(path, "rb", cache_type="none") as f:
            shape, fortran, dtype = read_header(f)
            f.seek(f.tell() + a * 1024)
            rows = np.frombuffer(f.read(needed), dtype=dtype).reshape(-1, 256)
        assert np.array_equal(rows, want)

    def load_whole():
        with fs.open(path, "rb") as f:
            arr = np.load(f)
        assert np.array_equal(arr[a:b], want)

    def floor():
        with fs.open(path, "rb", cache_type="none") as f:
            read_header(f)
            off = f.tell()
        t = time.perf_counter()
        got = fs.cat_file(path, start=off + a * 1024, end=off + b * 1024)
        assert len(got) == needed
        return time.perf_counter() - t

    out.append(row("W11", server, case, "NumPy + s3fs: header, seek, read (default cache)", timed(reps, best), needed))
    out.append(row("W11", server, case, "NumPy + s3fs: header, seek, read (cache_type=none)", timed(reps, best_nocache), needed))
    floor()
    out.append(row("W11", server, case, "floor (s3fs): 1 raw ranged GET (cat_file)", [floor() for _ in range(reps)], needed))
    if whole:
        out.append(row("W11", server, case, "NumPy + s3fs: np.load of the whole object", timed(max(1, reps // 2), load_whole), needed))
    return out


def w12(endpoint, reps):
    fs = s3(endpoint)
    path = f"{BUCKET}/w12.npz"

    def listing():
        with fs.open(path, "rb") as f:
            z = np.load(f)
            files = z.files
            seen = 0
            for name in z.zip.namelist():
                with z.zip.open(name) as m:
                    shape, fortran, dtype = read_header(m)
                    seen += 1
            assert seen == len(files) == 1000
            z.close()

    return [row("W12", "moto", "list 1,000-member .npz: dtype + shape of every member",
                "NumPy + s3fs: np.load(f).files + every member's header", timed(reps, listing), 0)]


def w13(base, reps):
    import fsspec

    fs = fsspec.filesystem("http", skip_instance_cache=True)
    url = f"{base}/w13.npy"
    case = "full read of a 1 GiB <f4 .npy, concurrency 8"
    size = fs.size(url)
    with fs.open(url, "rb") as f:
        shape, _, dtype = read_header(f)
        off = f.tell()
    needed = size - off

    def load_whole():
        with fs.open(url, "rb") as f:
            arr = np.load(f)
        assert arr.shape == shape

    def floor():
        part = -(-needed // 8)
        starts = [off + i * part for i in range(8)]
        ends = [min(size, s + part) for s in starts]
        got = fs.cat_ranges([url] * 8, starts, ends)
        assert sum(len(g) for g in got) == needed

    return [
        row("W13", "nginx", case, "NumPy + fsspec HTTP: np.load of the object", timed(max(1, reps // 2), load_whole), needed),
        row("W13", "nginx", case, "floor (fsspec): 8 concurrent raw ranged GETs (cat_ranges)", timed(reps, floor), needed),
    ]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["make-data", "run"])
    p.add_argument("dir")
    p.add_argument("--w11-rows", type=int, default=1 << 20)
    p.add_argument("--big4", action="store_true")
    p.add_argument("--s3")
    p.add_argument("--s3fs-server")
    p.add_argument("--http")
    p.add_argument("--only", default="W11,W12,W13")
    p.add_argument("--json")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--w11-on", default="moto,s3s-fs")
    a = p.parse_args()
    if a.cmd == "make-data":
        make_data(a.dir, a.w11_rows, a.big4)
        return
    rows = []
    for w in a.only.split(","):
        if w == "W11":
            if "moto" in a.w11_on:
                rows += w11("moto", a.s3, "w11.npy", a.reps, whole=True)
            if a.s3fs_server and "s3s-fs" in a.w11_on:
                rows += w11("s3s-fs", a.s3fs_server, "w11_4g.npy", a.reps, whole=False)
        elif w == "W12":
            rows += w12(a.s3, a.reps)
        elif w == "W13":
            rows += w13(a.http, a.reps)
        else:
            sys.exit(f"unknown workload {w}")
    text = json.dumps(rows, indent=2)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
