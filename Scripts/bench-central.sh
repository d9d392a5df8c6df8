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
#   --data FILE         ratings file to split instead of DATA-DIR/u.data (u.data, ratings.csv or plain; see README "Data")
#
# Tuning mode (issue 19): --tune tunes our centralized MF (BCE, Adagrad) on the VALIDATION item of a split made
# with one, then trains the chosen setting once more and scores it once on the TEST item; implicit is not run.
#   --tune              grid over --tune-dims x --tune-lrs x --tune-l2s at --tune-negatives' first value, then each
#                       other --tune-negatives value at the best of those; every run trains --tune-max-epochs epochs
#                       and is evaluated on validation every --tune-eval-every epochs, so the epoch count is chosen
#                       on validation too. Best = highest validation HR@10, then NDCG@10, then fewer epochs.
#                       Budget: (dims x lrs x l2s + negatives - 1) runs of --tune-max-epochs epochs each.
#   --tune-dims LIST    default 32,64          --tune-lrs LIST       default 0.05,0.1,0.2
#   --tune-l2s LIST     default 0.003,0.01,0.03  --tune-negatives LIST default 4,8,2 (the first is the grid's)
#   --tune-max-epochs N default 80             --tune-eval-every N   default 10
#   --label NAME        data set name in the table and JSON (default: the data file's name)
# It prints one line per run, a table, and last a JSON line: data, the tuned settings (dim, lr, l2, negatives,
# epochs), val_hr10/val_ndcg10 of the chosen setting, test hr10/ndcg10 (scored once), itempop (validation and
# test), the default setting's validation figures, runs and seconds. Files: RUN/tune.tsv, RUN/tune.json.
#
# Steps: (1) Scripts/fetch-movielens.sh; (2) swift build -c release; (3) gossiprec split --data DATA/u.data (or --data)
# --out RUN/split --seed S; (4) gossiprec train --split RUN/split --loss bpr --dim 32 [...] and the same with
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
DATA_FILE=""
TUNE=0
TUNE_DIMS="32,64"
TUNE_LRS="0.05,0.1,0.2"
TUNE_L2S="0.003,0.01,0.03"
TUNE_NEGATIVES="4,8,2"
TUNE_MAX_EPOCHS=80
TUNE_EVAL_EVERY=10
LABEL=""
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
        --data) [[ $# -ge 2 ]] || die "--data needs a value"; DATA_FILE="$2"; shift 2 ;;
        --tune) TUNE=1; shift ;;
        --tune-dims) [[ $# -ge 2 ]] || die "--tune-dims needs a value"; TUNE_DIMS="$2"; shift 2 ;;
        --tune-lrs) [[ $# -ge 2 ]] || die "--tune-lrs needs a value"; TUNE_LRS="$2"; shift 2 ;;
        --tune-l2s) [[ $# -ge 2 ]] || die "--tune-l2s needs a value"; TUNE_L2S="$2"; shift 2 ;;
        --tune-negatives) [[ $# -ge 2 ]] || die "--tune-negatives needs a value"; TUNE_NEGATIVES="$2"; shift 2 ;;
        --tune-max-epochs) [[ $# -ge 2 ]] || die "--tune-max-epochs needs a value"; TUNE_MAX_EPOCHS="$2"; shift 2 ;;
        --tune-eval-every) [[ $# -ge 2 ]] || die "--tune-eval-every needs a value"; TUNE_EVAL_EVERY="$2"; shift 2 ;;
        --label) [[ $# -ge 2 ]] || die "--label needs a value"; LABEL="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
done
[[ -z "$EPOCHS" || "$EPOCHS" =~ ^[0-9]+$ ]] || die "--epochs '$EPOCHS' is not a non-negative integer"
[[ "$SEED" =~ ^[0-9]+$ ]] || die "--seed '$SEED' is not a non-negative integer"
[[ "$GRID" == small || "$GRID" == none ]] || die "--grid '$GRID' must be small or none"
[[ "$TUNE_MAX_EPOCHS" =~ ^[1-9][0-9]*$ ]] || die "--tune-max-epochs '$TUNE_MAX_EPOCHS' is not a positive integer"
[[ "$TUNE_EVAL_EVERY" =~ ^[1-9][0-9]*$ ]] || die "--tune-eval-every '$TUNE_EVAL_EVERY' is not a positive integer"
for list in "$TUNE_DIMS" "$TUNE_NEGATIVES"; do [[ "$list" =~ ^[0-9]+(,[0-9]+)*$ ]] || die "'$list' is not a comma-separated list of integers"; done
for list in "$TUNE_LRS" "$TUNE_L2S"; do [[ "$list" =~ ^[0-9.eE-]+(,[0-9.eE-]+)*$ ]] || die "'$list' is not a comma-separated list of numbers"; done
[[ -z "$DATA_FILE" || -f "$DATA_FILE" ]] || die "--data '$DATA_FILE' is not a file"
[[ "$TUNE" -eq 0 || "$NO_SWIFT" -eq 0 ]] || die "--tune trains our MF: it cannot run with --no-swift"

RUN_DIR="${RUN_DIR:-$REPO_ROOT/runs/central-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$RUN_DIR"
RUN_DIR="$(cd "$RUN_DIR" && pwd)"
log "run directory: $RUN_DIR"

# ------------------------------------------------------------------------------------------------ (1) data
if [[ -z "$SPLIT" && -z "$DATA_FILE" ]]; then
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
    DATA_FILE="${DATA_FILE:-$DATA_DIR/u.data}"
    SPLIT="$RUN_DIR/split"
    log "(3) gossiprec split --data $DATA_FILE --out $SPLIT --seed $SEED"
    status=0
    "$BIN" split --data "$DATA_FILE" --out "$SPLIT" --seed "$SEED" >"$RUN_DIR/split.out" 2>&1 || status=$?
    [[ "$status" -eq 0 ]] || explain_failure split "$status" "$RUN_DIR/split.out"
fi
for ext in train.rating test.rating test.negative; do
    if [[ ! -s "$SPLIT.$ext" ]]; then
        [[ -f "$RUN_DIR/split.out" ]] && { log "output of 'gossiprec split':"; tail -n 15 "$RUN_DIR/split.out" >&2; }
        die "split file $SPLIT.$ext is missing or empty (does this gossiprec implement 'split'?)"
    fi
done
log "split: $(wc -l <"$SPLIT.train.rating") train lines, $(wc -l <"$SPLIT.test.rating") test users"

# ------------------------------------------------------------------------------------------------ tuning mode
if [[ "$TUNE" -eq 1 ]]; then
    [[ -s "$SPLIT.validation.rating" ]] || die "split $SPLIT has no validation items ($SPLIT.validation.rating is missing): \
make it again with 'gossiprec split --data RATINGS --out $SPLIT' (same --seed: same test items)"
    LABEL="${LABEL:-$(basename "${DATA_FILE:-$SPLIT}")}"
    TSV="$RUN_DIR/tune.tsv"
    printf 'run\tdim\tlr\tl2\tnegatives\tepoch\tval_hr10\tval_ndcg10\n' >"$TSV"
    t_start=$(date +%s)
    runs=0
    # tune_run DIM LR L2 NEG: trains on the validation split for TUNE_MAX_EPOCHS epochs, one TSV row per evaluation.
    tune_run() {
        runs=$((runs + 1))
        local dim="$1" lr="$2" l2="$3" neg="$4" out="$RUN_DIR/tune-$runs.out" status=0
        "$BIN" train --split "$SPLIT" --evaluate validation --loss bce --optimizer adagrad --dim "$dim" --lr "$lr" \
            --l2 "$l2" --negatives "$neg" --epochs "$TUNE_MAX_EPOCHS" --eval-every "$TUNE_EVAL_EVERY" --seed "$SEED" \
            >"$out" 2>&1 || status=$?
        [[ "$status" -eq 0 ]] || explain_failure train "$status" "$out"
        awk -v r="$runs" -v d="$dim" -v lr="$lr" -v l2="$l2" -v n="$neg" \
            '$1 == "epoch" { printf "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r, d, lr, l2, n, $2, $6, $8 }' "$out" >>"$TSV"
        local best
        best=$(awk -v r="$runs" -F'\t' '$1 == r' "$TSV" | sort -t$'\t' -k7,7gr -k8,8gr -k6,6n | sed -n 1p)
        log "tune run $runs: dim $dim lr $lr l2 $l2 negatives $neg -> best validation epoch $(cut -f6 <<<"$best"): HR@10 $(cut -f7 <<<"$best") NDCG@10 $(cut -f8 <<<"$best")"
    }
    best_row() { tail -n +2 "$TSV" | sort -t$'\t' -k7,7gr -k8,8gr -k6,6n | sed -n 1p; }   # sed reads to the end: head would leave sort to die of SIGPIPE under pipefail
    IFS=, read -r -a dims <<<"$TUNE_DIMS"; IFS=, read -r -a lrs <<<"$TUNE_LRS"
    IFS=, read -r -a l2s <<<"$TUNE_L2S"; IFS=, read -r -a negs <<<"$TUNE_NEGATIVES"
    log "tuning on the validation item: ${#dims[@]} dims x ${#lrs[@]} lrs x ${#l2s[@]} l2s at ${negs[0]} negatives, then $(( ${#negs[@]} - 1 )) more negative counts; $TUNE_MAX_EPOCHS epochs each, evaluated every $TUNE_EVAL_EVERY"
    for dim in "${dims[@]}"; do for lr in "${lrs[@]}"; do for l2 in "${l2s[@]}"; do
        tune_run "$dim" "$lr" "$l2" "${negs[0]}"
    done; done; done
    b=$(best_row)
    for neg in "${negs[@]:1}"; do tune_run "$(cut -f2 <<<"$b")" "$(cut -f3 <<<"$b")" "$(cut -f4 <<<"$b")" "$neg"; done
    # The binary's defaults on validation, for reference (not part of the choice unless they are in the grid).
    default_out="$RUN_DIR/default-validation.out"
    "$BIN" train --split "$SPLIT" --evaluate validation --eval-every 0 --seed "$SEED" >"$default_out" 2>&1 \
        || explain_failure train $? "$default_out"
    b=$(best_row)
    IFS=$'\t' read -r _ bdim blr bl2 bneg bep bvhr bvndcg <<<"$b"
    tune_seconds=$(( $(date +%s) - t_start ))
    log "chosen on validation: dim $bdim lr $blr l2 $bl2 negatives $bneg epochs $bep (validation HR@10 $bvhr); now the test item, once"
    test_out="$RUN_DIR/test.out"
    "$BIN" train --split "$SPLIT" --evaluate test --loss bce --optimizer adagrad --dim "$bdim" --lr "$blr" --l2 "$bl2" \
        --negatives "$bneg" --epochs "$bep" --eval-every 0 --seed "$SEED" >"$test_out" 2>&1 || explain_failure train $? "$test_out"
    "$PYTHON" - "$RUN_DIR" "$LABEL" "$runs" "$tune_seconds" "$TUNE_MAX_EPOCHS" "$TUNE_EVAL_EVERY" <<'PY'
import csv, json, os, sys
run, label, runs, secs, max_epochs, every = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
def last_json(name):
    lines = [l for l in open(os.path.join(run, name), encoding="utf-8").read().splitlines() if l.startswith("{")]
    return json.loads(lines[-1])
rows = list(csv.DictReader(open(os.path.join(run, "tune.tsv"), encoding="utf-8"), delimiter="\t"))
key = lambda r: (-float(r["val_hr10"]), -float(r["val_ndcg10"]), int(r["epoch"]))
best_per_run = {}
for r in rows:
    if r["run"] not in best_per_run or key(r) < key(best_per_run[r["run"]]):
        best_per_run[r["run"]] = r
ranked = sorted(best_per_run.values(), key=key)
best = ranked[0]
test, default = last_json("test.out"), last_json("default-validation.out")
out = [f"tuned centralized MF on {label}: {runs} runs of up to {max_epochs} epochs (validation every {every}), {secs} s",
       "", "| rank | dim | lr | l2 | negatives | epochs | val HR@10 | val NDCG@10 |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
for n, r in enumerate(ranked[:8], 1):
    out.append(f"| {n} | {r['dim']} | {r['lr']} | {r['l2']} | {r['negatives']} | {r['epoch']} | {float(r['val_hr10']):.4f} | {float(r['val_ndcg10']):.4f} |")
out += ["", "| model | val HR@10 | val NDCG@10 | test HR@10 | test NDCG@10 |", "|---|---:|---:|---:|---:|",
        f"| ItemPop | {default['itempop_hr10']:.4f} | {default['itempop_ndcg10']:.4f} | {test['itempop_hr10']:.4f} | {test['itempop_ndcg10']:.4f} |",
        f"| MF defaults (d 32, lr 0.1, l2 0.01, 4 negatives, 40 epochs) | {default['hr10']:.4f} | {default['ndcg10']:.4f} | - | - |",
        f"| MF tuned on validation | {float(best['val_hr10']):.4f} | {float(best['val_ndcg10']):.4f} | {test['hr10']:.4f} | {test['ndcg10']:.4f} |",
        "", f"load average (1/5/15 min): {' / '.join(f'{x:.2f}' for x in os.getloadavg())}"]
print("\n".join(out))
summary = {"data": label, "model": "mf-bce-adagrad", "dim": int(best["dim"]), "lr": float(best["lr"]), "l2": float(best["l2"]),
           "negatives": int(best["negatives"]), "epochs": int(best["epoch"]),
           "val_hr10": float(best["val_hr10"]), "val_ndcg10": float(best["val_ndcg10"]),
           "hr10": test["hr10"], "ndcg10": test["ndcg10"],
           "itempop_val_hr10": default["itempop_hr10"], "itempop_hr10": test["itempop_hr10"], "itempop_ndcg10": test["itempop_ndcg10"],
           "default_val_hr10": default["hr10"], "default_val_ndcg10": default["ndcg10"], "runs": runs, "tune_seconds": secs}
json.dump(summary, open(os.path.join(run, "tune.json"), "w"))
print(json.dumps(summary, separators=(",", ":")))
PY
    exit 0
fi

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
