#!/usr/bin/env bash
# The project's test command (README, .ci/run): builds warning-free and runs every test.
# Then fuzzes the wire decoder of the release build (50,000 inputs).
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,3p' "$0" | sed 's/^# //'; echo "usage: Scripts/test.sh   (no options; CI runs exactly this)"; exit 0 ;; "") ;; *) echo "test.sh: unknown option '$1' (try --help)" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."
log=$(mktemp)
swift build 2>&1 | tee "$log"
if grep -q "warning:" "$log"; then echo "test.sh: swift build printed warnings (see above)"; exit 1; fi
swift test 2>&1
# The decoder fuzz again, on the release build that peers run (a short run; Scripts/fuzz.sh runs 1,000,000).
bash Scripts/fuzz.sh --inputs 50000
