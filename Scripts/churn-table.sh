#!/usr/bin/env bash
# Churn and stragglers on ML-100K: for each profile, a real swarm (Scripts/swarm.sh --profile: real processes and
# sockets, peers killed, restarted from checkpoints, slowed) and the event simulator (gossiprec simulate --engine
# events --profile: the same protocol code, the same expanded timeline, a virtual clock and network), then one table
# of final HR@10 and time to 90% of the centralized MF's HR@10, with each run's ratio to its churn-free run.
#
# Usage: Scripts/churn-table.sh [--duration S] [--real "P1 P2 ..."] [--sim "P1 P2 ..."] [--out DIR] [--skip-build]
#        Scripts/churn-table.sh --table-only --out DIR    (print the table of a finished run again)
# --sim-seeds "1 2 3": run every simulated profile with each of these seeds (default "1") and report means; "vs none"
# is, per seed, the HR@10 of the profile's online peers over that of the same peers in the churn-free run of the seed
# (simulate --ranks), with a t interval over seeds; "sim s to 90%" is the mean over the seeds that reached it, with
# "(k of n)" when some did not. "sim window" is the same over the samples of each run's final window (each peer's hit
# rate over them; simulate --final-window-seconds, 100 s by default), which a single sample's swarm-wide swing of about
# ±0.02 does not move. Real rows get a 95% interval
# from per-peer paired differences (the same 943 users in both runs; a peer's hit or miss at its last evaluation).
# Profiles are names in Scripts/profiles (without .profile). Defaults: 400 s; real and sim: none churn10 churn30
# churn50 stragglers20 churn30-stragglers20 partition50 (7 real runs: about an hour on 2 cores). At 400 s the churned
# swarms are still learning (churn30-stragglers20 does about half the training of none); --duration 800 measures them
# levelled off (README, "The goal, measured to convergence").
# Real runs go one after another (each has the machine to itself); simulator runs two at a time afterwards, each on one
# thread (two single-threaded runs get more done than one run on two threads; the result is the same either way).
set -euo pipefail
{
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/.build/release/gossiprec"
ALL="none churn10 churn30 churn50 stragglers20 churn30-stragglers20 partition50"
DURATION=400; REAL="$ALL"; SIM="$ALL"
OUT=""; SKIP=""; TABLE_ONLY=0; SEEDS="1"
die() { echo "churn-table: error: $*" >&2; exit 1; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --duration) DURATION="$2"; shift 2 ;;
        --real) REAL="$2"; shift 2 ;;
        --sim) SIM="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --skip-build) SKIP="--skip-build"; shift ;;
        --table-only) TABLE_ONLY=1; shift ;;
        --sim-seeds) SEEDS="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -e/{/^#/p}' "$0"; exit 0 ;;
        *) die "unknown option '$1' (try --help)" ;;
    esac
