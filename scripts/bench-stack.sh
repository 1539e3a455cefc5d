#!/usr/bin/env bash
# The whole stack under load, beside the same handler with no layers, in the same run.
#
#   scripts/bench-stack.sh           # full run (~15 min), results into docs/performance.md
#   scripts/bench-stack.sh --quick   # smoke run (~2 min), results printed only
#
# What it does:
#   1. installs wrk when missing, makes sure PostgreSQL and Redis answer (scripts/services.sh)
#      and builds the release binaries;
#   2. makes a fresh database `auren_bench_stack` and uses Redis logical database 7
#      (FLUSHDB at start and end), so it touches no other data; a fresh PHI master key;
#   3. starts `biometric-server` (full stack: request id, audit, auth, rate limit) and
#      `bare_biometrics` (the same handler, no layer) on the same database and master key;
#      loads a pool of user keys whose limits never throttle, and five sealed readings for
#      each key's user and for the bare handler's user, so both do the same work;
#   4. throughput: wrk on GET /api/biometrics, keys spread over the pool
#      (scripts/bench-stack/keys.lua), bare and stack alternating, the median of the rounds;
#      then latency at a steady rate below saturation (BENCH_LAT_CONNECTIONS connections,
#      each pausing BENCH_LAT_DELAY_MS between requests: about 1,000 requests/s), where the
#      time a request spends in the layers shows instead of the time it queues;
#   5. audit: SIGTERM the server (it flushes its audit queue), then counts the
#      `phi_audit_log` rows of GET /api/biometrics against the responses wrk completed;
#   6. over-admission: a key limited to 60/min driven at thousands of requests/s; admitted
#      must not exceed the GCRA allowance (a burst of 60, then one per second);
#   7. memory: a million requests (100,000 in --quick) over 100,000 distinct keys (10,000),
#      peak RSS (VmHWM) before and after, beside the bounds of the in-memory caches;
#   8. writes the results between the bench-stack markers of docs/performance.md (full run
#      only; BENCH_STACK_DOC=<file> names another file, also for --quick) and prints them.
# Everything it started, created or flushed is removed on exit.
#
# Knobs (environment): BENCH_THREADS (2), BENCH_CONNECTIONS (32), BENCH_PG_URL (a URL of
# the Postgres server's `postgres` database), BENCH_STACK_LISTEN (127.0.0.1:8889),
# BARE_LISTEN (127.0.0.1:8890), BENCH_REDIS_DB (7), BENCH_LAT_CONNECTIONS (10),
# BENCH_LAT_DELAY_MS (8).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=scripts/services.sh
source scripts/services.sh

QUICK=0
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=1 ;;
        -h | --help) sed -n '2,32p' "$0"; exit 0 ;;
        *) echo "error: unknown argument $arg (try --help)" >&2; exit 2 ;;
    esac
done

if [ "$QUICK" = 1 ]; then
    DURATION=3 WARMUP=1 ROUNDS=2 OVER_SECONDS=5 MEM_KEYS=10000 MEM_REQUESTS=100000
    DOC="${BENCH_STACK_DOC:-}"
else
    DURATION=15 WARMUP=3 ROUNDS=3 OVER_SECONDS=20 MEM_KEYS=100000 MEM_REQUESTS=1000000
    DOC="${BENCH_STACK_DOC:-docs/performance.md}"
fi
THREADS="${BENCH_THREADS:-2}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
LAT_CONNECTIONS="${BENCH_LAT_CONNECTIONS:-10}"
LAT_DELAY_MS="${BENCH_LAT_DELAY_MS:-8}"
POOL_KEYS=1000
USERS=100
READINGS_PER_USER=5
BARE_USER=bench-bare
UNTHROTTLED=1000000 # requests per minute: the most a key may have
THROTTLED=60

PG_BASE="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DB=auren_bench_stack
DB_URL="${PG_BASE%/*}/$DB"
REDIS_DB="${BENCH_REDIS_DB:-7}"
REDIS_URL="redis://127.0.0.1:6379/$REDIS_DB"
STACK_ADDR="${BENCH_STACK_LISTEN:-127.0.0.1:8889}"
BARE_ADDR="${BARE_LISTEN:-127.0.0.1:8890}"

SERVER_PID="" BARE_PID="" WRK_PID="" DB_CREATED=0 REDIS_USED=0
TMP=$(mktemp -d /tmp/bench-stack.XXXXXX) # holds secrets (keys): private, removed on exit
chmod 700 "$TMP"

