#!/usr/bin/env bash
# Old exchange against new on real processes (issue 20): the local ML-100K swarm (Scripts/swarm.sh: every user a
# peer, sealed frames, defences on) run once per variant, one after the other so each has the machine to itself,
# then one table: HR@10 and MB sent per peer at 60, 120, 300 and 600 s (or the run's end), rounds per second, CPU of
# the node processes (user and system seconds, share of the cores), seconds and MB per peer to 0.9x of the
# centralized MF. Last line: JSON.
#
# Usage: Scripts/bench-exchange.sh [--duration S] [--variants "32 8"] [--period-ms MS] [--peers N] [--out DIR]
#                                  [--skip-build] [--port BASE]
# A variant is the --row-bits of every peer (32: the whole table in f32, the old exchange; 16; 8: the default), or
# BITS@PERIOD_MS for another gossip period (e.g. 8@1000). Defaults: 600 s, variants "32 8", period 2000 ms.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DURATION=600; VARIANTS="32 8"; PERIOD=2000; PEERS=""; OUT=""; SKIP=""; PORT=7400
die() { echo "bench-exchange: error: $*" >&2; exit 1; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --duration) DURATION="$2"; shift 2 ;;
        --variants) VARIANTS="$2"; shift 2 ;;
        --period-ms) PERIOD="$2"; shift 2 ;;
        --peers) PEERS="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --port) PORT="$2"; shift 2 ;;
        --skip-build) SKIP="--skip-build"; shift ;;
        -h|--help) sed -n '2,/^set -e/{/^#/p}' "$0"; exit 0 ;;
        *) die "unknown option '$1' (try --help)" ;;
    esac
done
OUT="${OUT:-$ROOT/runs/exchange-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT"
for v in $VARIANTS; do
    bits="${v%@*}"; period="$PERIOD"; [[ "$v" == *@* ]] && period="${v#*@}"
    [[ "$bits" =~ ^(32|16|8)$ && "$period" =~ ^[0-9]+$ ]] || die "variant '$v': expected BITS or BITS@PERIOD_MS, BITS one of 32, 16, 8"
    dir="$OUT/bits$bits-p$period"
    if [[ -s "$dir/summary.json" ]]; then echo "bench-exchange: $dir done, kept" >&2; continue; fi
    echo "bench-exchange: variant $v (--row-bits $bits --period-ms $period), $DURATION s" >&2
    bash "$ROOT/Scripts/swarm.sh" $SKIP --duration "$DURATION" --row-bits "$bits" --period-ms "$period" \
        ${PEERS:+--peers "$PEERS"} --port "$PORT" --swarm-id "$PORT" --out "$dir" > "$dir.log" 2>&1 \
        || die "swarm.sh failed for variant $v; see $dir.log"
    SKIP="--skip-build"
done
python3 - "$OUT" "$PERIOD" $VARIANTS <<'PY'
import json, os, sys
out, default_period, variants = sys.argv[1], sys.argv[2], sys.argv[3:]
rows = []
for v in variants:
    bits, _, period = v.partition("@")
    d = os.path.join(out, f"bits{bits}-p{period or default_period}")
    s = json.load(open(os.path.join(d, "summary.json")))
    curve = []
    for line in open(os.path.join(d, "curve.txt")):
        f = line.split()
        try: curve.append((float(f[0]), float(f[2]), float(f[4])))
        except (ValueError, IndexError): pass
    def at(t):
        pts = [c for c in curve if c[0] <= t + 1e-9]
        return pts[-1] if pts else (t, float("nan"), float("nan"))
    rows.append(dict(variant=v, points={t: at(t) for t in (60, 120, 300, 600)}, **s))
print(f"{'variant':>10} | " + " | ".join(f"HR@10 / MB at {t:>3} s" for t in (60, 120, 300, 600))
      + " | rounds/s | node CPU user+sys s (share) | s to 0.9x | MB to 0.9x | final HR@10")
for r in rows:
    pts = " | ".join(f"{p[1]:.4f} / {p[2]:6.1f}" for p in r["points"].values())
    print(f"{r['variant']:>10} | {pts} | {r.get('rounds_per_second', 0):.3f} | {r['node_cpu_user_s']:.0f}+{r['node_cpu_system_s']:.0f} ({r.get('node_cpu_share', 0):.0%})"
          f" | {r.get('seconds_to_90pct_central')} | {r.get('mb_per_peer_to_90pct')} | {r['hr10']:.4f} ({r['ratio_to_central']:.3f}x)")
print(json.dumps([{k: v for k, v in r.items() if k != "points"} | {"curve": {str(t): p[1:] for t, p in r["points"].items()}} for r in rows]))
PY