done
for p in $REAL $SIM; do [[ -r "$ROOT/Scripts/profiles/$p.profile" ]] || die "no profile Scripts/profiles/$p.profile"; done
if [[ "$TABLE_ONLY" -eq 1 ]]; then
    [[ -d "$OUT" ]] || die "--table-only needs --out DIR of a finished run"
    REAL=$(for p in $REAL; do if [[ -d "$OUT/real-$p" ]]; then echo -n "$p "; fi; done)
    SIM=$(for p in $SIM; do if [[ -f "$OUT/sim-$p.txt" ]] || compgen -G "$OUT/sim-$p-seed*.txt" > /dev/null; then echo -n "$p "; fi; done)
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
for s in $SEEDS; do [[ "$s" =~ ^[0-9]+$ ]] || die "--sim-seeds: '$s' is not a whole number"; done
JOBS=()
# Seed by seed, so that a batch stopped early leaves every profile with the same seeds (pairs for "vs none").
for s in $SEEDS; do for p in $SIM_RUN; do JOBS+=("$p:$s"); done; done
set -- "${JOBS[@]}"
while [[ $# -gt 0 ]]; do
    for job in "$1" "${2:-}"; do
        [[ -z "$job" ]] && continue
        p="${job%%:*}"; s="${job##*:}"
        name="sim-$p"; [[ "$s" == 1 ]] || name="sim-$p-seed$s"
        echo "churn-table: simulator, profile $p, seed $s (${DURATION} virtual s)" >&2
        "$BIN" simulate --engine events --users-dir "$USERS" --profile "$ROOT/Scripts/profiles/$p.profile" --seed "$s" \
            --duration "${DURATION}s" --target-hr "$TARGET" --ranks "$OUT/$name.ranks.tsv" --threads 1 \
            > "$OUT/$name.txt" 2> "$OUT/$name.err" &
    done
    wait
    shift; [[ $# -gt 0 ]] && shift
done
python3 - "$OUT" "$CENTRAL" "$REAL" "$SIM" <<'PY'
import glob, json, math, os, re, sys
out, central, real, sim = sys.argv[1], float(sys.argv[2]), sys.argv[3].split(), sys.argv[4].split()
def real_evals(p):
    """Every logged rank (t, peer, hit, periodic evaluation or not: a peer's stop record also carries one) in the node
    logs of real run p."""
    ev = []
    for f in glob.glob(os.path.join(out, f"real-{p}", "node-*.jsonl")):
        for line in open(f):
            if '"rank"' not in line: continue
            d = json.loads(line)
            if d.get("rank") is not None: ev.append((d["t"], d["peer"], 1 if d["rank"] < 10 else 0, d.get("event") == "eval"))
    return ev
def last_hits(ev):
    """Each peer's hit (rank < 10) at its latest evaluation, from real_evals."""
    last = {}
    for t, k, h, _ in ev:
        if k not in last or t >= last[k][0]: last[k] = (t, h)
    return {k: h for k, (t, h) in last.items()}
def window_hits(ev, seconds=100):
    """Each peer's hit rate over its periodic evaluations in the last `seconds` of the run (the simulator's final window)."""
    ev = [(t, k, h) for t, k, h, periodic in ev if periodic]
    if not ev: return {}
    end, per = max(t for t, _, _ in ev), {}
    for t, k, h in ev:
        if t >= end - seconds: a = per.setdefault(k, [0, 0]); a[0] += h; a[1] += 1
    return {k: h / n for k, (h, n) in per.items()}
def paired(base, other):
    """(ratio of means, half-width of its 95% interval) from paired samples, or None."""
    keys = sorted(set(base) & set(other))
    if len(keys) < 2: return None
    d = [other[k] - base[k] for k in keys]
    m = sum(d) / len(d); sd = math.sqrt(sum((x - m) ** 2 for x in d) / (len(d) - 1))
    b = sum(base[k] for k in keys) / len(keys)
    return (1 + m / b, 1.96 * sd / math.sqrt(len(d)) / b) if b > 0 else None
def real_row(p, name="summary.json"):
    f = os.path.join(out, f"real-{p}", name)
    if not os.path.exists(f): return None
    d = json.load(open(f)); return d["hr10"], d.get("seconds_to_90pct_central"), d.get("online_peers", d.get("peers"))
def sim_seeds(p):
    """{seed: (hr10, seconds to target, HR@10 over the final window or None)} over the simulator runs of profile p."""
    runs = {}
    for f in glob.glob(os.path.join(out, f"sim-{p}.txt")) + glob.glob(os.path.join(out, f"sim-{p}-seed*.txt")):
        m = re.search(r"-seed(\d+)\.txt$", f)
        for line in reversed(open(f).read().splitlines()):
            if line.startswith("{"):
                d = json.loads(line); t = d.get("seconds_to_target")
                runs[int(m.group(1)) if m else 1] = (d["hr10"], None if t is None or t != t else t, d.get("hr10_final_window"))
                break
    return runs
T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26, 10: 2.23, 11: 2.20, 12: 2.18,
       13: 2.16, 14: 2.14, 15: 2.13, 16: 2.12, 17: 2.11, 18: 2.10, 19: 2.09, 20: 2.09, 21: 2.08, 22: 2.07, 23: 2.07,
       24: 2.06, 25: 2.06, 26: 2.06, 27: 2.05, 28: 2.05, 29: 2.05, 30: 2.04}
def t95(df):
    """Two-sided 95% quantile of Student's t with df degrees of freedom (beyond 30: 1.96 + 2.4 / df, within 0.003)."""
    return T95[df] if df in T95 else 1.96 + 2.4 / df
def sim_ranks(p, seed, window=False):
    """{peer: hit} over the peers online at the end of simulator run (p, seed), from its --ranks file, or None.
    window: {peer: hits / samples in the run's final window} instead (columns 9-10 of newer files; None without)."""
    f = os.path.join(out, f"sim-{p}.ranks.tsv" if seed == 1 else f"sim-{p}-seed{seed}.ranks.tsv")
    if not os.path.exists(f): return None
    rows = [l.split("\t") for l in open(f).read().splitlines()[1:]]
    if not window:
        return {int(r[0]): 1 if int(r[4]) < 10 else 0 for r in rows if r[1] == "1" and r[4] != "-"}
    if rows and len(rows[0]) < 10: return None
    return {int(r[0]): int(r[8]) / int(r[9]) for r in rows if r[1] == "1" and int(r[9]) > 0}
def sim_paired(p, window=False):
    """(ratio, half-width of its 95% interval, seeds) of profile p to none over the seeds both ran. Per seed the
    ratio is paired per peer: p's HR@10 over its online peers against none's HR@10 over the same peers (so a profile
    that ends with a different set of users online is not credited or blamed for who they are); across seeds, mean
    and a t interval. Without rank files: the ratio of per-seed means, paired per seed. window: each peer's hit rate
    over the samples of the run's final window (simulate --final-window-seconds) instead of its last one."""
    base, other = sim_seeds("none"), sim_seeds(p)
    seeds = sorted(set(base) & set(other))
    ratios = []
    for s in seeds:
        a, b = sim_ranks("none", s, window), sim_ranks(p, s, window)
        if window and (a is None or b is None): continue   # rank files from before the window columns
        if a is None or b is None: ratios = None; break
        keys = [k for k in b if k in a]
        hb = sum(a[k] for k in keys)
        if not keys or hb == 0: ratios = None; break
        ratios.append(sum(b[k] for k in keys) / hb)
    if ratios is None:
        if window: return None
        r = paired({k: base[k][0] for k in seeds}, {k: other[k][0] for k in seeds})
        return r and (r[0], r[1], len(seeds))
    if len(ratios) < 2: return (ratios[0], None, len(ratios)) if ratios else None
    m = sum(ratios) / len(ratios); sd = math.sqrt(sum((x - m) ** 2 for x in ratios) / (len(ratios) - 1))
    return (m, t95(len(ratios) - 1) * sd / math.sqrt(len(ratios)), len(ratios))
def sim_row(p):
    runs = sim_seeds(p)
    if not runs: return None
    ts = [t for _, t, _ in runs.values() if t is not None]
    ws = [w for _, _, w in runs.values() if w is not None]
    return (sum(h for h, _, _ in runs.values()) / len(runs), sum(ts) / len(ts) if ts else None, len(runs), len(ts),
            sum(ws) / len(ws) if ws and len(ws) == len(runs) else None)
print(f"centralized MF HR@10 {central:.4f}; 90% = {0.9*central:.4f}\n")
print("real: every peer's latest evaluation (offline peers included); real online: only peers heard from in the last 15 s")
print("(gossiprec report --online-window 15). sim: peers online at the end, mean over seeds. vs none: ratio to the")
print("churn-free run, with the half-width of its 95% interval (real: paired per peer; sim: per seed, the profile's")
print("online peers against the same peers in the churn-free run of that seed, then a t interval over seeds). sim window:")
print("the same over the samples of each run's final window (every peer's hit rate over them; simulate's")
print("--final-window-seconds, 100 s by default): one sample moves with the whole swarm by about ±0.02. real window:")
print("each peer's hit rate over its evaluations in the run's last 100 s, paired per peer.\n")
print("| profile | real HR@10 | real vs none | real window vs none | real s to 90% | real online HR@10 (peers) | online s to 90% | sim HR@10 (seeds) | sim vs none | sim window HR@10 | sim window vs none | sim s to 90% |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
ev0, seeds0 = real_evals("none") if "none" in real else [], sim_seeds("none")
hits0, win0 = last_hits(ev0), window_hits(ev0)
fmt = lambda x, d=4: "-" if x is None else f"{x:.{d}f}"
for p in dict.fromkeys(real + sim):
    r, s = real_row(p) if p in real else None, sim_row(p) if p in sim else None
    o = real_row(p, "summary-online.json") if p in real else None
    ev = real_evals(p) if p in real else []
    rp = paired(hits0, last_hits(ev)) if p in real and hits0 else None
    rw = paired(win0, window_hits(ev)) if p in real and win0 else None
    sp = sim_paired(p) if p in sim else None
    if p in sim and sp is None and seeds0 and s: sp = (s[0] / (sum(h for h, _, _ in seeds0.values()) / len(seeds0)), None, 1)
    wp = sim_paired(p, window=True) if p in sim else None
    rv = "-" if not rp else (f"{rp[0]:.3f}" if p == "none" else f"{rp[0]:.3f} ± {rp[1]:.3f}")
    rwv = "-" if not rw else (f"{rw[0]:.3f}" if p == "none" else f"{rw[0]:.3f} ± {rw[1]:.3f}")
    ci = lambda x: "-" if not x else (f"{x[0]:.3f}" if p == "none" or x[1] is None else f"{x[0]:.3f} ± {x[1]:.3f}")
    on = "-" if not o else f"{o[0]:.4f} ({o[2]})"
    sh = "-" if not s else f"{s[0]:.4f} ({s[2]})"
    sw = "-" if not s or s[4] is None else f"{s[4]:.4f}"
    wv = ci(wp) + ("" if not wp or not s or wp[2] == s[2] else f" ({wp[2]} seeds)")
    st = fmt(s and s[1], 0) + ("" if not s or s[1] is None or s[3] == s[2] else f" ({s[3]} of {s[2]})")
    print(f"| {p} | {fmt(r and r[0])} | {rv} | {rwv} | {fmt(r and r[1], 0)} | {on} | {fmt(o and o[1], 0)} | {sh} | {ci(sp)} | {sw} | {wv} | {st} |")
PY
exit 0
}
