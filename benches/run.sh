#!/usr/bin/env bash
# Runs npymap's whole benchmark suite (issue 7) and writes BENCHMARKS.md.
#
#   bash benches/run.sh            # everything (~10 min; ~8 GB of temporary data at peak)
#   bash benches/run.sh --quick    # a smoke run: a tenth of the repetitions
#   ONLY=W1,W8 bash benches/run.sh # some workloads
#   KEEP=1 ONLY=W8 bash benches/run.sh  # re-run W8, keep the other workloads'
#                                       # results from the previous run
#
# Builds the release CLI and the harness, makes the data with NumPy under
# target/bench-data (git-ignored), runs the Rust harness (npymap, peers,
# floors, CLI and RSS) and then NumPy on the same files, one workload group
# at a time, writes BENCHMARKS.md and deletes the data.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=""
[[ "${1:-}" == "--quick" ]] && QUICK="--quick"
ONLY="${ONLY:-W1,W2,S,W3,W4,W5,W7,W8,C1,W6,SL,W9,W10}"
DATA="target/bench-data"
RESULTS="target/bench-results"
KEEP="${KEEP:-}"
COMMAND="bash benches/run.sh${1:+ $1}${ONLY:+ (ONLY=$ONLY)}"
if [[ -n "$KEEP" && -d "$RESULTS" ]]; then
    kept=""
    for f in "$RESULTS"/rust-*.json; do
        [[ -e "$f" ]] || continue
        w=${f##*/rust-}; w=${w%.json}
        case ",$ONLY," in
            *",$w,"*) ;;
            *) kept="$kept${kept:+, }$w $(date -u -r "$f" '+%Y-%m-%d %H:%M UTC')" ;;
        esac
    done
    COMMAND="KEEP=1 $COMMAND; rows kept from earlier runs: ${kept:-none}"
fi

command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }

cleanup() { rm -rf "$DATA"; }
trap cleanup EXIT

cargo build --release --quiet
cargo bench --bench npymap_bench --no-run --quiet
rm -rf "$DATA"
if [[ -n "$KEEP" ]]; then
    for w in ${ONLY//,/ }; do rm -f "$RESULTS/rust-$w.json" "$RESULTS/numpy-$w.json"; done
else
    rm -rf "$RESULTS"
fi
mkdir -p "$DATA" "$RESULTS"

echo "making data in $DATA" >&2
python3 benches/numpy_bench.py make-data "$DATA"

# The harness and NumPy take turns per workload so each pair sees the same
# page-cache state; W6 and SL need their own 4 GiB input, made once just before.
numpy() {
    # OPENBLAS_* are set on some machines for old OpenBLAS builds; they only
    # slow a current NumPy down, so unset them for this command alone.
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 benches/numpy_bench.py run "$DATA" "$@"
}
for w in ${ONLY//,/ }; do
    if [[ "$w" == "W6" || "$w" == "SL" ]] && [[ ! -e "$DATA/f32_4g.npy" ]]; then
        rm -f "$DATA/f32_1g.npy" "$DATA/npz_10x50mb.npz"
        python3 benches/numpy_bench.py make-data "$DATA" --big4
    fi
    cargo bench --bench npymap_bench --quiet -- --bench --data "$DATA" \
        --cli target/release/npymap --json "$RESULTS/rust-$w.json" --only "$w" $QUICK
    numpy --json "$RESULTS/numpy-$w.json" --only "$w" $QUICK
done

python3 benches/report.py --out BENCHMARKS.md --command "$COMMAND" "$RESULTS"/rust-*.json "$RESULTS"/numpy-*.json
echo "wrote BENCHMARKS.md" >&2
