#!/usr/bin/env bash
# Every test of fieldstream, in order; stops at the first failure. `npm test` runs this after
# scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-300}"
started=$SECONDS

stage() { printf '\n\033[1;34m== %s\033[0m\n' "$*"; }

stage "format (cargo fmt --check)"
cargo fmt --all --check

stage "lint (cargo clippy, native and wasm32)"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p fieldstream --target wasm32-unknown-unknown --all-targets -- -D warnings

stage "native tests, the server on SQLite and on a throwaway PostgreSQL (cargo test --workspace)"
scripts/with-postgres.sh cargo test --workspace

stage "wasm tests in Node.js"
cargo test -p fieldstream --target wasm32-unknown-unknown --test wasm

stage "wasm tests in headless Chromium"
WASM_BINDGEN_USE_BROWSER=1 cargo test -p fieldstream --target wasm32-unknown-unknown --test wasm

stage "IndexedDB store in headless Chromium: a page, then a dedicated worker"
cargo test -p fieldstream --target wasm32-unknown-unknown --test web --test worker

stage "npm package build (release)"
node scripts/build.mjs

stage "benchmark harness, smoke mode: tiny sizes, every arm must run (bench/run.mjs --smoke)"
node bench/run.mjs --smoke

stage "package tests: Node.js, Chromium (page, dedicated worker, a Vite-built app, the React hooks) driven by playwright-core, workerd through miniflare, storage \"remote\" and the edge-worker example against the server, and the field-sales demo end to end as npm start serves it (node --test)"
# A hung test fails on its own (10 minutes per test) and the stage as a whole (40 minutes), with
# its output, instead of holding CI until its limit.
timeout --kill-after=30 2400 node --test --test-timeout=600000 tests/js/ tests/browser/ tests/api/ tests/e2e/

stage "TypeScript type check (tsc --noEmit)"
npx tsc -p tsconfig.json

printf '\n\033[1;32mall tests passed in %ss\033[0m\n' "$((SECONDS - started))"