log() { echo "bench-stack: $*" >&2; }

stop_pid() {
    local pid=$1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$?
    stop_pid "$WRK_PID"
    stop_pid "$BARE_PID"
    stop_pid "$SERVER_PID"
    if [ "$DB_CREATED" = 1 ]; then
        psql "$PG_BASE" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    if [ "$REDIS_USED" = 1 ]; then
        redis-cli -n "$REDIS_DB" FLUSHDB >/dev/null 2>&1 || true
    fi
    rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. tools, services, binaries ------------------------------------------------------

command -v wrk >/dev/null 2>&1 || apt_install wrk
ensure_postgres
ensure_redis
ensure_postgres_tools
command -v redis-cli >/dev/null 2>&1 || apt_install redis-tools
for addr in "$STACK_ADDR" "$BARE_ADDR"; do
    if port_open "${addr##*:}"; then
        echo "error: port ${addr##*:} is in use; set BENCH_STACK_LISTEN / BARE_LISTEN" >&2
        exit 1
    fi
done

log "building release binaries"
cargo build --release -q -p biometric-server -p auren-benches --bins
SERVER_BIN="$ROOT/target/release/biometric-server"
BARE_BIN="$ROOT/target/release/bare_biometrics"
FIXTURES_BIN="$ROOT/target/release/bench_fixtures"

# --- 2. a database, a Redis database and a master key of our own ------------------------

psql "$PG_BASE" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
psql "$PG_BASE" -qc "CREATE DATABASE $DB" >/dev/null
DB_CREATED=1
REDIS_USED=1
redis-cli -n "$REDIS_DB" FLUSHDB >/dev/null
PHI_KEY=$(head -c32 /dev/urandom | base64)
ADMIN_KEY=""

# --- helpers ----------------------------------------------------------------------------

wait_for_http() {
    local url=$1 pid=$2
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || { echo "error: $url: the process exited" >&2; return 1; }
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" != 000 ] && return 0
        sleep 0.2
    done
    echo "error: nothing answered on $url" >&2
    return 1
}

start_server() {
    local vars=(AUREN_LISTEN="$STACK_ADDR" DATABASE_URL="$DB_URL" REDIS_URL="$REDIS_URL"
        PHI_MASTER_KEY="$PHI_KEY" AUREN_LOG_FORMAT=text RUST_LOG=warn)
    [ -n "$ADMIN_KEY" ] && vars+=(AUREN_ADMIN_KEY="$ADMIN_KEY")
    env "${vars[@]}" "$SERVER_BIN" >>"$TMP/server.out" 2>>"$TMP/server.log" &
    SERVER_PID=$!
    wait_for_http "http://$STACK_ADDR/health" "$SERVER_PID"
}

start_bare() {
    BARE_LISTEN="$BARE_ADDR" BARE_USER_ID="$BARE_USER" DATABASE_URL="$DB_URL" \
        PHI_MASTER_KEY="$PHI_KEY" RUST_LOG=warn "$BARE_BIN" 2>>"$TMP/bare.log" &
    BARE_PID=$!
    wait_for_http "http://$BARE_ADDR/api/biometrics" "$BARE_PID"
}

# The status line of /proc/<pid>/status named $2, in kB.
proc_kb() { awk -v name="$2:" '$1 == name { print $2 }' "/proc/$1/status"; }

# A wrk duration or latency (850.00us, 1.20ms, 2.00s, 1.50m) in microseconds.
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        f = (u == "us") ? 1 : (u == "ms") ? 1e3 : (u == "s") ? 1e6 : (u == "m") ? 6e7 : 3.6e9
        printf "%.0f\n", n * f }'
}

# Runs wrk with keys.lua; $1 a label, $2 the base URL, $3 the key file, $4 seconds, then
# extra VAR=value settings for the script. The output is kept in $TMP/wrk-<label>.txt.
run_wrk() {
    local label=$1 url=$2 keys=$3 seconds=$4
    shift 4
    env BENCH_KEYS="$keys" BENCH_THREADS="$THREADS" "$@" \
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"${seconds}s" --latency \
        -s scripts/bench-stack/keys.lua "$url/api/biometrics" >"$TMP/wrk-$label.txt" 2>&1
}

