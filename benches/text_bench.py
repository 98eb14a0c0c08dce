"""Workload T (issue 15 item 4): 100 MB of float64 .npy to text, one run.

    python3 benches/text_bench.py DATA_DIR target/release/npymap

Writes a (1_250_000, 10) float64 .npy (100 MB; normal values scaled by
10**-5..10**5), then times, once each and in this order: np.savetxt with
the default fmt, `npymap to-text` (the CLI, --no-sync), `cp` of the text
NumPy wrote (the floor: writing that many bytes), then the same pair with
`--fmt %.6f --delimiter ,`. Checks both outputs are byte-identical to
NumPy's and prints one JSON object of seconds and sizes. The rows of
BENCHMARKS.md's section T are edited by hand from that object.
"""
import filecmp
import json
import os
import subprocess
import sys
import time

import numpy as np


def timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def main():
    d, exe = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(7)
    shape = (1_250_000, 10)
    a = rng.standard_normal(shape) * 10.0 ** rng.integers(-5, 6, shape)
    np.save(f"{d}/in.npy", a)
    cli = lambda *args: subprocess.run([exe, "--no-sync", "to-text", f"{d}/in.npy", *args], check=True)
    res = {
        "numpy_default": timed(lambda: np.savetxt(f"{d}/np.txt", a)),
        "npymap_default": timed(lambda: cli(f"{d}/rs.txt")),
        "floor_cp": timed(lambda: subprocess.run(["cp", f"{d}/np.txt", f"{d}/cp.txt"], check=True)),
        "numpy_csv_6f": timed(lambda: np.savetxt(f"{d}/np6.txt", a, fmt="%.6f", delimiter=",")),
        "npymap_csv_6f": timed(lambda: cli(f"{d}/rs6.txt", "--fmt", "%.6f", "--delimiter", ",")),
    }
    res["identical"] = filecmp.cmp(f"{d}/np.txt", f"{d}/rs.txt", shallow=False) and filecmp.cmp(
        f"{d}/np6.txt", f"{d}/rs6.txt", shallow=False
    )
    res["npy_bytes"] = os.path.getsize(f"{d}/in.npy")
    res["text_bytes"] = os.path.getsize(f"{d}/np.txt")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
