#!/usr/bin/env python3
"""Writes BENCHMARKS.md from the JSON records of the Rust harness and the
NumPy script (benches/run.sh calls this; it measures nothing itself).

    report.py --out BENCHMARKS.md --command "bash benches/run.sh" rust.json numpy.json ...
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess

ORDER = ["W1", "W2", "S", "W3", "W4", "W5", "W6", "W7", "W8", "C1", "SL", "W9", "W10"]
TITLES = {
    "W1": "W1 open latency",
    "W2": "W2 scan",
    "S": "S `stats` (issue 4)",
    "W3": "W3 write",
    "W4": "W4 byte-swap conversion (issue 3)",
    "W5": "W5 C -> Fortran conversion (issue 3)",
    "W6": "W6 peak RSS of a conversion (issue 5)",
    "W7": "W7 npz member",
    "W8": "W8 header parse throughput",
    "C1": "C1 f8 -> f4 cast (issue 15)",
    "SL": "SL `slice` of 1% of rows of a 4 GiB file (issue 15)",
    "W9": "W9 compressed npz write and read back (issue 16)",
    "W10": "W10 list a 10,000-member npz (issue 16)",
}
SCALE = {"us": 1e6, "ms": 1e3, "s": 1.0}


def shown(rec, x):
    """A stored number (seconds, or bytes for rss) in the record's unit."""
    u = rec["unit"]
    if u in SCALE:
        return x * SCALE[u]
    if u == "GB/s":
        return rec["bytes"] / x / 1e9
    if u == "headers/s":
        return 1.0 / x
    if u == "MiB":
        return x / 1048576
    return x


def fmt(v):
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e4:
        return f"{v / 1e3:.0f}k"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def cell(rec):
    if rec["median"] is None:
        return "n/a"
    m = shown(rec, rec["median"])
    if rec["n"] <= 1:
        return fmt(m)
    a, b = sorted([shown(rec, rec["min"]), shown(rec, rec["max"])])
    return f"{fmt(m)} ({fmt(a)}–{fmt(b)})"


def ratio(rec, ref):
    if rec is None or ref is None or rec["median"] is None or ref["median"] is None:
        return None
    return rec["median"] / ref["median"]


def rtext(r):
    return "–" if r is None else f"{r:.2f}x"


def cases(records):
    """(id, case) groups in first-seen order."""
    seen = {}
    for r in records:
        seen.setdefault((r["id"], r["case"]), []).append(r)
    return seen


def pick(group, role=None, prefix=None):
    for r in group:
        if (role is None or r["role"] == role) and (prefix is None or r["system"].startswith(prefix)):
            return r
    return None


def machine():
    def sh(cmd):
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "?"

    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    return {
        "CPU": f"{cpu}, {os.cpu_count()} cores",
        "Memory": mem,
        "OS": f"{platform.system()} {platform.release()}",
        "Rust": sh("rustc --version"),
        "Python / NumPy": f"{platform.python_version()} / " + sh("python3 -c 'import numpy; print(numpy.__version__)'"),
        "Peers (Cargo.lock)": ", ".join(
            f"{n} {v}" for n, v in lock_versions(["ndarray-npy", "npyz", "ferray-io", "safetensors", "memmap2"])
        ),
        "Data directory filesystem": sh("df -T target 2>/dev/null | awk 'NR==2 {print $2}'") or "?",
    }


def lock_versions(names):
    try:
        text = open("Cargo.lock").read()
    except OSError:
        return []
    out = []
    for n in names:
        m = re.search(r'name = "' + re.escape(n) + r'"\nversion = "([^"]+)"', text)
        out.append((n, m.group(1) if m else "?"))
    return out


