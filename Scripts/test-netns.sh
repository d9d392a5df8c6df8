#!/usr/bin/env bash
# A GossipRec swarm across three Linux network namespaces: the "across machines" check on one machine.
#
# It creates four network namespaces with a random suffix: a hub holding a bridge, and three "machines" joined to
# it by one veth each, addressed 10.77.K.1 (K = 1, 2, 3; on-link 10.77.0.0/16, on those veths only: nothing is
# routed in or out of the namespaces and nothing changes in the root namespace). Namespace 3's link is made slow and
# lossy: with `tc netem` (delay 40 ms +- 20 ms, 10% loss, 5% duplicates, on both ends of its veth) if the kernel has
# it, else with the nodes' own test-only fault injection (`--fault-delay-ms 40+20 --fault-drop 0.1
# --fault-duplicate 0.05`, restricted with `--fault-to` to the traffic crossing that link). It writes a small
# synthetic data set with planted tastes (users in 3 groups, each liking only its group's items; the groups are
# spread over the namespaces), splits it, and runs one `gossiprec node` of PEERS peers in each namespace; namespaces
# 2 and 3 join through namespace 1's first peer. After DURATION seconds the nodes stop themselves, and the script
# checks from their JSON lines that
#   (a) every peer saw all the others live at some point (live_peers = peers - 1),
#   (b) model exchanges completed across every pair of namespaces, in both directions,
#   (c) the peers' mean final HR@10 beats ItemPop on the same split,
# prints what it measured, and exits 0 (pass) or 1 (fail). It builds nothing.
#
# Usage: Scripts/test-netns.sh [GOSSIPREC]    (default: .build/release/gossiprec, else .build/debug/gossiprec)
# Environment: NETNS_DURATION (seconds the nodes run, default 32), NETNS_PEERS (peers per namespace, default 6),
#              NETNS_KEEP=1 (keep the work directory even on success).
# Exit codes: 0 pass; 1 a check failed or a node died; 2 usage or set-up error (missing binary, python3, ...);
#             77 network namespaces cannot be created here (needs root or CAP_SYS_ADMIN): NOT a pass.
# Namespaces, veths (deleted with their namespaces) and node processes are always removed on exit, including on
# failure and on Ctrl-C. Run as root; it takes about DURATION + 10 seconds.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { echo "test-netns: $*" >&2; }
die() { echo "test-netns: error: $*" >&2; exit 2; }

