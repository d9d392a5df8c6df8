#!/usr/bin/env bash
# Random gossip vs a static k-regular topology vs the DFedRec-style client graph, on the same data, split, peers,
# time budget and settings, one after the other (so each has the machine to itself), then one table:
# HR@10, NDCG@10, MB sent per peer, seconds to reach 90% of the centralized MF's HR@10.
#
# Usage: Scripts/compare-modes.sh [--duration S] [--peers N] [--topology FILE] [--out DIR] [--skip-build]
#                                 [--cg-arg ARG]... (extra 'gossiprec node' arguments for the client-graph run)
# Defaults: 450 s per run, every user a peer, Topologies/ml100k-regular8.edges, client graph with its defaults.
set -euo pipefail
{
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DURATION=450; PEERS=""; TOPO="$ROOT/Topologies/ml100k-regular8.edges"; OUT=""; SKIP=""; CG_ARGS=()
die() { echo "compare-modes: error: $*" >&2; exit 1; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --duration) DURATION="$2"; shift 2 ;;
        --peers) PEERS="$2"; shift 2 ;;
        --topology) TOPO="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --skip-build) SKIP="--skip-build"; shift ;;
        --cg-arg) CG_ARGS+=(--node-arg "$2"); shift 2 ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) die "unknown option '$1' (try --help)" ;;
    esac
done
OUT="${OUT:-$ROOT/runs/compare-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT"
common=(--duration "$DURATION" ${PEERS:+--peers "$PEERS"})
run() {  # name, extra swarm.sh arguments...
    local name="$1"; shift
    echo "compare-modes: run '$name' (${DURATION} s)" >&2
    bash "$ROOT/Scripts/swarm.sh" $SKIP "${common[@]}" --out "$OUT/$name" "$@" > "$OUT/$name.log" 2>&1 \
        || echo "compare-modes: run '$name' failed (see $OUT/$name.log)" >&2
    SKIP="--skip-build"
}
run random --mode random
run static --mode static --topology "$TOPO"
run client-graph --mode client-graph "${CG_ARGS[@]}"
python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
rows = []
for name in ["random", "static", "client-graph"]:
    p = os.path.join(out, name, "summary.json")
    if not os.path.exists(p):
        rows.append(f"| {name} | failed | | | | |"); continue
    d = json.load(open(p))
    t90 = d.get("seconds_to_90pct_central")
    rows.append(f"| {name} | {d['hr10']:.4f} | {d['ndcg10']:.4f} | {d['mb_per_peer']:.1f} | {'-' if t90 is None else f'{t90:.0f}'} | {d['seconds']:.0f} |")
print("| mode | HR@10 | NDCG@10 | MB sent/peer | s to 90% of central | run s |")
print("|---|---:|---:|---:|---:|---:|")
print("\n".join(rows))
PY
exit 0
}
