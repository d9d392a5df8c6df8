#!/usr/bin/env bash
# Churn and stragglers on ML-100K: for each profile, a real swarm (Scripts/swarm.sh --profile: real processes and
# sockets, peers killed, restarted from checkpoints, slowed) and the event simulator (gossiprec simulate --engine
# events --profile: the same protocol code, the same expanded timeline, a virtual clock and network), then one table
# of final HR@10 and time to 90% of the centralized MF's HR@10, with each run's ratio to its churn-free run.
#
# Usage: Scripts/churn-table.sh [--duration S] [--real "P1 P2 ..."] [--sim "P1 P2 ..."] [--out DIR] [--skip-build]
#        Scripts/churn-table.sh --table-only --out DIR    (print the table of a finished run again)
# Profiles are names in Scripts/profiles (without .profile). Defaults: 400 s; real and sim: none churn10 churn30
# churn50 stragglers20 churn30-stragglers20 partition50 (7 real runs: about an hour on 2 cores).
# Real runs go one after another (each has the machine to itself); simulator runs two at a time afterwards.
set -euo pipefail
{
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/.build/release/gossiprec"
ALL="none churn10 churn30 churn50 stragglers20 churn30-stragglers20 partition50"
DURATION=400; REAL="$ALL"; SIM="$ALL"
OUT=""; SKIP=""; TABLE_ONLY=0
die() { echo "churn-table: error: $*" >&2; exit 1; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --duration) DURATION="$2"; shift 2 ;;
        --real) REAL="$2"; shift 2 ;;
        --sim) SIM="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --skip-build) SKIP="--skip-build"; shift ;;
        --table-only) TABLE_ONLY=1; shift ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) die "unknown option '$1' (try --help)" ;;
    esac
done
for p in $REAL $SIM; do [[ -r "$ROOT/Scripts/profiles/$p.profile" ]] || die "no profile Scripts/profiles/$p.profile"; done
if [[ "$TABLE_ONLY" -eq 1 ]]; then
    [[ -d "$OUT" ]] || die "--table-only needs --out DIR of a finished run"
    REAL=$(for p in $REAL; do if [[ -d "$OUT/real-$p" ]]; then echo -n "$p "; fi; done)
    SIM=$(for p in $SIM; do if [[ -f "$OUT/sim-$p.txt" ]]; then echo -n "$p "; fi; done)
fi
OUT="${OUT:-$ROOT/runs/churn-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT"
USERS=""
[[ "$TABLE_ONLY" -eq 1 ]] && REAL_RUN="" || REAL_RUN="$REAL"
[[ "$TABLE_ONLY" -eq 1 ]] && SIM_RUN="" || SIM_RUN="$SIM"
for p in $REAL_RUN; do
    echo "churn-table: real swarm, profile $p (${DURATION} s)" >&2
    bash "$ROOT/Scripts/swarm.sh" $SKIP --duration "$DURATION" --profile "$ROOT/Scripts/profiles/$p.profile" \
        --out "$OUT/real-$p" > "$OUT/real-$p.log" 2>&1 || echo "churn-table: real run $p failed (see $OUT/real-$p.log)" >&2
    SKIP="--skip-build"
    USERS="$OUT/real-$p/split.users"
    # The same logs averaged only over peers online at each point (offline peers keep their last evaluation above).
    LOGS=$(ls "$OUT/real-$p"/node-*.jsonl 2>/dev/null | paste -sd, -)
    CEN=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['hr10'])" "$OUT/real-$p/central.json" 2>/dev/null || echo 0)
    [[ -n "$LOGS" ]] && "$BIN" report --logs "$LOGS" --bucket 10 --central-hr10 "$CEN" --online-window 15 \
        --summary "$OUT/real-$p/summary-online.json" > /dev/null 2>&1 || true
done
if [[ "$TABLE_ONLY" -eq 1 ]]; then
    USERS=$(ls -d "$OUT"/real-*/split.users "$OUT"/data/split.users 2>/dev/null | head -1 || true)
elif [[ -z "$USERS" ]]; then   # no real run: make the split with the swarm script's data steps
    bash "$ROOT/Scripts/swarm.sh" $SKIP --duration 1 --out "$OUT/data" > "$OUT/data.log" 2>&1 || true
    USERS="$OUT/data/split.users"
fi
[[ -d "$USERS" ]] || die "no per-user split at $USERS"
CENTRAL=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['hr10'])" "$(dirname "$USERS")/central.json")
TARGET=$(python3 -c "print(round(0.9 * $CENTRAL, 4))")
set -- $SIM_RUN
while [[ $# -gt 0 ]]; do
    for p in "$1" "${2:-}"; do
        [[ -z "$p" ]] && continue
        echo "churn-table: simulator, profile $p (${DURATION} virtual s)" >&2
        "$BIN" simulate --engine events --users-dir "$USERS" --profile "$ROOT/Scripts/profiles/$p.profile" \
            --duration "${DURATION}s" --target-hr "$TARGET" > "$OUT/sim-$p.txt" 2> "$OUT/sim-$p.err" &
    done
    wait
    shift; [[ $# -gt 0 ]] && shift
done
python3 - "$OUT" "$CENTRAL" "$REAL" "$SIM" <<'PY'
import json, os, sys
out, central, real, sim = sys.argv[1], float(sys.argv[2]), sys.argv[3].split(), sys.argv[4].split()
def real_row(p, name="summary.json"):
    f = os.path.join(out, f"real-{p}", name)
    if not os.path.exists(f): return None
    d = json.load(open(f)); return d["hr10"], d.get("seconds_to_90pct_central"), d.get("online_peers", d.get("peers"))
def sim_row(p):
    f = os.path.join(out, f"sim-{p}.txt")
    if not os.path.exists(f): return None
    for line in reversed(open(f).read().splitlines()):
        if line.startswith("{"):
            d = json.loads(line); t = d.get("seconds_to_target")
            return d["hr10"], (None if t is None or t != t else t)
    return None
print(f"centralized MF HR@10 {central:.4f}; 90% = {0.9*central:.4f}\n")
print("real: every peer's latest evaluation (offline peers included); real online: only peers heard from in the last 15 s")
print("(gossiprec report --online-window 15). sim: peers online at the end.\n")
print("| profile | real HR@10 | real vs none | real s to 90% | real online HR@10 (peers) | online s to 90% | sim HR@10 | sim vs none | sim s to 90% |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
r0, s0 = real_row("none"), sim_row("none")
fmt = lambda x, d=4: "-" if x is None else f"{x:.{d}f}"
for p in dict.fromkeys(real + sim):
    r, s = real_row(p) if p in real else None, sim_row(p) if p in sim else None
    o = real_row(p, "summary-online.json") if p in real else None
    rr = None if not (r and r0) else r[0] / r0[0]
    sr = None if not (s and s0) else s[0] / s0[0]
    on = "-" if not o else f"{o[0]:.4f} ({o[2]})"
    print(f"| {p} | {fmt(r and r[0])} | {fmt(rr, 3)} | {fmt(r and r[1], 0)} | {on} | {fmt(o and o[1], 0)} | {fmt(s and s[0])} | {fmt(sr, 3)} | {fmt(s and s[1], 0)} |")
PY
exit 0
}