def target_rows(groups):
    """(workload, target, measured, verdict) for every target of issue 7."""
    def g(wid, case_prefix):
        for (i, c), rows in groups.items():
            if i == wid and c.startswith(case_prefix):
                return rows
        return []

    rows = []

    def add(wid, target, value, ok):
        verdict = "n/a" if ok is None else ("met" if ok else "**missed**")
        rows.append((wid, target, value, verdict))

    def vs_floor(wid, case_prefix, subject_prefix, target, limit, speed=False, floor=None):
        grp = g(wid, case_prefix)
        r = ratio(pick(grp, prefix=subject_prefix), pick(grp, role="floor", prefix=floor))
        if r is None:
            return add(wid, target, "not measured", None)
        if speed:
            add(wid, target, f"{1 / r:.3f}x floor throughput ({subject_prefix})", 1 / r >= limit)
        else:
            add(wid, target, f"{r:.3f}x floor time ({subject_prefix})", r <= limit)

    vs_floor("W1", "open", "npymap (NpyMap::open + as_slice)", "<= 1.2x floor", 1.2)
    vs_floor("W2", "sum", "npymap (NpyMap + as_slice", ">= 0.95x floor", 0.95, speed=True)
    vs_floor("W2", "sum", "npymap (NpyMap + elements", ">= 0.95x floor (element view)", 0.95, speed=True)
    grp = g("W3", "write 1 GiB f32 from memory to a new .npy (page")
    r = ratio(pick(grp, prefix="npymap (NpyWriter"), pick(grp, prefix="NumPy"))
    add("W3", "no slower than NumPy's np.save", "not measured" if r is None else f"{r:.3f}x NumPy time", None if r is None else r <= 1.0)
    # Path to path, like for like: `npy::save` reserves the file's blocks as
    # np.save does; a generic `Write` sink (the row above) cannot.
    r = ratio(pick(grp, prefix="npymap (npy::save:"), pick(grp, prefix="NumPy"))
    add("W3", "npy::save no slower than np.save (path to path)", "not measured" if r is None else f"{r:.3f}x NumPy time", None if r is None else r <= 1.0)
    vs_floor("W4", "byte-swap", "npymap CLI", "<= 1.15x floor", 1.15)
    vs_floor("W4", "byte-swap", "npymap library", "<= 1.15x floor (library, mapped input)", 1.15)
    vs_floor("W5", "C -> Fortran", "npymap CLI", "<= 1.3x floor", 1.3)
    vs_floor("W5", "C -> Fortran", "npymap library", "<= 1.3x floor (library, mapped input)", 1.3)
    for case in ("peak RSS, byte-swap", "peak RSS, C -> Fortran"):
        rec = pick([r for r in g("W6", case) if r["kind"] == "rss"], prefix="npymap CLI")
        if rec is None or rec["median"] is None:
            add("W6", f"<= 64 MiB ({case[10:]})", "not measured", None)
        else:
            mib = rec["median"] / 1048576
            add("W6", f"<= 64 MiB ({case[10:]})", f"{mib:.0f} MiB", mib <= 64)
    vs_floor("W7", "npz: full", "npymap (NpzReader::read_array", "typed read <= 1.1x floor (CRC checked)", 1.1)
    vs_floor("W7", "npz: full", "npymap (mmap", "full read <= 1.2x floor (mapped, no CRC)", 1.2)
    rec = pick(g("W7", "npz: first"), prefix="npymap")
    if rec is None or rec["median"] is None:
        add("W7", "first element in microseconds", "not measured", None)
    else:
        add("W7", "first element in microseconds", f"{rec['median'] * 1e6:.0f} us", rec["median"] < 1e-3)
    for case in ("parse a simple", "parse a 1000-field"):
        grp = g("W8", case)
        me = pick(grp, prefix="npymap")
        peers = [r for r in grp if r["role"] == "peer" and r["median"] is not None
                 and not r["system"].startswith(("safetensors", "NumPy"))]
        if me is None or me["median"] is None or not peers:
            add("W8", f">= 5x best peer ({case[6:]})", "not measured", None)
            continue
        best = min(peers, key=lambda r: r["median"])
        x = best["median"] / me["median"]
        add("W8", f">= 5x best peer ({case[6:]})", f"{x:.1f}x {best['system'].split(' ')[0]}", x >= 5)
    vs_floor("C1", "cast", "npymap CLI", "<= 1.2x W4 floor", 1.2)
    vs_floor("C1", "cast", "npymap library", "<= 1.2x W4 floor (library, mapped input)", 1.2)
    vs_floor("S", "stats", "npymap CLI", ">= 0.8x floor", 0.8, speed=True)
    vs_floor("S", "stats", "npymap library", ">= 0.8x floor (library, mapped input)", 0.8, speed=True)
    for case in ("slice rows ::100", "slice rows 16384:16712"):
        grp = [r for r in g("SL", case) if r["kind"] == "time"]
        r = ratio(pick(grp, prefix="npymap CLI"), pick(grp, prefix="NumPy"))
        add("SL", f"no slower than NumPy ({case[11:]})", "not measured" if r is None else f"{r:.3f}x NumPy time", None if r is None else r <= 1.0)
        rec = pick([x for x in g("SL", "peak RSS, " + case) if x["kind"] == "rss"], prefix="npymap CLI")
        if rec is None or rec["median"] is None:
            add("SL", f"<= 64 MiB ({case[11:]})", "not measured", None)
        else:
            mib = rec["median"] / 1048576
            add("SL", f"<= 64 MiB ({case[11:]})", f"{mib:.0f} MiB", mib <= 64)

    # Issue 16: performance to the floor.
    i16 = " (issue 16)"
    vs_floor("W1", "open", "npymap (NpyMap::open + as_slice)", "<= 1.1x floor" + i16, 1.1)
    vs_floor("W2", "sum a page-cache-warm", "npymap (NpyMap + elements for_each_block",
             ">= 0.8x floor, native via the bulk API" + i16, 0.8, speed=True)
    for label in ("big-endian", "misaligned"):
        vs_floor("W2", "sum 256 MiB", f"npymap (elements for_each_block, {label}",
                 f">= 0.8x native slice, {label} via the bulk API" + i16, 0.8, speed=True)
    # S (stats >= 0.8x floor, CLI and library) is issue 4's target above, unchanged.
    vs_floor("W3", "write 1 GiB f32 from memory to a new .npy (page", "npymap (npy::save",
             "npy::save <= 1.05x fs::write" + i16, 1.05)
    vs_floor("W3", "write 1 GiB f32 from memory to a new .npy, durable", "npymap (npy::save_durable",
             "npy::save_durable <= 1.05x fs::write + fsync" + i16, 1.05)
    vs_floor("W7", "npz: full", "npymap (NpzReader::read_array",
             "typed read <= 1.1x copy into a plain Vec, CRC checked" + i16, 1.1)
    vs_floor("W7", "npz: full", "npymap (NpzReader::read_array",
             "typed read <= 1.1x copy into a huge-page Vec, CRC checked (the physical floor; goal set here)" + i16,
             1.1, floor="floor: mmap + copy the member's bytes into a huge-page")
    vs_floor("W5", "C -> Fortran", "npymap CLI", "<= 1.2x floor, CLI" + i16, 1.2)
    vs_floor("W5", "C -> Fortran", "npymap library", "<= 1.2x floor, library" + i16, 1.2)
    for case, limit_us in (("parse a 1000-field", 50.0), ("parse a simple", 0.2)):
        rec = pick(g("W8", case), prefix="npymap")
        target = f"{case[6:]} header <= {limit_us:g} us" + i16
        if rec is None or not rec["median"]:
            add("W8", target, "not measured", None)
        else:
            us = rec["median"] * 1e6  # stored as seconds per header
            add("W8", target, f"{us:.3g} us median", us <= limit_us)

    def vs_numpy(wid, case_prefix, subject_prefix, target, speedup):
        grp = g(wid, case_prefix)
        r = ratio(pick(grp, prefix=subject_prefix), pick(grp, prefix="NumPy"))
        if r is None:
            return add(wid, target, "not measured", None)
        add(wid, target, f"{1 / r:.2f}x faster than NumPy ({subject_prefix})", 1 / r >= speedup)

    vs_numpy("W9", "pack --compress", "npymap CLI", ">= 2x NumPy's np.savez_compressed" + i16, 2.0)
    vs_numpy("W9", "read back", "npymap (NpzMap", ">= 1.5x NumPy's np.load" + i16, 1.5)
    vs_numpy("W10", "info of a 10,000", "npymap CLI (info)",
             "no slower than NumPy's files + every header (goal set here; the issue names none)", 1.0)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("json", nargs="+")
    args = ap.parse_args()
    records = []
    for p in args.json:
        if os.path.exists(p):
            with open(p) as f:
                records += json.load(f)
    groups = cases(records)
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    lines = [
        "# npymap benchmarks",
        "",
        "Generated by `benches/report.py`; do not edit by hand. Every number below comes from",
        "one run on one machine: the Rust harness (`benches/npymap_bench.rs`: npymap, the Rust peers",
        "and the floors in one process) and `benches/numpy_bench.py` (NumPy in-process), on the same",
        "files. Quote ratios, not absolute numbers: the machine is shared and noisy.",
        "",
        f"- Date: {now}",
        f"- Command: `{args.command}`",
    ]
    lines += [f"- {k}: {v}" for k, v in machine().items()]
    lines += [
        "",
        "Columns: median (min–max) over the repetitions, in the unit shown; `x floor` and",
        "`x npymap` are **cost** ratios (time, or memory for RSS) against the workload's floor and",
        "against npymap's first row: 1.00x is equal, 2.00x takes twice as long. For throughput",
        "units (GB/s, headers/s) the cost ratio is the inverse of the throughput ratio.",
        "",
        "## Targets",
        "",
        "| workload | target | measured | verdict |",
        "|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in target_rows(groups)]
    for wid in ORDER:
        mine = [(c, rows) for (i, c), rows in groups.items() if i == wid]
        if not mine:
            continue
        lines += ["", f"## {TITLES[wid]}"]
        for case, rows in mine:
            floor = pick(rows, role="floor")
            subject = pick(rows, role="subject")
            lines += ["", f"**{case}**", "", "| system | median (min–max) | unit | x floor | x npymap | n | note |",
                      "|---|---|---|---|---|---|---|"]
            for r in rows:
                lines.append(
                    f"| {r['system']} | {cell(r)} | {r['unit']} | {rtext(ratio(r, floor))} | "
                    f"{rtext(ratio(r, subject))} | {r['n']} | {r['note']} |"
                )
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
