#!/usr/bin/env bash
# The privacy table of issue 18: for no defence, each sending defence alone and the candidate default, `gossiprec
# privacy-audit` (the event engine with a colluding group of curious peers) on the same seeds, then one table of HR@10,
# NDCG@10, MB per peer, and the attack's strongest AUC, precision at |I_u| (against popularity) and same-popularity AUC
# at each budget. Last line: JSON.
#
# Usage: Scripts/privacy-table.sh --users-dir DIR [--peers N] [--seeds "1 2"] [--duration 200s] [--period-ms 1000]
#            [--curious 0.25] [--budgets 1,10,100] [--cells "off spread ..."] [--out DIR] [--skip-build] [--summary-only]
# --summary-only: no runs, only the table of the runs already in --out (cells and seeds without a run are left out).
# Resumable: a run whose output already ends in a JSON line is not run again (same --out). Runs go one after another,
# each nice'd on one thread (the machine is shared). Budget 100 needs enough copies per victim: a large curious group
# (--curious) or a long run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${GOSSIPREC_BIN:-$ROOT/.build/release/gossiprec}"
USERS=""; PEERS=""; SEEDS="1 2"; DURATION="200s"; PERIOD=1000; CURIOUS=0.25; BUDGETS="1,10,100"; OUT=""; SKIP=0
CELLS="off spread default pseudo ldp share spread+ldp"; SUMMARY=0
die() { echo "privacy-table: error: $*" >&2; exit 1; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --users-dir) USERS="$2"; shift 2 ;;
        --peers) PEERS="$2"; shift 2 ;;
        --seeds) SEEDS="$2"; shift 2 ;;
        --duration) DURATION="$2"; shift 2 ;;
        --period-ms) PERIOD="$2"; shift 2 ;;
        --curious) CURIOUS="$2"; shift 2 ;;
        --budgets) BUDGETS="$2"; shift 2 ;;
        --cells) CELLS="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --skip-build) SKIP=1; shift ;;
        --summary-only) SUMMARY=1; SKIP=1; shift ;;
        -h|--help) sed -n '2,/^set -e/{/^#/p}' "$0"; exit 0 ;;
        *) die "unknown option '$1' (try --help)" ;;
    esac
done
[[ -d "$USERS" ]] || die "--users-dir DIR (from 'gossiprec split') is required"
OUT="${OUT:-$ROOT/runs/privacy-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT"
[[ "$SKIP" -eq 1 ]] || (cd "$ROOT" && nice swift build -c release --product gossiprec >&2)

knobs() {   # a cell's privacy options
    case "$1" in
        off) echo "" ;;
        spread) echo "--spread-votes 1" ;;
        default) echo "--spread-votes 1 --decoy-move 0.45" ;;   # the candidate default (README, "Privacy of what a peer sends")
        pseudo) echo "--pseudo-items 3" ;;
        ldp) echo "--ldp-clip 0.05 --ldp-noise 1" ;;
        share) echo "--share-fraction 0.3" ;;
        spread+ldp) echo "--spread-votes 1 --ldp-clip 0.05 --ldp-noise 1" ;;
        spread+ldp-small) echo "--spread-votes 1 --ldp-clip 0.02 --ldp-noise 0.5" ;;
        spread+move0) echo "--spread-votes 1 --decoy-move 0" ;;
        *) die "unknown cell '$1'" ;;
    esac
}

for cell in $CELLS; do
    [[ "$SUMMARY" -eq 0 ]] || break
    for seed in $SEEDS; do
        file="$OUT/$cell-s$seed.txt"
        if [[ -f "$file" ]] && tail -1 "$file" | grep -q '^{'; then continue; fi
        echo "privacy-table: $cell seed $seed" >&2
        # shellcheck disable=SC2046
        nice "$BIN" privacy-audit --users-dir "$USERS" ${PEERS:+--peers "$PEERS"} --duration "$DURATION" --period-ms "$PERIOD" \
            --curious-fraction "$CURIOUS" --budgets "$BUDGETS" --seed "$seed" --threads 1 --skip-model-codec $(knobs "$cell") \
            > "$file" 2>&1 || echo "privacy-table: $cell seed $seed failed (see $file)" >&2
    done
done

python3 - "$OUT" "$CELLS" "$SEEDS" <<'PY'
import json, sys, os
out, cells, seeds = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
rows = {}
for c in cells:
    js = []
    for s in seeds:
        f = os.path.join(out, f"{c}-s{s}.txt")
        try:
            last = open(f).read().strip().splitlines()[-1]
            js.append(json.loads(last))
        except Exception:
            pass
    if js: rows[c] = js
def mean(js, k):
    xs = [j[k] for j in js if j.get(k) is not None]
    return sum(xs) / len(xs) if xs else float("nan")
budgets = sorted({int(k.split("_")[1]) for js in rows.values() for j in js for k in j if k.startswith("auc_")})
base = rows.get("off")
print("cell            seeds  HR@10   dHR(paired)  NDCG@10  MB/peer  " + "  ".join(f"AUC@{b} prec@{b} pop@{b} sameAUC@{b}" for b in budgets))
table = {}
for c, js in rows.items():
    hr = mean(js, "hr10_final_window")
    d = float("nan")
    if base:
        pairs = [(j["hr10_final_window"], b["hr10_final_window"]) for j in js for b in base if b["seed"] == j["seed"]]
        if pairs: d = sum(a - b for a, b in pairs) / sum(b for _, b in pairs)
    cols = []
    for b in budgets:
        cols.append(f"{mean(js, f'auc_{b}'):.3f} {mean(js, f'precision_{b}'):.3f} {mean(js, f'popularity_precision_{b}'):.3f} {mean(js, f'same_popularity_auc_{b}'):.3f}")
    print(f"{c:<15} {len(js):5d}  {hr:.4f}  {d*100:+6.2f}%     {mean(js, 'ndcg10'):.4f}  {mean(js, 'mb_per_peer'):7.2f}  " + "  ".join(cols))
    table[c] = {"hr10_final_window": hr, "hr10_change": d, "ndcg10": mean(js, "ndcg10"), "mb_per_peer": mean(js, "mb_per_peer"),
                **{f"{k}_{b}": mean(js, f"{k}_{b}") for b in budgets for k in ["auc", "precision", "popularity_precision", "same_popularity_auc"]}}
print(json.dumps(table))
PY
