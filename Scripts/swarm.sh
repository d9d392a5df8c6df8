#!/usr/bin/env bash
# GossipRec's main job: a local swarm of peers on MovieLens-100K over real loopback sockets.
#
# On a fresh machine it builds in release mode, obtains ML-100K (../shared if present, else the project's own
# download step), splits it leave-one-out into one file per user, trains the centralized MF reference on the same
# split, launches the swarm (default: every user a peer, spread over a few processes), shows a live progress line,
# and ends with the final HR@10 / NDCG@10 next to ItemPop and the centralized MF. Its last line of output is the
# run's summary JSON (also written to OUT/summary.json, with OUT/swarm.svg, OUT/settings.txt and the per-peer
# JSON lines OUT/node-*.jsonl).
#
# Usage: Scripts/swarm.sh [options]
#   --peers N          peers (default: every user of the data set)
#   --procs P          node processes sharing the peers (default 2, one per core)
#   --duration S       time budget in seconds (default 600)
#   --until-ratio R    quality budget: stop once the swarm's HR@10 >= R x centralized HR@10 (default: off)
#   --port BASE        first port; peer i listens on BASE+i for UDP and TCP (default 7000)
#   --period-ms MS     gossip period (default 2000: 943 peers on 2 cores run ~0.45 rounds/s at most; a shorter
#                      period only queues work, and exchanges then time out)
#   --dim D            embedding dimension (default 32)
#   --row-bits B       bits per value of the rows peers send: 32, 16 or 8 (default: the node's; see gossiprec node --help)
#   --data FILE        ratings file instead of ML-100K (any format 'gossiprec split' reads)
#   --mode M           random (peer sampling; default), static (needs --topology) or client-graph (DFedRec-style:
#                      peers disclose decoy-mixed interests and gossip mostly with similar peers; the learned graph
#                      is written to OUT/client-graph.edges). Client-graph knobs: --node-arg --cg-decoys=R etc.
#   --topology FILE    static mode: peers gossip only along this topology's edges (e.g. Topologies/ml100k-regular8.edges);
#                      default: dynamic peer sampling
#   --out DIR          report folder (default runs/swarm-<UTC time>)
#   --swarm-id N       swarm identifier (default: BASE), so two swarms never mix
#   --skip-build       use the existing .build/release/gossiprec
#   --node-arg ARG     extra argument for every 'gossiprec node' (repeatable)
#   --swarm-key FILE   seal every frame with the swarm key in FILE (mode 0600; 'gossiprec keygen --out FILE');
#                      default: a new key for this run, written to OUT/swarm.key
#   --insecure         run unkeyed (frames in clear, forgeable): only to measure what sealing costs
#   --checkpoint-seconds S  crash-safe state: every peer checkpoints to OUT/checkpoints/peer-U every S seconds
#   --profile FILE     churn/straggler profile (Scripts/profiles/*.profile) applied by the nodes to their peers on
#                      the wall clock (kills, leaves, restarts from checkpoints, joins, datagram loss, stragglers);
#                      implies --checkpoint-seconds 20 unless given
#   --kill-at T        kill test: at T seconds SIGKILL a random third of the node processes (use --procs 3 or
#                      more), truncate one killed peer's newest checkpoint (it must be detected, not loaded), and
#                      restart the processes --restart-after S later (default 15) without a seed address: their
#                      peers resume from their checkpoints and rejoin through the peers they knew. Implies
#                      --checkpoint-seconds 20 unless given. The report adds OUT/kill-test.txt.
# Ctrl-C stops every process it started; a second swarm on other ports can run beside the first.
set -euo pipefail
# The whole script is one brace group: bash parses it completely before running it, so editing this file while a
# swarm runs cannot change (or break) the running swarm.
{
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/.build/release/gossiprec"
PEERS=""; PROCS=2; DURATION=600; UNTIL=""; PORT=7000; PERIOD=2000; DIM=32; ROWBITS=""; DATA=""; OUT=""; SWARM=""; SKIP_BUILD=0; TOPOLOGY=""; MODE=""
CKPT=""; KILL_AT=""; RESTART_AFTER=15; PROFILE=""; KEY=""; INSECURE=0
NODE_ARGS=()
say() { echo "swarm: $*" >&2; }
die() { echo "swarm: error: $*" >&2; exit 1; }
need() { [[ $# -ge 2 && -n "$2" ]] || die "option $1 needs a value"; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --peers) need "$@"; PEERS="$2"; shift 2 ;;
        --procs) need "$@"; PROCS="$2"; shift 2 ;;
        --duration) need "$@"; DURATION="$2"; shift 2 ;;
        --until-ratio) need "$@"; UNTIL="$2"; shift 2 ;;
        --port) need "$@"; PORT="$2"; shift 2 ;;
        --period-ms) need "$@"; PERIOD="$2"; shift 2 ;;
        --row-bits) need "$@"; ROWBITS="$2"; shift 2 ;;
        --dim) need "$@"; DIM="$2"; shift 2 ;;
        --data) need "$@"; DATA="$2"; shift 2 ;;
        --topology) need "$@"; TOPOLOGY="$2"; shift 2 ;;
        --mode) need "$@"; MODE="$2"; shift 2 ;;
        --out) need "$@"; OUT="$2"; shift 2 ;;
        --swarm-id) need "$@"; SWARM="$2"; shift 2 ;;
        --skip-build) SKIP_BUILD=1; shift ;;
        --node-arg) need "$@"; NODE_ARGS+=("$2"); shift 2 ;;
        --swarm-key) need "$@"; KEY="$2"; shift 2 ;;
        --insecure) INSECURE=1; shift ;;
        --checkpoint-seconds) need "$@"; CKPT="$2"; shift 2 ;;
        --kill-at) need "$@"; KILL_AT="$2"; shift 2 ;;
        --profile) need "$@"; PROFILE="$2"; shift 2 ;;
        --restart-after) need "$@"; RESTART_AFTER="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
