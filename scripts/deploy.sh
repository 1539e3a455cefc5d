#!/usr/bin/env bash
# Prepares a database for the auren crates: applies the migrations, then creates the first
# admin API key, unless an active admin key exists already, and prints it ONCE.
#
#   DATABASE_URL=postgres://... scripts/deploy.sh
#
# The `auren` binary is taken from $AUREN_BIN, else from PATH, else built with cargo.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${DATABASE_URL:-}" ]]; then
    echo "deploy.sh: DATABASE_URL is not set" >&2
    exit 2
fi

if [[ -n "${AUREN_BIN:-}" ]]; then
    auren=("$AUREN_BIN")
elif command -v auren >/dev/null 2>&1; then
    auren=(auren)
else
    cargo build --quiet --release -p auren-cli
    auren=(target/release/auren)
fi

echo "==> applying migrations" >&2
"${auren[@]}" migrate >&2

# `auren keys list` columns: KEY ID, PREFIX, ROLE, RPM, STATE, USER.
if "${auren[@]}" keys list | awk 'NR > 1 && $3 == "admin" && $5 == "active" { found = 1 }
                                   END { exit !found }'; then
    echo "==> an active admin key exists already; no new key was created" >&2
    exit 0
fi

echo "==> creating the first admin key" >&2
key="$("${auren[@]}" keys create --user-id admin --role admin \
    --description "first admin key (scripts/deploy.sh)" 2>/dev/null | tail -n 1)"
if [[ "$key" != auren_* ]]; then
    echo "deploy.sh: the admin key could not be created" >&2
    exit 1
fi

echo "AUREN_ADMIN_KEY=$key"
echo "Store this key in your secret vault now: it is shown this once and cannot be" \
    "recovered. Pass it to the servers as AUREN_ADMIN_KEY." >&2