wrk_field() {
    local file="$TMP/wrk-$1.txt"
    case "$2" in
        rps) awk '/^Requests\/sec:/ { print $2 }' "$file" ;;
        completed) awk '/ requests in / { print $1 }' "$file" ;;
        seconds) to_us "$(awk '/ requests in / { sub(",", "", $4); print $4 }' "$file")" |
            awk '{ printf "%.2f\n", $1 / 1e6 }' ;;
        p50 | p99) to_us "$(awk -v p="${2#p}%" '$1 == p { print $2 }' "$file")" ;;
        non2xx) awk '/Non-2xx/ { s += $NF } END { print s + 0 }' "$file" ;;
        errors) awk '/Socket errors/ { gsub(",", ""); s += $4 + $6 + $8 + $10 }
            END { print s + 0 }' "$file" ;;
        status) awk -v c="$3" '$1 == "status" && $2 == c { s += $3 } END { print s + 0 }' \
            "$file" ;;
    esac
}

# The median of the numbers on stdin, rounded to a whole number.
median() { sort -g | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.0f\n", m }'; }

# --- 3. servers and fixtures --------------------------------------------------------------

log "starting biometric-server on $STACK_ADDR"
start_server
ADMIN_KEY=$(sed -n 's/^AUREN_ADMIN_KEY=//p' "$TMP/server.out" | head -n 1)
if [ -z "$ADMIN_KEY" ]; then
    echo "error: the server printed no AUREN_ADMIN_KEY; see its log:" >&2
    cat "$TMP/server.log" >&2
    exit 1
fi

log "issuing $POOL_KEYS pool keys and $MEM_KEYS memory-run keys, seeding readings"
DATABASE_URL="$DB_URL" "$FIXTURES_BIN" keys --count "$POOL_KEYS" --users "$USERS" \
    --rate-limit "$UNTHROTTLED" --out "$TMP/pool.keys"
DATABASE_URL="$DB_URL" "$FIXTURES_BIN" keys --count "$MEM_KEYS" --users "$USERS" \
    --rate-limit "$UNTHROTTLED" --out "$TMP/memory.keys"
DATABASE_URL="$DB_URL" PHI_MASTER_KEY="$PHI_KEY" "$FIXTURES_BIN" readings \
    --per-user "$READINGS_PER_USER" --users "$USERS" --extra-user "$BARE_USER"

# The throttled key goes through the admin API, as an operator would issue it.
curl -sf -X POST "http://$STACK_ADDR/admin/api-keys" \
    -H "authorization: Bearer $ADMIN_KEY" -H 'content-type: application/json' \
    -d "{\"user_id\": \"bench-throttled\", \"role\": \"user\", \"rate_limit\": $THROTTLED}" \
    >"$TMP/throttled.json"
sed -n 's/.*"api_key":"\([^"]*\)".*/\1/p' "$TMP/throttled.json" >"$TMP/throttled.keys"
[ -s "$TMP/throttled.keys" ] || { echo "error: the admin API issued no key" >&2; exit 1; }

log "starting bare_biometrics on $BARE_ADDR"
start_bare

# Both answer the same thing for the same work: a list of five readings.
for url in "http://$BARE_ADDR" "http://$STACK_ADDR"; do
    got=$(curl -sf "$url/api/biometrics" -H "authorization: Bearer $(head -n 1 "$TMP/pool.keys")" |
        grep -o '"bpm"' | wc -l)
    [ "$got" = "$READINGS_PER_USER" ] || {
        echo "error: $url answered $got readings, expected $READINGS_PER_USER" >&2
        exit 1
    }
done

# --- 4. throughput, alternating ---------------------------------------------------------

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "throughput: warm-up, then $ROUNDS rounds of ${DURATION}s (bare, stack)"
run_wrk warm-bare "http://$BARE_ADDR" "$TMP/pool.keys" "$WARMUP"
run_wrk warm-stack "http://$STACK_ADDR" "$TMP/pool.keys" "$WARMUP"
stack_runs=(warm-stack)
for round in $(seq 1 "$ROUNDS"); do
    run_wrk "bare-$round" "http://$BARE_ADDR" "$TMP/pool.keys" "$DURATION"
    run_wrk "stack-$round" "http://$STACK_ADDR" "$TMP/pool.keys" "$DURATION"
    stack_runs+=("stack-$round")
    log "round $round: bare $(wrk_field "bare-$round" rps) req/s," \
        "stack $(wrk_field "stack-$round" rps) req/s"
done

log "latency: $LAT_CONNECTIONS connections pausing ${LAT_DELAY_MS} ms, $ROUNDS rounds"
for round in $(seq 1 "$ROUNDS"); do
    (CONNECTIONS=$LAT_CONNECTIONS run_wrk "lat-bare-$round" "http://$BARE_ADDR" \
        "$TMP/pool.keys" "$DURATION" BENCH_DELAY_MS="$LAT_DELAY_MS")
    (CONNECTIONS=$LAT_CONNECTIONS run_wrk "lat-stack-$round" "http://$STACK_ADDR" \
        "$TMP/pool.keys" "$DURATION" BENCH_DELAY_MS="$LAT_DELAY_MS")
    stack_runs+=("lat-stack-$round")
    log "round $round: bare p99 $(wrk_field "lat-bare-$round" p99) µs," \
        "stack p99 $(wrk_field "lat-stack-$round" p99) µs"
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

for side in bare stack lat-bare lat-stack; do
    for field in rps p50 p99 non2xx errors; do
        value=$(for round in $(seq 1 "$ROUNDS"); do wrk_field "$side-$round" "$field"; done |
            median)
        printf -v "${side//-/_}_${field}" '%s' "$value"
    done
done
stop_pid "$BARE_PID"
BARE_PID=""

# --- 5. audit: every completed response has its row -----------------------------------

completed=0
for run in "${stack_runs[@]}"; do
    completed=$((completed + $(wrk_field "$run" completed)))
done
log "stopping the server (it flushes its audit queue)"
stop_pid "$SERVER_PID"
SERVER_PID=""
audit_rows=$(psql "$DB_URL" -qAtc "SELECT count(*) FROM phi_audit_log
    WHERE resource = '/api/biometrics' AND method = 'GET'")
audit_ok_rows=$(psql "$DB_URL" -qAtc "SELECT count(*) FROM phi_audit_log
    WHERE resource = '/api/biometrics' AND method = 'GET' AND status_code = 200")
in_flight_max=$(( ${#stack_runs[@]} * CONNECTIONS ))  # the latency runs hold fewer
if [ "$audit_rows" -lt "$completed" ]; then
    audit_verdict="LOSS: $((completed - audit_rows)) responses have no row"
elif [ "$((audit_rows - completed))" -le "$in_flight_max" ]; then
    audit_verdict="no loss"
else
    audit_verdict="more extra rows than requests in flight could explain"
fi

# --- 6. over-admission ------------------------------------------------------------------

start_server
log "over-admission: a ${THROTTLED}/min key driven for ${OVER_SECONDS}s"
(THREADS=1 CONNECTIONS=2 run_wrk over "http://$STACK_ADDR" "$TMP/throttled.keys" \
    "$OVER_SECONDS" BENCH_COUNT=1)
over_admitted=$(wrk_field over status 200)
over_refused=$(wrk_field over status 429)
over_seconds=$(wrk_field over seconds)
over_total=$(wrk_field over completed)
over_allowed=$(awk -v s="$over_seconds" -v b="$THROTTLED" 'BEGIN { printf "%d", b + int(s) }')
over_rate=$(awk -v n="$over_total" -v s="$over_seconds" 'BEGIN { printf "%.0f", n / s }')
over_excess=$(( over_admitted > over_allowed ? over_admitted - over_allowed : 0 ))

# --- 7. memory --------------------------------------------------------------------------

rss_before=$(proc_kb "$SERVER_PID" VmRSS)
hwm_before=$(proc_kb "$SERVER_PID" VmHWM)
log "memory: $MEM_REQUESTS requests over $MEM_KEYS keys"
per_thread=$(( (MEM_REQUESTS + THREADS - 1) / THREADS ))
env BENCH_KEYS="$TMP/memory.keys" BENCH_THREADS="$THREADS" BENCH_COUNT=1 \
    BENCH_MAX="$per_thread" BENCH_DONE="$TMP/done" \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d3600s --latency -s scripts/bench-stack/keys.lua \
    "http://$STACK_ADDR/api/biometrics" >"$TMP/wrk-memory.txt" 2>&1 &
WRK_PID=$!
mem_started=$SECONDS
while kill -0 "$WRK_PID" 2>/dev/null; do
    done_threads=$(find "$TMP" -maxdepth 1 -name 'done.*' | wc -l)
    [ "$done_threads" -ge "$THREADS" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "error: the server died" >&2; exit 1; }
    sleep 1
done
kill -INT "$WRK_PID" 2>/dev/null || true
wait "$WRK_PID" || true
WRK_PID=""
mem_seconds=$((SECONDS - mem_started))
mem_completed=$(wrk_field memory completed)
mem_ok=$(wrk_field memory status 200)
mem_rps=$(wrk_field memory rps)
rss_after=$(proc_kb "$SERVER_PID" VmRSS)
hwm_after=$(proc_kb "$SERVER_PID" VmHWM)
stop_pid "$SERVER_PID"
SERVER_PID=""

# The bounds, read from the source so the report follows the code.
bound() { grep -ho "$1: [a-z0-9]* = [0-9_]*" "$2" | head -n 1 | sed 's/.* = //; s/_/,/g'; }
cache_bound=$(bound DEFAULT_MAX_ENTRIES crates/auren-auth/src/cache.rs)
last_used_bound=$(bound MAX_TRACKED_KEYS crates/auren-auth/src/last_used.rs)
limiter_bound=$(bound DEFAULT_MAX_KEYS crates/auren-ratelimit/src/store/memory/mod.rs)
phi_users_bound=$(grep -ho 'max_users: [0-9_]*,' crates/auren-phi-crypto/src/cache.rs |
    head -n 1 | sed 's/max_users: //; s/,//; s/_/,/g')
queue_bound=$(grep -ho 'queue_capacity: [0-9_]*,' crates/auren-audit/src/writer.rs |
    head -n 1 | sed 's/queue_capacity: //; s/,//; s/_/,/g')

# --- 8. report --------------------------------------------------------------------------

us() {
    awk -v v="$1" 'BEGIN { if (v >= 1000 || v <= -1000) printf "%.2f ms", v / 1000
        else printf "%d µs", v }'
}
mib() { awk -v v="$1" 'BEGIN { printf "%.1f MiB", v / 1024 }'; }
met() { if [ "$1" = 1 ]; then echo met; else echo "not met"; fi; }
ratio_pct=$(awk -v s="$stack_rps" -v b="$bare_rps" 'BEGIN { printf "%.0f", 100 * s / b }')
added_p50=$((stack_p50 - bare_p50))
added_p99=$((stack_p99 - bare_p99))
lat_added_p50=$((lat_stack_p50 - lat_bare_p50))
lat_added_p99=$((lat_stack_p99 - lat_bare_p99))
mode=$([ "$QUICK" = 1 ] && echo "--quick smoke run" || echo "full run")
no_loss=$([ "$audit_rows" -ge "$completed" ] && echo 1 || echo 0)
target_ratio=$([ "$ratio_pct" -ge 70 ] && echo 1 || echo 0)
target_p99=$([ "$lat_added_p99" -lt 100 ] && echo 1 || echo 0)
target_rate=$([ "$stack_rps" -ge 1000 ] && [ "$no_loss" = 1 ] && echo 1 || echo 0)
target_over=$([ "$over_excess" = 0 ] && echo 1 || echo 0)
memory_gb=$(free -g | awk '/^Mem:/ { print $2 }')

# Prints its arguments as a paragraph wrapped at 96 columns; with -i, as a list item.
wrap() {
    if [ "$1" = -i ]; then
        shift
        echo "- $*" | fold -s -w 96 | sed 's/ *$//; 2,$s/^/  /'
    else
        echo "$*" | fold -s -w 96 | sed 's/ *$//'
    fi
}

{
    wrap "$(date -u '+%Y-%m-%d %H:%M UTC'), $mode, $(nproc) cores, $memory_gb GiB;" \
        "load average $LOAD_START before the throughput runs and $LOAD_END after." \
        "wrk -t$THREADS -c$CONNECTIONS, ${DURATION}s per run, the medians of $ROUNDS" \
        "alternating rounds (bare, stack) after a ${WARMUP}s warm-up of each; $POOL_KEYS" \
        "keys over $USERS users, each user with $READINGS_PER_USER readings, as the bare" \
        "handler's user."
    echo
    echo "| GET /api/biometrics | requests/s | p50 | p99 | throughput vs bare |"
    echo "|---|---|---|---|---|"
    echo "| bare handler (no layers) | $bare_rps | $(us "$bare_p50") | $(us "$bare_p99") | 1x |"
    echo "| full stack | $stack_rps | $(us "$stack_p50") | $(us "$stack_p99") | $ratio_pct% |"
    echo
    wrap "At saturation a request's latency is mostly its wait in the queue, so the latency" \
        "the layers add is measured at a steady rate below saturation: wrk" \
        "-t$THREADS -c$LAT_CONNECTIONS, each connection pausing $LAT_DELAY_MS ms after" \
        "each response, ${DURATION}s per run, medians of $ROUNDS alternating rounds."
    echo
    echo "| steady load | requests/s | p50 | p99 |"
    echo "|---|---|---|---|"
    echo "| bare handler (no layers) | $lat_bare_rps | $(us "$lat_bare_p50") |" \
        "$(us "$lat_bare_p99") |"
    echo "| full stack | $lat_stack_rps | $(us "$lat_stack_p50") | $(us "$lat_stack_p99") |"
    echo
    wrap -i "Added by the stack at the steady rate: $(us "$lat_added_p50") at p50," \
        "$(us "$lat_added_p99") at p99; at saturation: $(us "$added_p50") at p50," \
        "$(us "$added_p99") at p99 (queueing, the throughput gap seen as time)." \
        "Non-2xx responses (median per run): bare $bare_non2xx, stack $stack_non2xx," \
        "steady stack $lat_stack_non2xx; socket errors: bare $bare_errors, stack" \
        "$stack_errors, steady stack $lat_stack_errors."
    wrap -i "Audit: $completed responses completed by wrk on the stack (warm-up" \
        "included), $audit_rows rows for GET /api/biometrics ($audit_ok_rows with status" \
        "200) once the server flushed on SIGTERM: $audit_verdict (up to $in_flight_max" \
        "extra rows are requests wrk cut in flight at the end of its runs)."
    wrap -i "Over-admission: a ${THROTTLED}/min key driven for ${over_seconds}s at" \
        "$over_rate requests/s: $over_admitted admitted, $over_refused refused with 429;" \
        "the GCRA allows $over_allowed (a burst of $THROTTLED, then 1/s): $over_excess over."
    wrap -i "Memory: $mem_completed requests ($mem_ok answered 200) over $MEM_KEYS distinct" \
        "keys in ${mem_seconds}s ($mem_rps req/s). Server peak RSS (VmHWM)" \
        "$(mib "$hwm_before") before, $(mib "$hwm_after") after (RSS $(mib "$rss_before")" \
        "then $(mib "$rss_after")). The bounds of the in-memory caches: key cache" \
        "$cache_bound found + $cache_bound unknown digests, last-used tracker" \
        "$last_used_bound keys, local rate-limit fallback $limiter_bound keys (unused while" \
        "Redis answers), PHI user-key cache $phi_users_bound users, audit queue" \
        "$queue_bound events."
    wrap -i "Targets: stack >= 70% of bare throughput $(met "$target_ratio"); < 100 µs" \
        "added at p99 at the steady rate $(met "$target_p99"); >= 1,000 req/s with zero" \
        "audit loss $(met "$target_rate"); zero over-admissions $(met "$target_over")."
} >"$TMP/report.md"

echo
cat "$TMP/report.md"

if [ -n "$DOC" ]; then
    begin='<!-- bench-stack:begin -->'
    end='<!-- bench-stack:end -->'
    if ! grep -qF "$begin" "$DOC"; then
        cat >>"$DOC" <<EOF

## Whole stack under load: \`scripts/bench-stack.sh\`

The example server with every layer (request id, audit, auth, rate limit) on local
Postgres and Redis, against the same \`GET /api/biometrics\` handler with no layer
(\`bare_biometrics\`) on the same database and PHI master key, driven by wrk in alternating
runs of the same settings; then the audit rows are counted against wrk's completed
responses, a throttled key is driven at far over its limit, and a million requests over
100,000 keys show the server's peak memory.

$begin
$end
EOF
    fi
    awk -v begin="$begin" -v end="$end" -v report="$TMP/report.md" '
        $0 == begin { print; while ((getline line < report) > 0) print line; skip = 1; next }
        $0 == end { skip = 0 }
        !skip { print }' "$DOC" >"$TMP/doc.md"
    cat "$TMP/doc.md" >"$DOC"
    log "results written to $DOC"
fi
