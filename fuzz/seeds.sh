#!/usr/bin/env bash
# Builds the seed corpora in fuzz/corpus/<target>/ from testdata/ (the
# corpora themselves are not committed; tests/fuzz_replay.rs replays the same
# inputs on stable). Safe to re-run: it only adds files.
set -euo pipefail
cd "$(dirname "$0")"
td=../testdata
mkdir -p corpus/header corpus/descr corpus/literal corpus/roundtrip corpus/npy corpus/npz corpus/convert

# header and roundtrip: whole .npy files, valid and hostile.
for f in "$td"/npy/*.npy "$td"/hostile/*.npy; do
    cp "$f" corpus/header/
    cp "$f" corpus/roundtrip/
    cp "$f" corpus/npy/
    cp "$f" corpus/convert/
done
# npz: NumPy's archives and the hostile ones.
cp "$td"/npz/*.npz "$td"/hostile/*.npz corpus/npz/

# descr: each fixture's descr as NumPy writes it, as first written and as
# JSON; literal: each fixture's header text.
python3 - "$td" <<'PY'
import ast, json, pathlib, struct, sys
td = pathlib.Path(sys.argv[1])
manifest = json.loads((td / "manifest.json").read_text())
def put(target, name, data):
    p = pathlib.Path("corpus") / target / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
for n, e in enumerate(f for f in manifest["files"] if f["kind"] == "npy"):
    raw = (td / e["path"]).read_bytes()
    pre = 10 if raw[6] == 1 else 12
    hlen = struct.unpack("<H" if raw[6] == 1 else "<I", raw[8:pre])[0]
    text = raw[pre:pre + hlen]
    put("literal", f"{n}", text)
    put("descr", f"{n}-json", json.dumps(e["descr"]))
    if "descr_as_written" in e:
        put("descr", f"{n}-written", json.dumps(e["descr_as_written"]))
    try:
        enc = "utf-8" if raw[6] == 3 else "latin-1"
        header = ast.literal_eval(text.decode(enc))
        put("descr", f"{n}-repr", repr(header["descr"]))
    except (SyntaxError, ValueError, KeyError):
        pass  # Python 2 style headers ("3L"): the JSON form still seeds
PY
for t in header descr literal roundtrip npy npz convert; do
    echo "corpus/$t: $(ls corpus/$t | wc -l) files"
done

# safetensors: files Python's safetensors package writes.
mkdir -p corpus/safetensors
python3 - <<'PY'
import numpy as np
from safetensors.numpy import save_file
save_file({'a': np.arange(2.0), 'b': np.array(1j, dtype='c8'), 'e': np.zeros((0, 5), 'i2'),
           'f': np.array([True, False, True])}, 'corpus/safetensors/mixed.safetensors',
          metadata={'format': 'pt'})
save_file({'w': np.ones((3, 4), 'f2')}, 'corpus/safetensors/f2.safetensors')
PY
