#!/usr/bin/env bash
# Installs what this project needs on a fresh machine, and nothing twice:
#   1. node modules (npm ci, when missing or older than package-lock.json)
#   2. PostgreSQL server + client binaries (Debian packages; only when missing and we are root)
#   3. the official Temporal CLI at the pinned version, built from source with Go into .tools/bin
#      (the CLI's download site is unreachable here; the Go module proxy serves its source)
#   4. with --test: tmux and Debian's chromium, which two tests drive (a terminal, the Web UI)
set -euo pipefail
cd "$(dirname "$0")/.."
TEMPORAL_CLI_VERSION=v1.5.1   # keep in sync with lib/defaults.ts TEMPORAL_CLI_VERSION
say() { printf '[setup] %s\n' "$*" >&2; }

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing node modules (npm ci)"
  npm ci --no-audit --no-fund >&2
fi

apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing $* (apt-get)"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
  else
    say "missing: $* — install them (Debian: sudo apt-get install $*)"
    return 1
  fi
}

if [ "${1:-}" = "--test" ]; then
  need=()
  command -v tmux >/dev/null 2>&1 || need+=(tmux)
  [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || need+=(chromium)
  [ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"
fi

if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 && ! command -v pg_ctl >/dev/null 2>&1; then
  if [ -n "${DATABASE_URL:-}" ]; then
    say "PostgreSQL server binaries not installed; using DATABASE_URL (pg_dump/pg_restore of the server's major version are still needed for backups)"
  else
    apt_install postgresql postgresql-client || { say "or set DATABASE_URL to an existing server"; exit 1; }
  fi
fi

local_cli=.tools/bin/temporal
if [ -n "${TEMPORAL_CLI_PATH:-}" ]; then
  say "Temporal CLI: TEMPORAL_CLI_PATH=${TEMPORAL_CLI_PATH}"
elif command -v temporal >/dev/null 2>&1; then
  say "Temporal CLI: $(command -v temporal) (PATH) — $(temporal --version)"
elif [ -x "$local_cli" ] && command -v go >/dev/null 2>&1 && go version -m "$local_cli" 2>/dev/null | grep -Eq "^\s+mod\s+github.com/temporalio/cli\s+${TEMPORAL_CLI_VERSION}\b"; then
  say "Temporal CLI: $local_cli (project-local, ${TEMPORAL_CLI_VERSION}) — $("$local_cli" --version)"
elif command -v go >/dev/null 2>&1; then
  say "building the Temporal CLI ${TEMPORAL_CLI_VERSION} from the Go module proxy into .tools/bin (about 2 minutes the first time)"
  GOBIN="$PWD/.tools/bin" GOFLAGS=-mod=mod go install "github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}"
  say "Temporal CLI: $local_cli — $("$local_cli" --version)"
else
  say "no Temporal CLI and no Go toolchain: the SDK will try to download a dev server (needs internet), or set TEMPORAL_CLI_PATH"
fi