done
[[ "$PROCS" =~ ^[1-9][0-9]*$ ]] || die "--procs '$PROCS' is not a positive integer"
[[ "$PORT" =~ ^[0-9]+$ && "$PORT" -ge 1024 && "$PORT" -le 65000 ]] || die "--port '$PORT' must be in 1024..65000"
[[ "$DURATION" =~ ^[0-9]+$ && "$DURATION" -gt 0 ]] || die "--duration '$DURATION' is not a positive whole number of seconds"
SWARM="${SWARM:-$PORT}"
case "$MODE" in
    ""|random|client-graph) [[ -z "$TOPOLOGY" || -z "$MODE" ]] || die "--mode $MODE cannot be combined with --topology (that is --mode static)" ;;
    static) [[ -n "$TOPOLOGY" ]] || die "--mode static needs --topology FILE" ;;
    *) die "--mode '$MODE' must be random, static or client-graph" ;;
esac
[[ -n "$MODE" ]] && NODE_ARGS+=(--mode "$MODE")
if [[ -n "$TOPOLOGY" ]]; then
    [[ -r "$TOPOLOGY" ]] || die "cannot read topology file '$TOPOLOGY'"
    TOPOLOGY="$(cd "$(dirname "$TOPOLOGY")" && pwd)/$(basename "$TOPOLOGY")"
    NODE_ARGS+=(--topology "$TOPOLOGY")
fi
OUT="${OUT:-$ROOT/runs/swarm-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT"
if [[ -n "$KILL_AT" ]]; then
    [[ "$KILL_AT" =~ ^[0-9]+$ && "$RESTART_AFTER" =~ ^[0-9]+$ ]] || die "--kill-at and --restart-after take whole seconds"
    [[ $((KILL_AT + RESTART_AFTER)) -lt "$DURATION" ]] || die "--kill-at $KILL_AT + --restart-after $RESTART_AFTER must end before --duration $DURATION"
    CKPT="${CKPT:-20}"
fi
if [[ -n "$PROFILE" ]]; then
    [[ -r "$PROFILE" ]] || die "cannot read profile '$PROFILE'"
    PROFILE="$(cd "$(dirname "$PROFILE")" && pwd)/$(basename "$PROFILE")"
    CKPT="${CKPT:-20}"
fi
if [[ -n "$CKPT" ]]; then
    rm -rf "$OUT/checkpoints"   # a new swarm; restarted processes within this run resume from here
    NODE_ARGS+=(--checkpoint-dir "$OUT/checkpoints" --checkpoint-seconds "$CKPT")
fi

PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill -TERM "$p" 2>/dev/null || true; done
    for _ in $(seq 1 50); do   # up to 10 s for every node to stop cleanly and flush its log
        local alive=0
        for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill -0 "$p" 2>/dev/null && alive=1; done
        [[ $alive -eq 0 ]] && break
        sleep 0.2
    done
    for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill -KILL "$p" 2>/dev/null || true; done
}
trap 'cleanup' EXIT
trap 'say "interrupted, stopping the swarm"; exit 130' INT TERM

