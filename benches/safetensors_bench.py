"""Workload ST (issue 15): a 1 GiB .npz to .safetensors, one run.

    python3 benches/safetensors_bench.py DATA_DIR target/release/npymap

Writes a stored (uncompressed) 1 GiB .npz with np.savez: 8 float32 arrays
`w0`..`w7` of 32 Mi elements each (arange-based values, little-endian,
C order). Then times, once each and in this order: Python as a user would
write it (np.load of the archive, every member read into a dict, then
safetensors.numpy.save_file of that dict), `npymap --no-sync convert
IN.npz OUT.safetensors` (the CLI), and `cp` of the .safetensors Python
wrote (the floor: writing that many bytes). Checks that both outputs load
with safetensors.numpy.load_file to equal arrays, says whether the two
files are byte-identical, prints one JSON object of seconds, sizes and the
ratios npymap/python and npymap/floor, and deletes the files it made. The
rows of BENCHMARKS.md's section ST are edited by hand from that object.
"""
import filecmp
import json
import os
import subprocess
import sys
import time

import numpy as np
from safetensors.numpy import load_file, save_file

N_ARRAYS = 8
N_ELEMS = 32 * 1024 * 1024  # float32: 128 MiB per array, 1 GiB in all


def timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def python_convert(npz, out):
    with np.load(npz) as z:
        tensors = {k: z[k] for k in z.files}
    save_file(tensors, out)


def main():
    d, exe = sys.argv[1], sys.argv[2]
    os.makedirs(d, exist_ok=True)
    npz, out_py, out_rs, out_cp = (f"{d}/{n}" for n in ("weights.npz", "py.safetensors", "rs.safetensors", "cp.safetensors"))
    try:
        base = np.arange(N_ELEMS, dtype="<f4")
        np.savez(npz, **{f"w{i}": base + np.float32(i) for i in range(N_ARRAYS)})
        del base
        res = {
            "python_save_file": timed(lambda: python_convert(npz, out_py)),
            "npymap_convert": timed(
                lambda: subprocess.run([exe, "--no-sync", "convert", npz, out_rs], check=True)
            ),
            "floor_cp": timed(lambda: subprocess.run(["cp", out_py, out_cp], check=True)),
        }
        py, rs = load_file(out_py), load_file(out_rs)
        res["equal_arrays"] = sorted(py) == sorted(rs) and all(
            py[k].dtype == rs[k].dtype and py[k].shape == rs[k].shape and np.array_equal(py[k], rs[k]) for k in py
        )
        del py, rs
        res["byte_identical"] = filecmp.cmp(out_py, out_rs, shallow=False)
        res["npz_bytes"] = os.path.getsize(npz)
        res["py_safetensors_bytes"] = os.path.getsize(out_py)
        res["rs_safetensors_bytes"] = os.path.getsize(out_rs)
        res["npymap_over_python"] = res["npymap_convert"] / res["python_save_file"]
        res["npymap_over_floor"] = res["npymap_convert"] / res["floor_cp"]
        print(json.dumps(res))
    finally:
        for p in (npz, out_py, out_rs, out_cp):
            if os.path.exists(p):
                os.remove(p)


if __name__ == "__main__":
    main()
