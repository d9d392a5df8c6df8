#!/usr/bin/env bash
# Simulator benchmark: how fast `gossiprec simulate --engine events` runs the ML-100K swarm (943 peers) and a
# synthetic swarm of 10,000 peers, against a baseline measured in the same run (centralized MF training of the
# same split on the same binary), because the machines are shared and noisy.
#
# Usage: Scripts/bench-sim.sh [--ml-seconds S] [--big-peers N] [--big-seconds S] [--out DIR] [--skip-build]
#   --ml-seconds S    virtual seconds of the ML-100K swarm (default 200)
#   --big-peers N     synthetic swarm size (default 10000; 0 skips it)
#   --big-seconds S   virtual seconds of the synthetic swarm (default 60)
#   --out DIR         where the split and outputs go (default runs/bench-sim-<UTC time>)
#   --skip-build      do not run `swift build -c release`
#
# The ML-100K swarm runs twice, with one thread and with one per processor (its curve must come out the same), so
# the parallel speed-up is measured in the same run.
# Prints, per simulation: wall and CPU seconds, peak memory, virtual seconds per wall second, model exchanges
# per CPU second, and the CPU time as a multiple of one centralized MF epoch over the same 99,057 training
# positives measured just before (the baseline that makes runs on different machines comparable).
set -euo pipefail
{
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/.build/release/gossiprec"
ML=200; BIG=10000; BIGS=60; OUT=""; SKIP=0
die() { echo "bench-sim: error: $*" >&2; exit 1; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --ml-seconds) ML="$2"; shift 2 ;;
        --big-peers) BIG="$2"; shift 2 ;;
        --big-seconds) BIGS="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --skip-build) SKIP=1; shift ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option '$1' (try --help)" ;;
    esac
done
for v in "$ML" "$BIG" "$BIGS"; do [[ "$v" =~ ^[0-9]+$ ]] || die "'$v' is not a whole number"; done
command -v /usr/bin/time > /dev/null || die "/usr/bin/time is needed for CPU time and peak memory"
OUT="${OUT:-$ROOT/runs/bench-sim-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT"
if [[ "$SKIP" -eq 0 ]]; then
    echo "bench-sim: swift build -c release" >&2
    (cd "$ROOT" && swift build -c release >&2) || die "swift build -c release failed"
fi
[[ -x "$BIN" ]] || die "no executable at $BIN"
DATA="$("$ROOT/Scripts/fetch-movielens.sh" "$ROOT/data/ml-100k")" || die "fetch-movielens.sh failed"
echo "bench-sim: split of $DATA/u.data into $OUT/split" >&2
"$BIN" split --data "$DATA/u.data" --out "$OUT/split" > "$OUT/split.out" 2>&1 || die "gossiprec split failed (see $OUT/split.out)"

# timed NAME CMD...: runs CMD with /usr/bin/time, stdout to OUT/NAME.txt, and appends "NAME wall user sys maxkb".
timed() {
    local name="$1"; shift
    /usr/bin/time -f "$name %e %U %S %M" -a -o "$OUT/times.txt" "$@" > "$OUT/$name.txt" 2> "$OUT/$name.err" \
        || die "$name failed (see $OUT/$name.err)"
}
: > "$OUT/times.txt"
echo "bench-sim: baseline: centralized MF, 20 epochs (BCE, 4 negatives, SGD, d 32, one thread)" >&2
timed central "$BIN" train --split "$OUT/split" --epochs 20 --eval-every 0 --optimizer sgd --lr 0.05 --dim 32
echo "bench-sim: ML-100K swarm, 943 peers, $ML virtual s, one thread" >&2
timed ml100k-1thread "$BIN" simulate --engine events --users-dir "$OUT/split.users" --duration "${ML}s" --threads 1
echo "bench-sim: ML-100K swarm, 943 peers, $ML virtual s, $(nproc) threads" >&2
timed ml100k "$BIN" simulate --engine events --users-dir "$OUT/split.users" --duration "${ML}s"
cmp -s <(grep -v '^{' "$OUT/ml100k-1thread.txt") <(grep -v '^{' "$OUT/ml100k.txt") \
    || die "the ML-100K curves with one thread and with $(nproc) differ (they must be identical)"
if [[ "$BIG" -gt 0 ]]; then
    echo "bench-sim: synthetic swarm, $BIG peers, $BIGS virtual s" >&2
    timed synthetic "$BIN" simulate --engine events --synthetic "$BIG,1000,20,30" --duration "${BIGS}s"
fi
python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
times = {}
for line in open(os.path.join(out, "times.txt")):
    f = line.split()
    if len(f) == 5: times[f[0]] = dict(wall=float(f[1]), cpu=float(f[2]) + float(f[3]), mb=int(f[4]) / 1024)
def last_json(name):
    for line in reversed(open(os.path.join(out, f"{name}.txt")).read().splitlines()):
        if line.startswith("{"): return json.loads(line)
central = last_json("central")
epoch_cpu = times["central"]["cpu"] / 20
print(f"baseline: centralized MF epoch {epoch_cpu:.3f} CPU-s (20 epochs, HR@10 {central['hr10']:.4f})\n")
print("| simulation | peers | virtual s | wall s | CPU s | peak MB | virtual s per wall s | exchanges per CPU s | CPU in central epochs | final HR@10 |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for name in ("ml100k-1thread", "ml100k", "synthetic"):
    if name not in times: continue
    t, d = times[name], last_json(name)
    print(f"| {name} | {d['peers']} | {d['virtual_seconds']:.0f} | {t['wall']:.1f} | {t['cpu']:.1f} | {t['mb']:.0f} | "
          f"{d['virtual_seconds'] / t['wall']:.2f} | {d['exchanges_completed'] / t['cpu']:.0f} | {t['cpu'] / epoch_cpu:.0f} | {d['hr10']:.4f} |")
if "ml100k-1thread" in times and "ml100k" in times:
    print(f"\nML-100K parallel speed-up (wall, same curve): {times['ml100k-1thread']['wall'] / times['ml100k']['wall']:.2f}x")
PY
}