# 1. Build.
if [[ $SKIP_BUILD -eq 0 ]]; then
    say "building (swift build -c release)"
    (cd "$ROOT" && swift build -c release 2>&1 | tail -1 >&2) || die "swift build -c release failed"
fi
[[ -x "$BIN" ]] || die "$BIN is missing (build first or drop --skip-build)"

# 2. Data.
if [[ -z "$DATA" ]]; then
    DIR="$("$ROOT/Scripts/fetch-movielens.sh")" || die "could not obtain MovieLens-100K (see above)"
    DATA="$DIR/u.data"
fi
[[ -r "$DATA" ]] || die "cannot read data file '$DATA'"

# 3. Split: NCF files and one file per user.
say "splitting $DATA"
"$BIN" split --data "$DATA" --out "$OUT/split" >&2
USERS=$(ls "$OUT/split.users" | grep -c '^user-')
PEERS="${PEERS:-$USERS}"
[[ "$PEERS" =~ ^[0-9]+$ && "$PEERS" -ge 2 && "$PEERS" -le "$USERS" ]] || die "--peers '$PEERS' must be in 2..$USERS"
[[ $((PORT + PEERS)) -le 65535 ]] || die "ports $PORT..$((PORT + PEERS - 1)) exceed 65535"
[[ "$PROCS" -le "$PEERS" ]] || PROCS="$PEERS"
[[ -n "$PROFILE" ]] && NODE_ARGS+=(--profile "$PROFILE" --swarm-peers "$PEERS")
# Frames: sealed with --swarm-key FILE, or a key made for this run, or (--insecure) in clear.
if [[ $INSECURE -eq 1 ]]; then
    [[ -z "$KEY" ]] || die "--insecure and --swarm-key exclude each other"
    NODE_ARGS+=(--insecure); FRAMES=insecure
    say "INSECURE: --insecure: frames travel in clear and unauthenticated"
else
    if [[ -z "$KEY" ]]; then
        KEY="$OUT/swarm.key"
        rm -f "$KEY"
        "$BIN" keygen --out "$KEY" >&2 || die "could not make a key for this run"
    fi
    KEY="$(cd "$(dirname "$KEY")" && pwd)/$(basename "$KEY")"
    NODE_ARGS+=(--swarm-key "$KEY"); FRAMES=sealed
    say "frames sealed with the swarm key in $KEY"
fi

# 4. The centralized reference on the same split.
say "training the centralized MF reference on the same split"
CENTRAL_JSON=$("$BIN" train --split "$OUT/split" --dim "$DIM" --eval-every 0 | tail -1)
echo "$CENTRAL_JSON" > "$OUT/central.json"
json() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
CENTRAL=$(json "$CENTRAL_JSON" hr10); ITEMPOP=$(json "$CENTRAL_JSON" itempop_hr10)
say "centralized MF HR@10 $CENTRAL, ItemPop HR@10 $ITEMPOP"

cat > "$OUT/settings.txt" <<SET
data=$DATA
peers=$PEERS procs=$PROCS duration=$DURATION until_ratio=${UNTIL:-off}
port=$PORT swarm_id=$SWARM period_ms=$PERIOD dim=$DIM frames=$FRAMES row_bits=${ROWBITS:-default}
profile=${PROFILE:-none} mode=${MODE:-default} topology=${TOPOLOGY:-none (peer sampling)}
node_args=${NODE_ARGS[*]:-}
central_hr10=$CENTRAL itempop_hr10=$ITEMPOP
started=$(date -u +%FT%TZ)
SET

# 5. Launch: process 0 hosts the seed (its first peer); the others join through it.
PER=$(( (PEERS + PROCS - 1) / PROCS ))
LOGS=""
FIRSTS=(); COUNTS=()
# launch J NAME [extra node args...]: start node process J (its peers FIRSTS[J] .. +COUNTS[J]-1), logging to NAME.*
launch() {
    local j="$1" name="$2"; shift 2
    "$BIN" node --users-dir "$OUT/split.users" --peers "${COUNTS[$j]}" --first-user "${FIRSTS[$j]}" \
        --listen "127.0.0.1:$((PORT + FIRSTS[j]))" --swarm-id "$SWARM" --period-ms "$PERIOD" --dim "$DIM" \
        --duration $((DURATION + 120)) --progress-seconds 0 --log "$OUT/$name.jsonl" ${ROWBITS:+--row-bits "$ROWBITS"} "${NODE_ARGS[@]}" "$@" \
        > "$OUT/$name.out" 2> "$OUT/$name.err" &
    PIDS[$j]=$!
    LOGS="${LOGS:+$LOGS,}$OUT/$name.jsonl"
}
first=0
for ((j = 0; j < PROCS && first < PEERS; j++)); do
    n=$(( PEERS - first < PER ? PEERS - first : PER ))
    FIRSTS[$j]=$first; COUNTS[$j]=$n
    join=()
    # Several seeds from the first process, so a seed that a profile keeps offline does not split the swarm.
    [[ $j -gt 0 ]] && join=(--join "$(for k in 0 1 2 3 4 5 6 7; do printf '127.0.0.1:%d,' $((PORT + k)); done | sed 's/,$//')")
    launch "$j" "node-$j" "${join[@]}"
    first=$((first + n))
    sleep 0.3
