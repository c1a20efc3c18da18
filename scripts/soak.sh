#!/usr/bin/env bash
# The long versions of the reliability suite (issue 10); `npm run soak` runs this.
#   scripts/soak.sh            # everything: ~20 min on 2 cores the first time (6 building), ~14 after
# FIELDSTREAM_SOAK=1 selects the long mode of every scenario: 4 x 2,500 commands through the
# fault proxy, 150 SIGKILLs per backend, 60 s of load with 200 subscribers, and 20,000 fuzz cases
# per property (PROPTEST_CASES). The scenarios drive an optimised server binary (built here with
# opt-level 3, no LTO) so that the load figures are the product's, not a debug build's;
# SOAK_DEBUG_SERVER=1 keeps the debug build instead. Figures are printed at the end and kept in
# target/tmp/reliability-figures.ndjson; the fault proxy's logs are in target/tmp/fault-proxy-*.ndjson.
set -euo pipefail
cd "$(dirname "$0")/.."

export FIELDSTREAM_SOAK=1
export PROPTEST_CASES="${PROPTEST_CASES:-20000}"
target="${CARGO_TARGET_DIR:-target}"
figures="$target/tmp/reliability-figures.ndjson"
mkdir -p "$target/tmp"
rm -f "$figures"

if [ "${SOAK_DEBUG_SERVER:-0}" = "0" ]; then
  cargo build --release -p fieldstream-server \
    --config 'profile.release.opt-level=3' --config 'profile.release.lto=false' \
    --config 'profile.release.codegen-units=16' --config 'profile.release.panic="unwind"'
  export FIELDSTREAM_SERVER_BIN="$PWD/$target/release/fieldstream-server"
fi

cargo test -p fault-proxy
# One scenario at a time, so that none measures another's load.
scripts/with-postgres.sh cargo test -p fieldstream-server --test reliability -- --test-threads=1

# The browser scenarios, long: crash safety (200 rounds, 20 kills), a 60 s flapping network,
# 5 tabs x 200, 4 browsers x 400 steps through the fault proxy.
node scripts/build.mjs
node --test tests/browser/crash-safety.test.mjs tests/browser/flapping.test.mjs tests/browser/multi-tab.test.mjs tests/browser/fleet.test.mjs

echo
echo "== figures ($figures)"
cat "$figures"
