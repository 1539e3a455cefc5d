#!/usr/bin/env bash
# Loads six years of synthetic audit events into a database kept between runs
# (default `auren_bench_audit`), then runs the audit benches.
#
#   scripts/bench-audit.sh            # load if needed (10M rows, 72 months), run benches
#   ROWS=2000000 scripts/bench-audit.sh
#   LOAD_ONLY=1 scripts/bench-audit.sh
#
# Rows are generated server-side with generate_series: 10,000 users, 2% denied,
# ~1% errors. Chain columns hold placeholders: the query bench does not verify chains.
set -euo pipefail

ROWS="${ROWS:-10000000}"
MONTHS=72
DB="${AUREN_BENCH_AUDIT_DB:-auren_bench_audit}"
BASE="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
URL="${BASE%/*}/${DB}"
cd "$(dirname "$0")/.."

psql "$BASE" -qAtc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 \
    || psql "$BASE" -qc "CREATE DATABASE $DB"
cargo run -q -p auren-cli -- --database-url "$URL" migrate

loaded=$(psql "$URL" -qAtc "SELECT count(*) FROM phi_audit_log")
if [ "$loaded" -lt "$ROWS" ]; then
    echo "loading $ROWS rows over $MONTHS months into $DB (had $loaded)..."
    per_month=$(( (ROWS + MONTHS - 1) / MONTHS ))
    for i in $(seq 0 $((MONTHS - 1))); do
        start=$(( i * per_month ))
        psql "$URL" -q -v ON_ERROR_STOP=1 <<SQL
SET timezone = 'UTC';
SET synchronous_commit = off;
DO \$\$
DECLARE m date := (date_trunc('month', now()) - interval '$((MONTHS - 1 - i)) months')::date;
BEGIN
    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS phi_audit_log_p%s PARTITION OF phi_audit_log
         FOR VALUES FROM (%L) TO (%L)',
        to_char(m, 'YYYYMM'), m::timestamptz, (m + interval '1 month')::timestamptz);
END \$\$;
INSERT INTO phi_audit_log
SELECT m + (g - $start) * ((m + interval '1 month') - m) / $per_month,
       lpad(upper(to_hex(g)), 26, '0'),
       NULL,
       'user' || ((g::bigint * 7919) % 10000),
       NULL,
       CASE WHEN g % 50 = 0 THEN 'authenticate' ELSE 'read' END,
       '/api/biometrics',
       'GET',
       CASE WHEN g % 50 = 0 THEN 'denied' WHEN g % 97 = 0 THEN 'error' ELSE 'success' END,
       CASE WHEN g % 50 = 0 THEN 401 WHEN g % 97 = 0 THEN 500 ELSE 200 END,
       g % 50,
       '10.0.0.1',
       'bench/1.0',
       'bench',
       g,
       '\x00'::bytea,
       '\x00'::bytea
FROM generate_series($start, $start + $per_month - 1) AS g,
     LATERAL (SELECT (date_trunc('month', now()) - interval '$((MONTHS - 1 - i)) months') AS m) AS month
ON CONFLICT DO NOTHING;
SQL
        echo "  month $((i + 1))/$MONTHS loaded"
    done
    psql "$URL" -qc "ANALYZE phi_audit_log"
fi

[ -n "${LOAD_ONLY:-}" ] && exit 0
AUREN_BENCH_AUDIT_URL="$URL" cargo bench -p auren-benches --bench audit_query -- \
    --warm-up-time 1 --measurement-time 3
cargo bench -p auren-benches --bench audit_ingest -- --warm-up-time 1 --measurement-time 3