done
say "launched ${#PIDS[@]} node processes with $PEERS peers on 127.0.0.1:$PORT..$((PORT + PEERS - 1))"

# 6. Live progress until the time or quality budget is spent.
START=$(date +%s)
CRASHED=""
KILLED=(); KILL_STATE=""; KILL_NOTE=""
[[ -n "$KILL_AT" ]] && KILL_STATE=pending
while :; do
    sleep 10
    now=$(( $(date +%s) - START ))
    [[ $now -ge $DURATION ]] && break
    if [[ "$KILL_STATE" == pending && $now -ge $KILL_AT ]]; then
        nkill=$(( ${#PIDS[@]} / 3 )); [[ $nkill -ge 1 ]] || nkill=1
        mapfile -t KILLED < <(seq 0 $(( ${#PIDS[@]} - 1 )) | shuf -n "$nkill" | sort -n)
        killed_peers=0
        for j in "${KILLED[@]}"; do kill -KILL "${PIDS[$j]}" 2>/dev/null || true; killed_peers=$((killed_peers + COUNTS[j])); done
        for j in "${KILLED[@]}"; do wait "${PIDS[$j]}" 2>/dev/null || true; PIDS[$j]=""; done
        victim="$OUT/checkpoints/peer-${FIRSTS[${KILLED[0]}]}/checkpoint.bin"
        if [[ -f "$victim" ]]; then
            truncate -s $(( $(stat -c %s "$victim") / 2 )) "$victim"
            KILL_NOTE="truncated $victim to half its size (a torn checkpoint)"
        fi
        say "kill test at ${now}s: SIGKILL node processes ${KILLED[*]} ($killed_peers peers); $KILL_NOTE"
        KILL_STATE=killed; KILL_TIME=$now
        echo "killed_at=$now processes=${KILLED[*]} peers=$killed_peers $KILL_NOTE" > "$OUT/kill-test.txt"
    elif [[ "$KILL_STATE" == killed && $now -ge $((KILL_TIME + RESTART_AFTER)) ]]; then
        for j in "${KILLED[@]}"; do launch "$j" "node-$j.restarted" --log-time-offset "$now"; done
        say "kill test at ${now}s: restarted node processes ${KILLED[*]} (no seed address: they rejoin through their checkpoints)"
        echo "restarted_at=$now" >> "$OUT/kill-test.txt"
        KILL_STATE=restarted
    fi
    CRASHED=""
    for p in "${PIDS[@]}"; do [[ -z "$p" ]] && continue; kill -0 "$p" 2>/dev/null || CRASHED="$p"; done
    if [[ -n "$CRASHED" ]]; then
        say "error: a node process ($CRASHED) died after ${now}s; see $OUT/node-*.err. Stopping and reporting what was measured."
        break
    fi
    line=$("$BIN" report --logs "$LOGS" --last --central-hr10 "$CENTRAL" 2>/dev/null || true)
    if [[ -n "$line" ]]; then
        printf 'swarm: %4ds  %s\n' "$now" "$(python3 -c "
import json,sys; d=json.loads(sys.argv[1])
print(f\"round {d['mean_round']:.0f}  HR@10 {d['hr10']:.4f}  NDCG@10 {d['ndcg10']:.4f}  ({d['hr10']/float(sys.argv[2]):.0%} of central)  MB/peer {d['mb_per_peer']:.1f}  peers reporting {d['peers']}\")" "$line" "$CENTRAL")" >&2
        if [[ -n "$UNTIL" ]] && python3 -c "import json,sys; sys.exit(0 if json.loads(sys.argv[1])['hr10'] >= float(sys.argv[2]) * float(sys.argv[3]) else 1)" "$line" "$UNTIL" "$CENTRAL"; then
            say "quality budget reached"; break
        fi
    fi
done

# 7. Stop, aggregate, report. CPU of the node processes (user, system) read from /proc just before they stop
# (processes restarted by --kill-at count from their restart).
CPU_USER=0; CPU_SYS=0; TICKS=$(getconf CLK_TCK)
for p in "${PIDS[@]:-}"; do
    [[ -n "$p" && -r /proc/$p/stat ]] || continue
    read -r u s < <(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12, $13}') || continue
    CPU_USER=$((CPU_USER + u)); CPU_SYS=$((CPU_SYS + s))
done
cleanup
PIDS=()
"$BIN" report --logs "$LOGS" --bucket 10 --central-hr10 "$CENTRAL" --itempop-hr10 "$ITEMPOP" \
    --summary "$OUT/summary.json" --svg "$OUT/swarm.svg" > "$OUT/curve.txt"
python3 - "$OUT/summary.json" "$FRAMES" "$CPU_USER" "$CPU_SYS" "$TICKS" "${ROWBITS:-default}" "$(nproc)" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["frames"] = sys.argv[2]
ticks = float(sys.argv[5])
d["node_cpu_user_s"] = round(int(sys.argv[3]) / ticks, 1); d["node_cpu_system_s"] = round(int(sys.argv[4]) / ticks, 1)
if d.get("seconds"):
    d["node_cpu_share"] = round((d["node_cpu_user_s"] + d["node_cpu_system_s"]) / (d["seconds"] * int(sys.argv[7])), 3)
d["row_bits"] = sys.argv[6]
json.dump(d, open(sys.argv[1], "w"))
PY
cat "$OUT/curve.txt" | sed '$d' >&2
python3 - "$OUT/summary.json" <<'PY' >&2
import json, sys
d = json.load(open(sys.argv[1]))
print(f"\nfinal after {d['seconds']:.0f} s, {d['peers']} peers, frames {d['frames'].upper() if d['frames'] == 'insecure' else d['frames']}:")
print(f"  swarm HR@10 {d['hr10']:.4f}  NDCG@10 {d['ndcg10']:.4f}  ({d['ratio_to_central']:.1%} of centralized)")
print(f"  centralized MF HR@10 {d['central_hr10']:.4f}   ItemPop HR@10 {d['itempop_hr10']:.4f}")
print(f"  {d['mb_per_peer']:.1f} MB sent per peer, {d.get('rounds_per_second', 0):.3f} rounds/s, node CPU {d['node_cpu_user_s']:.0f} s user + {d['node_cpu_system_s']:.0f} s system ({d.get('node_cpu_share', 0):.0%} of the cores); report in {sys.argv[1].rsplit('/', 1)[0]}")
PY
if [[ "$MODE" == client-graph ]]; then
    "$BIN" topology from-logs "$OUT"/node-*.jsonl --out "$OUT/client-graph.edges" >&2 &&
        "$BIN" topology describe "$OUT/client-graph.edges" --distance-limit 1000 > "$OUT/client-graph.txt" 2>&1 &&
        say "learned client graph: $OUT/client-graph.edges (described in $OUT/client-graph.txt)"
fi
if [[ "$KILL_STATE" == restarted ]]; then
    python3 - "$OUT" "${KILLED[@]}" <<'PY' | tee -a "$OUT/kill-test.txt" >&2
import glob, json, os, sys
out, killed = sys.argv[1], sys.argv[2:]
restore = {"current": 0, "previous": 0, "none": 0}; rejected = 0; rejoined = 0; peers = 0; rounds = []
for j in killed:
    for line in open(os.path.join(out, f"node-{j}.restarted.jsonl")):
        try: d = json.loads(line)
        except ValueError: continue
        if d.get("event") == "restore":
            restore[d["source"]] = restore.get(d["source"], 0) + 1; rejected += d["rejected"]; rounds.append(d["round"])
        if d.get("event") == "stop":
            peers += 1
            if d["live_peers"] > 0 and d["exchanges_completed"] > 0: rejoined += 1
for j in killed:
    for line in open(os.path.join(out, f"node-{j}.restarted.err")):
        if "REJECTED" in line: print("  " + line.strip())
print(f"restarted peers: {sum(restore.values())}; resumed from checkpoint.bin {restore['current']}, from checkpoint.prev "
      f"{restore['previous']}, fresh {restore['none']}; checkpoint files rejected {rejected}; "
      f"resumed at round {min(rounds) if rounds else 0}..{max(rounds) if rounds else 0}")
print(f"rejoined (live peers and completed exchanges after restart): {rejoined} of {peers}")
PY
fi
cat "$OUT/summary.json"
if [[ -n "$CRASHED" ]]; then say "the run is incomplete: node process $CRASHED died (see $OUT/node-*.err)"; exit 1; fi
exit 0
}
