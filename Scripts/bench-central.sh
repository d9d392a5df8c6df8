#!/usr/bin/env bash
# Central (single-process) benchmark of GossipRec's recommender against the Python library `implicit`
# on MovieLens-100K with the NCF leave-one-out protocol (He et al., WWW 2017: latest interaction per user held
# out, ranked against 99 sampled negatives, HR@10 and NDCG@10).
#
# Usage: Scripts/bench-central.sh [options]
#   --epochs N          passed to `gossiprec train` as --epochs N (default: the binary's own default)
#   --train-arg ARG     extra argument for both `gossiprec train` runs (repeatable, e.g. --train-arg --lr
#                       --train-arg 0.05)
#   --seed N            split seed (default 1)
#   --run-dir DIR       where the split and results go (default: runs/central-<UTC time> under the repo; git-ignored)
#   --data-dir DIR      MovieLens-100K folder (default: data/ml-100k under the repo; filled by fetch-movielens.sh)
#   --split PREFIX      use an existing NCF split (PREFIX.train.rating, ...) instead of `gossiprec split`
#   --no-swift          skip the Swift build and both `gossiprec train` runs (only implicit and ItemPop)
#   --skip-build        do not run `swift build -c release` (use the existing binary)
#   --grid small|none   hyper-parameter search of bench_implicit.py (default small; see that file)
#
# Steps: (1) Scripts/fetch-movielens.sh; (2) swift build -c release; (3) gossiprec split --data DATA/u.data
# --out RUN/ml-100k --seed S; (4) gossiprec train --split RUN/ml-100k --loss bpr --dim 32 [...] and the same with
# --loss bce (BPR with one negative and SGD, like implicit's), each ending its stdout with one JSON line {hr10, ndcg10, itempop_hr10, seconds, samples_per_second};
# (5) a virtualenv .venv-bench (git-ignored) with implicit==$IMPLICIT_VERSION; (6) Scripts/bench_implicit.py on
# the same split, single-threaded; (7) a table on stdout plus two ratios: our best HR@10 over the better of
# implicit's BPR/ALS, and our BPR throughput (positive samples/s) over implicit's BPR throughput, both measured in
# this run. Everything is also saved in the run directory (train-*.out, implicit.jsonl, summary.md, summary.json).
# Progress goes to stderr; the table to stdout.
#
# Environment: GOSSIPREC_BIN (default .build/release/gossiprec), GOSSIPREC_PYTHON (python for the venv, default
# python3), IMPLICIT_VERSION (default 0.7.3, the version the grid was tuned with). Timings are wall-clock on a
# shared 2-core machine: compare numbers from the same run only.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${GOSSIPREC_BIN:-$REPO_ROOT/.build/release/gossiprec}"
PYTHON="${GOSSIPREC_PYTHON:-python3}"
IMPLICIT_VERSION="${IMPLICIT_VERSION:-0.7.3}"
VENV="$REPO_ROOT/.venv-bench"

EPOCHS=""
TRAIN_ARGS=()
SEED=1
RUN_DIR=""
DATA_DIR="$REPO_ROOT/data/ml-100k"
SPLIT=""
NO_SWIFT=0
SKIP_BUILD=0
GRID=small

