#!/usr/bin/env bash
# Runs every check and test of the workspace against real PostgreSQL and Redis.
#
#   scripts/test.sh            everything, as CI runs it
#
# Starts (or installs, as root) PostgreSQL and Redis on 127.0.0.1 when they are not
# running, then: cargo fmt --check, cargo clippy -D warnings, cargo test --workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/services.sh
source scripts/services.sh
ensure_postgres
ensure_redis
ensure_postgres_tools

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

echo "==> cargo test"
cargo test --workspace
