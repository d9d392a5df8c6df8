#!/usr/bin/env bash
# The project's test command (README, .ci/run): builds warning-free and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
swift build 2>&1 | tee "$log"
if grep -q "warning:" "$log"; then echo "test.sh: swift build printed warnings (see above)"; exit 1; fi
swift test 2>&1
