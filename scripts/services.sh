#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer on 127.0.0.1. Sourced by scripts/test.sh and the
# bench scripts: starts them when installed and stopped, installs them with apt-get when
# missing and running as root, and otherwise stops with a clear message.

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_for_port() {
    local name=$1 port=$2
    for _ in $(seq 1 60); do
        port_open "$port" && return 0
        sleep 0.5
    done
    echo "error: $name did not start listening on 127.0.0.1:$port" >&2
    return 1
}

apt_install() {
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "error: $* is not installed, and this script can only install it as root" \
             "with apt-get; install it, or point DATABASE_URL/REDIS_URL at a server" >&2
        return 1
    fi
    echo "installing $* with apt-get" >&2
    if [ -z "${AUREN_APT_UPDATED:-}" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        AUREN_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

ensure_postgres() {
    if port_open 5432; then
        return 0
    fi
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        apt_install postgresql postgresql-client || return 1
    fi
    local version
    version=$(ls /etc/postgresql | sort -n | tail -n 1)
    # Tests connect over TCP as `postgres` without a password, as on the dev machines.
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    if [ -w "$hba" ] && ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
        sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    fi
    echo "starting PostgreSQL $version" >&2
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
    wait_for_port PostgreSQL 5432
}

ensure_redis() {
    if port_open 6379; then
        return 0
    fi
    if ! command -v redis-server >/dev/null 2>&1; then
        apt_install redis-server || return 1
    fi
    echo "starting Redis" >&2
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
        --appendonly no --dir /tmp --logfile /tmp/auren-redis.log >&2
    wait_for_port Redis 6379
}

ensure_postgres_tools() {
    command -v pg_dump >/dev/null 2>&1 || apt_install postgresql-client
}
