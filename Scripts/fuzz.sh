#!/usr/bin/env bash
# The WireFormat decoder fuzz on the release build, the build peers run: builds the `wire-fuzz` program with
# `swift build -c release` and feeds WireCodec.decode N hostile inputs made from one seed (mutations of valid
# frames: bit flips, edge bytes, truncations, inserted and deleted bytes, payload lengths that lie, random
# bytes; see Sources/WireFuzz/DecoderFuzz.swift). Every input must be rejected with a typed DecodeError or
# accepted and re-encoded to the identical bytes; the decoder must never trap.
#
# Usage: Scripts/fuzz.sh [--inputs N] [--seed S] [--skip-build]
#   --inputs N     number of inputs (default 1000000: a few seconds of one core)
#   --seed S       seed of the inputs, decimal or 0x-hex (default 1); the same seed replays the same inputs
#   --skip-build   use the existing .build/release/wire-fuzz
#
# The last line of output counts inputs, accepted, and rejected by reason. Exit status: 0 when every input
# passed; 1 on a violation (the offending inputs are printed with their index) or a vacuous run; another
# non-zero status if the build failed or the decoder crashed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INPUTS=1000000; SEED=1; SKIP_BUILD=0
die() { echo "fuzz: error: $*" >&2; exit 2; }
need() { [[ $# -ge 2 && -n "$2" ]] || die "option $1 needs a value"; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --inputs) need "$@"; INPUTS="$2"; shift 2 ;;
        --seed) need "$@"; SEED="$2"; shift 2 ;;
        --skip-build) SKIP_BUILD=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
done
[[ "$INPUTS" =~ ^[1-9][0-9]*$ ]] || die "--inputs '$INPUTS' is not a positive whole number"
[[ "$SEED" =~ ^([0-9]+|0[xX][0-9a-fA-F]+)$ ]] || die "--seed '$SEED' is not a decimal or 0x-hex number"
cd "$ROOT"
if [[ "$SKIP_BUILD" -eq 0 ]]; then
    echo "fuzz: swift build -c release --product wire-fuzz" >&2
    log=$(mktemp)
    trap 'rm -f "$log"' EXIT
    swift build -c release --product wire-fuzz > "$log" 2>&1 || { cat "$log" >&2; die "swift build -c release failed"; }
    if grep -q "warning:" "$log"; then cat "$log" >&2; die "the release build printed warnings"; fi
fi
BIN="$ROOT/.build/release/wire-fuzz"
[[ -x "$BIN" ]] || die "no executable at $BIN (run without --skip-build)"
echo "fuzz: $INPUTS inputs, seed $SEED, on the release build" >&2
"$BIN" --inputs "$INPUTS" --seed "$SEED"
