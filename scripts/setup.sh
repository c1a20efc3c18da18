#!/usr/bin/env bash
# Installs what fieldstream's build and tests need and the machine lacks; quick when nothing is
# missing, safe to run again. Needs rustup, Node.js and (for system packages) apt-get.
#
#   - the wasm32-unknown-unknown Rust target
#   - wasm-bindgen-cli at exactly the version of the wasm-bindgen crate in Cargo.toml
#   - Debian packages: chromium, chromium-driver (browser tests), binaryen (wasm-opt before
#     wasm-bindgen),
#     postgresql (server tests), brotli (bundle-size figures), strace (the server's durability
#     test counts flushes per acknowledged append)
#   - the npm packages of package-lock.json (among them binaryen, whose current wasm-opt
#     shrinks the final, bindgen-processed module)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

bindgen_version=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml)
[ -n "$bindgen_version" ] || { echo "setup: no pinned wasm-bindgen version in Cargo.toml" >&2; exit 1; }
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$bindgen_version" ]; then
  say "installing wasm-bindgen-cli $bindgen_version (takes a few minutes)"
  # Not --locked: the registry lacks one of its locked dependency versions.
  cargo install wasm-bindgen-cli --version "$bindgen_version" --force
fi

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v wasm-opt >/dev/null || missing+=(binaryen)
command -v brotli >/dev/null || missing+=(brotli)
command -v strace >/dev/null || missing+=(strace)
[ -x /usr/lib/postgresql/15/bin/postgres ] || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    say "installing ${missing[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: please install ${missing[*]} (no apt-get here)" >&2
    exit 1
  fi
fi

# npm ci only when package-lock.json changed since the last install.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.fieldstream-lock 2>/dev/null)" != "$lock_hash" ]; then
  say "installing npm packages"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.fieldstream-lock
fi
