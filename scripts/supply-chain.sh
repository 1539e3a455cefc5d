#!/usr/bin/env bash
# Supply-chain checks: licenses, bans and sources with cargo-deny (deny.toml), advisories
# when the RustSec database is reachable or already cached, and the MSRV of the tree.
#
#   scripts/supply-chain.sh            # installs cargo-deny if missing, then checks
#   OFFLINE=1 scripts/supply-chain.sh  # never fetch; advisories only from a cached copy
#
# Installing cargo-deny compiles it from crates.io (several minutes on a small machine,
# once); set CARGO_DENY_VERSION to pin another version.
set -euo pipefail

cd "$(dirname "$0")/.."
version="${CARGO_DENY_VERSION:-0.20.2}"

if ! command -v cargo-deny >/dev/null 2>&1; then
    echo "== installing cargo-deny ${version}"
    cargo install cargo-deny --locked --version "${version}"
fi

echo "== cargo deny: licenses, bans, sources"
cargo deny --offline --locked check --hide-inclusion-graph licenses bans sources

# Advisories need the RustSec database (a git repository on GitHub). Fetch it unless told
# not to; with no copy at all, say so loudly rather than pass silently.
db_dir="${HOME}/.cargo/advisory-dbs"
if [ -z "${OFFLINE:-}" ] && cargo deny --locked check advisories; then
    echo "== advisories: checked against a fresh database"
elif compgen -G "${db_dir}/*/crates" >/dev/null; then
    echo "== advisories: the database cannot be fetched; checking the cached copy"
    cargo deny --offline --locked check advisories
else
    echo "!! advisories NOT checked: the RustSec database is unreachable and not cached" >&2
    if [ -n "${CI:-}" ] && [ -z "${ALLOW_NO_ADVISORIES:-}" ]; then
        exit 1
    fi
fi

echo "== MSRV: no dependency may need a newer Rust than workspace.package.rust-version"
cargo metadata --format-version 1 --locked | python3 -c '
import json, sys
def version(text):
    parts = [int(p) for p in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))
meta = json.load(sys.stdin)
msrv = {p["rust_version"] for p in meta["packages"] if p["source"] is None and p.get("rust_version")}
assert len(msrv) == 1, f"the workspace crates disagree on rust-version: {msrv}"
msrv = msrv.pop()
above = []
for p in meta["packages"]:
    needed = p.get("rust_version")
    if needed and version(needed) > version(msrv):
        above.append(p["name"] + " " + p["version"] + " needs " + needed)
if above:
    sys.exit("dependencies above the MSRV " + msrv + ":\n  " + "\n  ".join(above))
print(f"   every dependency builds with Rust {msrv}")
'
echo "== supply chain: ok"
