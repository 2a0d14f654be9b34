#!/usr/bin/env bash
# PostgreSQL and Redis on loopback for the scaled profile, from Debian's packages (installed when missing).
# Idempotent: starts what is not running, creates the role and databases once. Prints the URLs to use.
set -euo pipefail
PG_PASSWORD="${SCALED_PG_PASSWORD:-zgc-local-only}"
PG_PORT="${SCALED_PG_PORT:-5432}"
REDIS_PORT="${SCALED_REDIS_PORT:-6379}"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
need=()
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} (Debian packages)…" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version main$"; then
  $SUDO pg_createcluster "$version" main -p "$PG_PORT" >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -q online; then
  $SUDO pg_ctlcluster "$version" main start
fi
psql_su() { $SUDO runuser -u postgres -- psql -p "$PG_PORT" -v ON_ERROR_STOP=1 -qAt "$@"; }
for _ in $(seq 1 30); do psql_su -c "select 1" >/dev/null 2>&1 && break; sleep 0.5; done
if [ "$(psql_su -c "select 1 from pg_roles where rolname='zgc'")" != "1" ]; then
  psql_su -c "create role zgc login password '$PG_PASSWORD'"
fi
for db in zgc_policy zgc_tracker; do
  if [ "$(psql_su -c "select 1 from pg_database where datname='$db'")" != "1" ]; then
    psql_su -c "create database $db owner zgc"
  fi
done
if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save "" --appendonly no \
    --logfile /tmp/zgc-redis.log >/dev/null
  for _ in $(seq 1 20); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.25; done
fi
echo "DATABASE_URL=postgresql://zgc:$PG_PASSWORD@127.0.0.1:$PG_PORT/zgc_policy"
echo "TRACKER_STORE_URL=postgresql://zgc:$PG_PASSWORD@127.0.0.1:$PG_PORT/zgc_tracker"
echo "REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
