#!/usr/bin/env bash
# The remote benchmarks W11-W13 (issue 14): npymap (benches/remote_bench.rs)
# and NumPy through s3fs/fsspec (benches/remote_bench.py) against servers on
# 127.0.0.1 started here and stopped on exit.
#
#   bash benches/remote_run.sh                 # W11, W12, W13
#   ONLY=W11 REPS=3 bash benches/remote_run.sh
#   SIDES=numpy bash benches/remote_run.sh     # one side only (rust or numpy)
#   S3S_FS=/path/to/s3s-fs bash benches/remote_run.sh   # + W11 on a 4 GiB object on s3s-fs
#
# Servers: moto's S3 server (PyPI moto[server], keeps objects in temp files
# and reads the whole object on every ranged GET), nginx (Debian nginx-light,
# serves Range from disk) and, when S3S_FS names its binary, s3s-fs
# (`cargo install s3s-fs --version 0.14.1 --locked --features binary`, an S3
# server that serves ranges from files; the 4 GiB object is uploaded to it
# once and kept under $DATA/s3s-root). s3fs is a benchmark-only dependency:
# installed here with `pip install --target` into target/remote-bench-py,
# on PYTHONPATH for remote_bench.py alone.
#
# Data (~2.2 GB, ~11 GB with S3S_FS) goes to target/remote-bench-data and
# stays for re-runs; results to target/remote-bench-results/*.json. The
# rows in BENCHMARKS.md are copied from there by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

ONLY="${ONLY:-W11,W12,W13}"
REPS="${REPS:-5}"
SIDES="${SIDES:-rust,numpy}"   # SIDES=numpy: NumPy and its floors only
W11_ON="${W11_ON:-moto,s3s-fs}" # W11_ON=s3s-fs: skip the 1 GiB upload to moto
DATA="${DATA:-$PWD/target/remote-bench-data}"
RESULTS="$PWD/target/remote-bench-results"
PYDEPS="${PYDEPS:-$PWD/target/remote-bench-py}"
RUN="$(mktemp -d /tmp/npymap-remote-bench.XXXXXX)"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$RUN"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.2
    done
    echo "server on port $1 did not start" >&2
    exit 1
}

[[ -d "$PYDEPS/s3fs" ]] || pip install -q --target "$PYDEPS" s3fs
mkdir -p "$DATA" "$RESULTS"
if [[ ! -e "$DATA/w12.npz" || ( -n "${S3S_FS:-}" && ! -e "$DATA/w11_4g.npy" ) ]]; then
    python3 benches/remote_bench.py make-data "$DATA" ${S3S_FS:+--big4}
fi

# moto
S3_PORT=$(free_port)
python3 -m moto.server -H 127.0.0.1 -p "$S3_PORT" >"$RUN/moto.log" 2>&1 &
PIDS+=($!)
# nginx, serving $DATA
HTTP_PORT=$(free_port)
mkdir -p "$RUN/tmp"
cat >"$RUN/nginx.conf" <<EOF
daemon off;
user root;
worker_processes 1;
pid $RUN/nginx.pid;
error_log $RUN/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $RUN/tmp;
  proxy_temp_path $RUN/tmp;
  fastcgi_temp_path $RUN/tmp;
  uwsgi_temp_path $RUN/tmp;
  scgi_temp_path $RUN/tmp;
  server { listen 127.0.0.1:$HTTP_PORT; root $DATA; }
}
EOF
nginx -c "$RUN/nginx.conf" -p "$RUN" &
PIDS+=($!)
S3FS_ARGS=()
if [[ -n "${S3S_FS:-}" ]]; then
    # s3s-fs keeps its objects as plain files under a root kept in $DATA
    # for re-runs. The object goes in through the S3 API, never as a file
    # copied in: s3s-fs stores the ETag of an uploaded object, and for a
    # file it did not write it hashes the whole object on every GET
    # (~10 s per ranged GET of the 4 GiB object, which times requests out).
    FS_PORT=$(free_port)
    FS_ROOT="$DATA/s3s-root"
    mkdir -p "$FS_ROOT/npymap-bench"
    "$S3S_FS" --host 127.0.0.1 --port "$FS_PORT" --access-key test --secret-key testtesttest \
        "$FS_ROOT" >"$RUN/s3s.log" 2>&1 &
    PIDS+=($!)
    wait_port "$FS_PORT"
    if [[ ! -e "$FS_ROOT/.uploaded-w11_4g" ]]; then
        python3 - "http://127.0.0.1:$FS_PORT" "$DATA" <<'EOF'
import sys, boto3
from boto3.s3.transfer import TransferConfig
endpoint, data = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="test",
                  aws_secret_access_key="testtesttest", region_name="us-east-1")
s3.upload_file(f"{data}/w11_4g.npy", "npymap-bench", "w11_4g.npy",
               Config=TransferConfig(multipart_chunksize=64 << 20, max_concurrency=4))
EOF
        touch "$FS_ROOT/.uploaded-w11_4g"
    fi
    S3FS_ARGS=(--s3fs-server "http://127.0.0.1:$FS_PORT")
fi
wait_port "$S3_PORT"
wait_port "$HTTP_PORT"

# Upload the S3 objects to moto (multipart for the big one).
python3 - "http://127.0.0.1:$S3_PORT" "$DATA" "$W11_ON" <<'EOF'
import sys, boto3
from boto3.s3.transfer import TransferConfig
endpoint, data = sys.argv[1], sys.argv[2]
# One PUT each: moto's CompleteMultipartUpload of a 1 GiB object fails (500).
one_put = TransferConfig(multipart_threshold=8 << 30)
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="test",
                  aws_secret_access_key="testtesttest", region_name="us-east-1")
s3.create_bucket(Bucket="npymap-bench")
for key in (["w11.npy"] if "moto" in sys.argv[3] else []) + ["w12.npz"]:
    s3.upload_file(f"{data}/{key}", "npymap-bench", key, Config=one_put)
EOF

echo "uptime before: $(uptime)" >&2
if [[ "$SIDES" == *rust* ]]; then
    cargo bench --features remote --bench remote_bench --quiet -- --bench \
        --s3 "http://127.0.0.1:$S3_PORT" --http "http://127.0.0.1:$HTTP_PORT" "${S3FS_ARGS[@]}" \
        --only "$ONLY" --reps "$REPS" --w11-on "$W11_ON" --json "$RESULTS/rust.json"
fi
if [[ "$SIDES" == *numpy* ]]; then
    PYTHONPATH="$PYDEPS" python3 benches/remote_bench.py run "$DATA" \
        --s3 "http://127.0.0.1:$S3_PORT" --http "http://127.0.0.1:$HTTP_PORT" "${S3FS_ARGS[@]}" \
        --only "$ONLY" --reps "$REPS" --w11-on "$W11_ON" --json "$RESULTS/numpy.json"
fi
echo "uptime after: $(uptime)" >&2
