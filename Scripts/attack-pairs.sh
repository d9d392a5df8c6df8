#!/usr/bin/env bash
# Attacks against defences in the event simulator (issue 17): for each attack kind and malicious fraction, and for
# the clean swarm, `gossiprec simulate --engine events` with --defences off and on, on the same seeds, then one table
# of the benign peers' HR@10 (pooled over the final window), NDCG@10 and, for promotion, ER@10. Last line: JSON.
#
# Usage: Scripts/attack-pairs.sh --users-dir DIR [--attacks "weight-inflation ..."] [--fractions "0.01 0.05"]
#            [--seeds "1 2"] [--duration 300s] [--out DIR] [--skip-build] [--extra "SIMULATE ARGS"]
# Model messages skip the wire codec (--skip-model-codec: the same result, bit for bit, as the test
# roundTrippingModelsThroughWireFormatChangesNothing checks, and about a third less CPU); --extra adds arguments to
# every run (for instance a defence's tuning flag).
# Resumable: a run whose output already ends in a JSON line is not run again (same --out). Runs go one after another,
# each on one thread and nice'd (the machine is shared). A 943-peer, 300-virtual-second run takes 3 to 6 minutes on
# one busy core.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${GOSSIPREC_BIN:-$ROOT/.build/release/gossiprec}"   # GOSSIPREC_BIN: a copied binary, so that a rebuild cannot change it mid-table
USERS=""; ATTACKS="weight-inflation"; FRACTIONS="0.01 0.05"; SEEDS="1 2"; DURATION="300s"; OUT=""; SKIP=0; EXTRA=""
die() { echo "attack-pairs: error: $*" >&2; exit 1; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --users-dir) USERS="$2"; shift 2 ;;
        --attacks) ATTACKS="$2"; shift 2 ;;
        --fractions) FRACTIONS="$2"; shift 2 ;;
        --seeds) SEEDS="$2"; shift 2 ;;
        --duration) DURATION="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --skip-build) SKIP=1; shift ;;
        --extra) EXTRA="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -e/{/^#/p}' "$0"; exit 0 ;;
        *) die "unknown option '$1' (try --help)" ;;
    esac
done
[[ -d "$USERS" ]] || die "--users-dir DIR (from 'gossiprec split') is required"
OUT="${OUT:-$ROOT/runs/attacks-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT"
[[ "$SKIP" -eq 1 ]] || (cd "$ROOT" && nice swift build -c release --product gossiprec >&2)

run() {   # name, then simulate's extra arguments
    local name="$1"; shift
    local file="$OUT/$name.txt"
    if [[ -f "$file" ]] && tail -1 "$file" | grep -q '^{'; then return; fi
    echo "attack-pairs: $name" >&2
    nice "$BIN" simulate --engine events --users-dir "$USERS" --duration "$DURATION" --threads 1 --skip-model-codec $EXTRA "$@" > "$file" 2>&1 \
        || echo "attack-pairs: $name failed (see $file)" >&2
}

for seed in $SEEDS; do
    for d in off on; do run "clean-$d-seed$seed" --seed "$seed" --defences "$d"; done
    for a in $ATTACKS; do
        for f in $FRACTIONS; do
            for d in off on; do run "$a-$f-$d-seed$seed" --seed "$seed" --defences "$d" --attack "$a" --attack-fraction "$f"; done
        done
    done
done

python3 - "$OUT" "$ATTACKS" "$FRACTIONS" "$SEEDS" <<'EOF'
import json, sys, os
out, attacks, fractions, seeds = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4].split()
def load(name):
    try:
        with open(os.path.join(out, name + ".txt")) as f: return json.loads(f.read().strip().splitlines()[-1])
    except Exception: return None
cells = [("clean", "0")] + [(a, f) for a in attacks for f in fractions]
rows, summary = [], []
print("%-22s %6s %9s | %-24s | %-24s | %s" % ("attack", "frac", "defences", "HR@10 window per seed", "NDCG@10 per seed", "mean HR@10 (ER@10)"))
for a, f in cells:
    for d in ["off", "on"]:
        js = [load(("clean-%s" % d if a == "clean" else "%s-%s-%s" % (a, f, d)) + "-seed" + s) for s in seeds]
        js = [j for j in js if j]
        if not js: continue
        hr = [j["hr10_final_window"] for j in js]; nd = [j["ndcg10"] for j in js]
        er = [j["er10"] for j in js if "er10" in j]
        mean = sum(hr) / len(hr)
        extra = (" (ER %.3f)" % (sum(er) / len(er))) if er else ""
        print("%-22s %6s %9s | %-24s | %-24s | %.4f%s" % (a, f, d, " ".join("%.4f" % x for x in hr), " ".join("%.4f" % x for x in nd), mean, extra))
        summary.append({"attack": a, "fraction": float(f), "defences": d, "seeds": len(js), "hr10_window": round(mean, 4),
                        "ndcg10": round(sum(nd) / len(nd), 4), "er10": round(sum(er) / len(er), 4) if er else None})
print(json.dumps({"table": summary}))
EOF