case "${1:-}" in -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;; esac
[[ $# -le 1 ]] || die "at most one argument (the gossiprec binary); see --help"
BIN="${1:-}"
if [[ -z "$BIN" ]]; then
    for c in "$ROOT/.build/release/gossiprec" "$ROOT/.build/debug/gossiprec"; do
        [[ -x "$c" ]] && { BIN="$c"; break; }
    done
    [[ -n "$BIN" ]] || die "no gossiprec binary in $ROOT/.build/{release,debug}; build first or pass its path"
fi
[[ -x "$BIN" ]] || die "'$BIN' is not an executable file"
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
DURATION="${NETNS_DURATION:-32}"
PEERS="${NETNS_PEERS:-6}"
[[ "$DURATION" =~ ^[0-9]+$ && "$DURATION" -ge 10 && "$DURATION" -le 600 ]] || die "NETNS_DURATION '$DURATION' must be 10..600 seconds"
[[ "$PEERS" =~ ^[0-9]+$ && "$PEERS" -ge 2 && "$PEERS" -le 100 ]] || die "NETNS_PEERS '$PEERS' must be 2..100"
command -v python3 >/dev/null || die "python3 is needed to write the data set and read the JSON logs"
command -v ip >/dev/null || { say "SKIPPED: the 'ip' command (iproute2) is missing, so no network namespaces"; exit 77; }

SUFFIX="$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
HUB="grn-$SUFFIX-hub"
NS=("" "grn-$SUFFIX-1" "grn-$SUFFIX-2" "grn-$SUFFIX-3")
PORT=7100
SWARM=$(( 0x$SUFFIX % 4000000000 ))
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gossiprec-netns-XXXXXX")"
CREATED=()
PIDS=()
RESULT=2

cleanup() {
    trap - EXIT INT TERM
    local p ns alive
    for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill -TERM "$p" 2>/dev/null; done
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        alive=0
        for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill -0 "$p" 2>/dev/null && alive=1; done
        [[ $alive -eq 0 ]] && break
        sleep 0.2
    done
    for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill -KILL "$p" 2>/dev/null; done
    for ns in "${CREATED[@]:-}"; do
        [[ -n "$ns" ]] || continue
        # Anything still inside one of our own namespaces was started by us: stop it by its id.
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null || say "warning: could not delete namespace $ns"
    done
    if [[ ($RESULT -eq 0 || $RESULT -eq 77) && "${NETNS_KEEP:-0}" != 1 ]]; then rm -rf "$WORK"; else say "logs kept in $WORK"; fi
}
trap 'cleanup' EXIT
trap 'say "interrupted; cleaning up"; RESULT=130; exit 130' INT TERM

# 1. Privilege: one attempt; without it, say so plainly and skip (never a pass).
if ! err=$(ip netns add "$HUB" 2>&1); then
    say "SKIPPED: cannot create network namespaces here ('ip netns add' said: ${err:-nothing}); run as root (CAP_SYS_ADMIN)"
    RESULT=77; exit 77
fi
CREATED+=("$HUB")
setup() {
    local k
    ip -n "$HUB" link set lo up &&
    ip -n "$HUB" link add br0 type bridge &&
    ip -n "$HUB" link set br0 up || return 1
    for k in 1 2 3; do
        ip netns add "${NS[$k]}" || return 1
        CREATED+=("${NS[$k]}")
        ip -n "${NS[$k]}" link set lo up &&
        ip -n "${NS[$k]}" link add eth0 type veth peer name port$k netns "$HUB" &&
        ip -n "$HUB" link set port$k master br0 &&
        ip -n "$HUB" link set port$k up &&
        ip -n "${NS[$k]}" addr add "10.77.$k.1/16" dev eth0 &&
        ip -n "${NS[$k]}" link set eth0 up || return 1
    done
}
setup || die "could not set up the namespaces and veths (see above)"
say "namespaces ${NS[1]}, ${NS[2]}, ${NS[3]} (10.77.1.1, 10.77.2.1, 10.77.3.1) on a bridge in $HUB"

# 2. A slow, lossy link for namespace 3: netem on both ends of its veth, else the nodes' fault injection.
FAULTS=("" "" "" "")
if tc -n "${NS[3]}" qdisc add dev eth0 root netem delay 40ms 20ms loss 10% duplicate 5% 2>/dev/null &&
   tc -n "$HUB" qdisc add dev port3 root netem delay 40ms 20ms loss 10% duplicate 5% 2>/dev/null; then
    IMPAIR="tc netem on namespace 3's veth (both ends): delay 40 ms +- 20 ms, loss 10%, duplicate 5%"
else
    tc -n "${NS[3]}" qdisc del dev eth0 root 2>/dev/null
    FAULT="--fault-delay-ms 40+20 --fault-drop 0.1 --fault-duplicate 0.05"
    FAULTS[1]="$FAULT --fault-to 10.77.3.0/24"
    FAULTS[2]="$FAULT --fault-to 10.77.3.0/24"
    FAULTS[3]="$FAULT --fault-to 10.77.1.0/24,10.77.2.0/24"
    IMPAIR="no tc netem in this kernel; node fault injection on traffic to and from namespace 3: delay 40+0..20 ms, drop 10% (datagrams), duplicate 5% (datagrams)"
fi
say "impaired link: $IMPAIR"

# 3. Data: planted tastes (3 groups x 20 items; a user likes 12 items of its group), split leave-one-out.
USERS=$((3 * PEERS))
python3 - "$WORK/data.txt" "$USERS" <<'PY' || die "could not write the data set"
import random, sys
path, users = sys.argv[1], int(sys.argv[2])
rng = random.Random(20261122)
with open(path, "w") as f:
    f.write("# user item rating timestamp: planted tastes, group = user % 3, items of group g are 20g..20g+19\n")
    for u in range(users):
        g = u % 3
        items = rng.sample(range(20 * g, 20 * g + 20), 12)
        for t, i in enumerate(items):
            f.write(f"{u} {i} 1 {t}\n")
PY
"$BIN" split --data "$WORK/data.txt" --out "$WORK/split" --negatives 40 --seed 3 > "$WORK/split.out" 2>&1 \
    || { cat "$WORK/split.out" >&2; die "gossiprec split failed"; }
"$BIN" train --split "$WORK/split" --dim 8 --epochs 30 --eval-every 0 > "$WORK/train.out" 2>&1 \
    || { cat "$WORK/train.out" >&2; die "gossiprec train failed"; }
TRAIN_JSON="$(tail -1 "$WORK/train.out")"

# 4. One node per namespace; 2 and 3 join through namespace 1's first peer. Frames sealed with a key made for the run.
"$BIN" keygen --out "$WORK/swarm.key" 2> "$WORK/keygen.err" || { cat "$WORK/keygen.err" >&2; exit 2; }
for k in 1 2 3; do
    join=()
    [[ $k -gt 1 ]] && join=(--join "10.77.1.1:$PORT")
    # shellcheck disable=SC2086  # FAULTS[k] is a list of flags
    ip netns exec "${NS[$k]}" "$BIN" node --users-dir "$WORK/split.users" --peers "$PEERS" --first-user $(( (k - 1) * PEERS )) \
        --listen "10.77.$k.1:$PORT" "${join[@]}" --swarm-id "$SWARM" --swarm-key "$WORK/swarm.key" --period-ms 200 --eval-period-ms 2000 \
        --dim 8 --lr 0.3 --l2 0.001 --duration "$DURATION" --progress-seconds 0 --log "$WORK/ns$k.jsonl" ${FAULTS[$k]} \
        > "$WORK/ns$k.out" 2> "$WORK/ns$k.err" &
    PIDS+=($!)
    [[ $k -eq 1 ]] && sleep 0.5
done
say "running $USERS peers ($PEERS per namespace) for $DURATION s, swarm id $SWARM, work directory $WORK"

# 5. Wait for the nodes to stop themselves (bounded), then read their logs.
DEADLINE=$(( $(date +%s) + DURATION + 15 ))
failed=0
for k in 1 2 3; do
    while kill -0 "${PIDS[$((k - 1))]}" 2>/dev/null && [[ $(date +%s) -lt $DEADLINE ]]; do sleep 0.5; done
    if kill -0 "${PIDS[$((k - 1))]}" 2>/dev/null; then
        say "FAIL: the node in namespace $k did not stop within $((DURATION + 15)) s"; failed=1; continue
    fi
    wait "${PIDS[$((k - 1))]}"; rc=$?
    if [[ $rc -ne 0 ]]; then
        say "FAIL: the node in namespace $k exited with status $rc; its stderr ends with:"
        tail -5 "$WORK/ns$k.err" >&2
        failed=1
    fi
done
[[ $failed -eq 0 ]] || { RESULT=1; exit 1; }

python3 - "$WORK" "$PEERS" "$TRAIN_JSON" <<'PY'
import json, sys
work, per, train = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
total = 3 * per
ns_of = lambda peer: peer // per + 1
lines = {}
for k in (1, 2, 3):
    for raw in open(f"{work}/ns{k}.jsonl"):
        d = json.loads(raw)
        lines.setdefault(d["peer"], []).append(d)
ok = True
def check(cond, text):
    global ok
    print(("  ok    " if cond else "  FAIL  ") + text)
    ok = ok and cond

print(f"test-netns: measured ({total} peers, {per} per namespace)")
check(sorted(lines) == list(range(total)), f"every peer wrote JSON lines: {len(lines)} of {total}")
# (a) membership across namespaces
live = {p: max(d["live_peers"] for d in ls) for p, ls in lines.items()}
short = {p: v for p, v in live.items() if v < total - 1}
check(not short and len(live) == total,
      f"(a) every peer saw live_peers = {total - 1} at some point (min over peers {min(live.values(), default=0)})"
      + (f"; short: {short}" if short else ""))
# (b) completed exchanges between namespaces, by direction (the starter's namespace -> the partner's)
stops = {p: next((d for d in reversed(ls) if d["event"] == "stop"), None) for p, ls in lines.items()}
check(all(s is not None for s in stops.values()), "every peer wrote a final 'stop' line")
matrix = {(a, b): 0 for a in (1, 2, 3) for b in (1, 2, 3)}
for p, s in stops.items():
    for partner, n in (s or {}).get("completed_with", {}).items():
        matrix[(ns_of(p), ns_of(int(partner)))] += n
print("        completed exchanges, started in row namespace with a partner in column namespace:")
print("              ns1    ns2    ns3")
for a in (1, 2, 3):
    print(f"        ns{a} " + "".join(f"{matrix[(a, b)]:7d}" for b in (1, 2, 3)))
cross = [(a, b) for a in (1, 2, 3) for b in (1, 2, 3) if a != b]
check(all(matrix[c] > 0 for c in cross), "(b) exchanges completed across every pair of namespaces, both directions")
ns2 = [p for p in range(per, 2 * per)]
ns2_both = [p for p in ns2 if stops.get(p) and
            {ns_of(int(q)) for q in stops[p].get("completed_with", {})} >= {1, 3}]
print(f"        peers of ns2 that completed exchanges with both ns1 and ns3: {len(ns2_both)} of {per}")
# (c) quality at the end: each peer's latest evaluation
final = {p: next((d["hr10"] for d in reversed(ls) if "hr10" in d), None) for p, ls in lines.items()}
evaluated = [v for v in final.values() if v is not None]
mean = sum(evaluated) / len(evaluated) if evaluated else 0.0
pop = train["itempop_hr10"]
check(len(evaluated) == total, f"every peer evaluated its held-out item: {len(evaluated)} of {total}")
check(mean > pop, f"(c) mean final HR@10 {mean:.4f} beats ItemPop {pop:.4f} (centralized MF on the same split: {train['hr10']:.4f})")
# traffic and injected faults
sum_key = lambda key: sum((s or {}).get(key, 0) for s in stops.values())
completed, failed = sum_key("exchanges_completed"), sum_key("exchanges_failed")
faults, dropped = {}, {}
for s in stops.values():
    for k, v in (s or {}).get("faults", {}).items(): faults[k] = faults.get(k, 0) + v
    for k, v in (s or {}).get("dropped", {}).items(): dropped[k] = dropped.get(k, 0) + v
print(f"        exchanges completed {completed}, failed {failed}; MB sent {sum_key('bytes_sent') / 1e6:.2f}")
print(f"        injected by the nodes: {faults or 'nothing'}; dropped by reason: {dropped or 'nothing'}")
print("test-netns: " + ("PASS" if ok else "FAIL"))
sys.exit(0 if ok else 1)
PY
RESULT=$?
exit $RESULT