log() { echo "bench-central: $*" >&2; }
die() { echo "bench-central: error: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --epochs) [[ $# -ge 2 ]] || die "--epochs needs a value"; EPOCHS="$2"; shift 2 ;;
        --train-arg) [[ $# -ge 2 ]] || die "--train-arg needs a value"; TRAIN_ARGS+=("$2"); shift 2 ;;
        --seed) [[ $# -ge 2 ]] || die "--seed needs a value"; SEED="$2"; shift 2 ;;
        --run-dir) [[ $# -ge 2 ]] || die "--run-dir needs a value"; RUN_DIR="$2"; shift 2 ;;
        --data-dir) [[ $# -ge 2 ]] || die "--data-dir needs a value"; DATA_DIR="$2"; shift 2 ;;
        --split) [[ $# -ge 2 ]] || die "--split needs a value"; SPLIT="$2"; shift 2 ;;
        --no-swift) NO_SWIFT=1; shift ;;
        --skip-build) SKIP_BUILD=1; shift ;;
        --grid) [[ $# -ge 2 ]] || die "--grid needs a value"; GRID="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
done
[[ -z "$EPOCHS" || "$EPOCHS" =~ ^[0-9]+$ ]] || die "--epochs '$EPOCHS' is not a non-negative integer"
[[ "$SEED" =~ ^[0-9]+$ ]] || die "--seed '$SEED' is not a non-negative integer"
[[ "$GRID" == small || "$GRID" == none ]] || die "--grid '$GRID' must be small or none"

RUN_DIR="${RUN_DIR:-$REPO_ROOT/runs/central-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$RUN_DIR"
RUN_DIR="$(cd "$RUN_DIR" && pwd)"
log "run directory: $RUN_DIR"

# ------------------------------------------------------------------------------------------------ (1) data
if [[ -z "$SPLIT" ]]; then
    log "(1) data: Scripts/fetch-movielens.sh $DATA_DIR"
    DATA_DIR="$("$REPO_ROOT/Scripts/fetch-movielens.sh" "$DATA_DIR")" || die "fetch-movielens.sh failed (see above)"
fi

# ------------------------------------------------------------------------------------------------ (2) build
if [[ "$NO_SWIFT" -eq 0 ]]; then
    if [[ "$SKIP_BUILD" -eq 0 ]]; then
        log "(2) swift build -c release"
        (cd "$REPO_ROOT" && swift build -c release >&2) || die "swift build -c release failed (see above)"
    fi
    [[ -x "$BIN" ]] || die "no executable at $BIN (build it with 'swift build -c release' or set GOSSIPREC_BIN)"
fi

# binary_usage: the binary's own help text, to tell "no such subcommand" apart from other failures.
binary_usage() { "$BIN" --help 2>&1 | head -n 20 || true; }

# require_subcommand NAME EXIT_STATUS OUTPUT_FILE: explains a failed `gossiprec NAME` run and exits.
explain_failure() {
    local name="$1" status="$2" out="$3"
    log "'gossiprec $name' failed (exit $status); last lines of its output:"
    tail -n 15 "$out" >&2 || true
    if ! binary_usage | grep -qw -- "$name"; then
        die "$BIN does not seem to implement the '$name' subcommand (its --help does not mention it); \
build a gossiprec that has '$name' (interface: see the header of Scripts/bench-central.sh)"
    fi
    die "'gossiprec $name' failed"
}

# ------------------------------------------------------------------------------------------------ (3) split
if [[ -z "$SPLIT" ]]; then
    [[ "$NO_SWIFT" -eq 0 ]] || die "--no-swift needs --split PREFIX (the split is made by 'gossiprec split')"
    SPLIT="$RUN_DIR/ml-100k"
    log "(3) gossiprec split --data $DATA_DIR/u.data --out $SPLIT --seed $SEED"
    status=0
    "$BIN" split --data "$DATA_DIR/u.data" --out "$SPLIT" --seed "$SEED" >"$RUN_DIR/split.out" 2>&1 || status=$?
    [[ "$status" -eq 0 ]] || explain_failure split "$status" "$RUN_DIR/split.out"
fi
for ext in train.rating test.rating test.negative; do
    if [[ ! -s "$SPLIT.$ext" ]]; then
        [[ -f "$RUN_DIR/split.out" ]] && { log "output of 'gossiprec split':"; tail -n 15 "$RUN_DIR/split.out" >&2; }
        die "split file $SPLIT.$ext is missing or empty (does this gossiprec implement 'split'?)"
    fi
done
log "split: $(wc -l <"$SPLIT.train.rating") train lines, $(wc -l <"$SPLIT.test.rating") test users"

# ------------------------------------------------------------------------------------------------ (4) train
# run_train LOSS: runs `gossiprec train`, streams its output to stderr, keeps its stdout in RUN/train-LOSS.out.
run_train() {
    local loss="$1" out="$RUN_DIR/train-$1.out" status=0
    local args=(train --split "$SPLIT" --loss "$loss" --dim 32)
    # BPR is run like implicit's (one sampled negative per positive, plain SGD) so that throughputs compare;
    # BCE uses the binary's defaults (4 negatives, Adagrad).
    if [[ "$loss" == bpr ]]; then args+=(--negatives 1 --optimizer sgd --lr 0.05 --l2 0.001); fi
    [[ -n "$EPOCHS" ]] && args+=(--epochs "$EPOCHS")
    args+=("${TRAIN_ARGS[@]}")
    log "(4) gossiprec ${args[*]}"
    "$BIN" "${args[@]}" | tee "$out" >&2 || status=$?
    [[ "$status" -eq 0 ]] || explain_failure train "$status" "$out"
    # The last non-empty line must be the JSON summary with the agreed keys.
    "$PYTHON" - "$out" <<'PY' || { binary_usage | grep -qw train || log "(its --help does not mention 'train')"; die "$out does not end with the expected JSON line"; }
import json, sys
lines = [l for l in open(sys.argv[1], encoding="utf-8", errors="replace").read().splitlines() if l.strip()]
need = ("hr10", "ndcg10", "itempop_hr10", "seconds", "samples_per_second")
try:
    rec = json.loads(lines[-1])
except (IndexError, ValueError):
    sys.exit(f"bench-central: last line of {sys.argv[1]} is not JSON: {lines[-1][:120] if lines else '(empty)'!r}")
missing = [k for k in need if k not in rec]
if missing:
    sys.exit(f"bench-central: JSON line of {sys.argv[1]} lacks keys {missing}")
PY
}
if [[ "$NO_SWIFT" -eq 0 ]]; then
    run_train bpr
    run_train bce
fi

# ------------------------------------------------------------------------------------------------ (5) venv
if ! "$VENV/bin/python" -c "import implicit, threadpoolctl, sys; sys.exit(implicit.__version__ != '$IMPLICIT_VERSION')" 2>/dev/null; then
    log "(5) preparing $VENV with implicit==$IMPLICIT_VERSION"
    if [[ ! -x "$VENV/bin/python" ]]; then
        "$PYTHON" -m venv "$VENV" >&2 || die "'$PYTHON -m venv $VENV' failed (on Debian: apt-get install python3-venv)"
    fi
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q "implicit==$IMPLICIT_VERSION" threadpoolctl >&2 \
        || die "pip install implicit==$IMPLICIT_VERSION into $VENV failed (see above)"
else
    log "(5) reusing $VENV (implicit $IMPLICIT_VERSION)"
fi

# ------------------------------------------------------------------------------------------------ (6) implicit
log "(6) Scripts/bench_implicit.py --self-test, then on $SPLIT --grid $GRID (single thread)"
"$VENV/bin/python" "$REPO_ROOT/Scripts/bench_implicit.py" --self-test || die "bench_implicit.py --self-test failed"
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
    "$VENV/bin/python" "$REPO_ROOT/Scripts/bench_implicit.py" "$SPLIT" --grid "$GRID" --seed "$SEED" \
    >"$RUN_DIR/implicit.jsonl" || die "bench_implicit.py failed (see above)"

# ------------------------------------------------------------------------------------------------ (7) table
log "(7) summary"
"$VENV/bin/python" - "$RUN_DIR" "$NO_SWIFT" <<'PY'
import json, os, sys
run, no_swift = sys.argv[1], sys.argv[2] == "1"

def last_json(path):
    lines = [l for l in open(path, encoding="utf-8").read().splitlines() if l.strip()]
    return json.loads(lines[-1])

ours = {}
if not no_swift:
    for loss in ("bpr", "bce"):
        ours[loss] = last_json(os.path.join(run, f"train-{loss}.out"))
theirs = {}
for line in open(os.path.join(run, "implicit.jsonl"), encoding="utf-8"):
    if line.strip():
        rec = json.loads(line)
        theirs[rec["model"]] = rec

def fmt(x, spec):
    return "-" if x is None else format(x, spec)

rows = []
for loss, rec in ours.items():
    rows.append((f"gossiprec {loss.upper()} (dim 32)", rec["hr10"], rec["ndcg10"], rec["seconds"],
                 rec["samples_per_second"]))
if ours:
    rows.append(("gossiprec ItemPop", ours["bpr"]["itempop_hr10"], None, None, None))
for key, label in (("implicit-bpr", "implicit BPR (factors 32)"), ("implicit-als", "implicit ALS (factors 32)"),
                   ("itempop", "ItemPop (bench_implicit)")):
    if key in theirs:
        r = theirs[key]
        rows.append((label, r["hr10"], r["ndcg10"], r["seconds"] if key != "itempop" else None,
                     r["samples_per_second"]))

out = ["| model | HR@10 | NDCG@10 | train s | pos samples/s |", "|---|---:|---:|---:|---:|"]
for name, hr, ndcg, secs, sps in rows:
    out.append(f"| {name} | {fmt(hr, '.4f')} | {fmt(ndcg, '.4f')} | {fmt(secs, '.2f')} | {fmt(sps, ',.0f')} |")
out.append("")
summary = {"ours": ours, "implicit": theirs}
mf = [theirs[k] for k in ("implicit-bpr", "implicit-als") if k in theirs]
if ours and mf:
    best_loss = max(ours, key=lambda l: ours[l]["hr10"])
    ref = max(mf, key=lambda r: r["hr10"])
    ratio = ours[best_loss]["hr10"] / ref["hr10"] if ref["hr10"] > 0 else float("nan")
    out.append(f"HR@10 ratio: our best ({best_loss.upper()}, {ours[best_loss]['hr10']:.4f}) / better of implicit "
               f"BPR/ALS ({ref['model']}, {ref['hr10']:.4f}) = {ratio:.3f}")
    summary["hr10_ratio"] = ratio
if "bpr" in ours and "implicit-bpr" in theirs:
    a, b = ours["bpr"]["samples_per_second"], theirs["implicit-bpr"]["samples_per_second"]
    ratio = a / b if b else float("nan")
    out.append(f"BPR throughput ratio: ours {a:,.0f} / implicit {b:,.0f} positive samples/s = {ratio:.3f} "
               f"(same run, single thread for implicit)")
    summary["bpr_throughput_ratio"] = ratio
    c = theirs["implicit-bpr"].get("samples_per_cpu_second")
    if c:
        out.append(f"  (implicit BPR per CPU second: {c:,.0f} samples/s; wall/CPU gap = contention from other processes)")
if ours and "itempop" in theirs:
    a, b = ours["bpr"]["itempop_hr10"], theirs["itempop"]["hr10"]
    out.append(f"ItemPop cross-check: gossiprec {a:.4f} vs bench_implicit {b:.4f}"
               + (" (match)" if abs(a - b) < 5e-5 else " (DIFFER: check the evaluators' tie rule)"))
if "implicit-bpr" in theirs:
    p = theirs["implicit-bpr"]["params"]
    out.append(f"implicit {theirs['implicit-bpr']['implicit_version']}: BPR {p}; "
               f"ALS {theirs.get('implicit-als', {}).get('params')}")
out.append(f"load average (1/5/15 min) at summary time: {' / '.join(f'{x:.2f}' for x in os.getloadavg())} "
           f"on {os.cpu_count()} cores; throughput numbers are wall-clock and noisy on a busy machine")
text = "\n".join(out)
print(text)
open(os.path.join(run, "summary.md"), "w").write(text + "\n")
json.dump(summary, open(os.path.join(run, "summary.json"), "w"), indent=1)
PY
log "done: $RUN_DIR/summary.md"
