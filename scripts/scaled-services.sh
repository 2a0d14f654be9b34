#!/usr/bin/env bash
# PostgreSQL and Redis on loopback for the scaled profile, from Debian's packages (installed when missing).
# Idempotent: starts what is not running, creates the role and databases once. Prints the settings to use.
# `scaled-services.sh stop` stops the cluster and the Redis the same variables name.
#
# Both need a password: PostgreSQL's role `zgc` gets a generated one and Redis runs with `requirepass`. The
# passwords come from SCALED_PG_PASSWORD / SCALED_REDIS_PASSWORD, else they are generated once into
# var/scaled-services/ (directory 0700, files 0600). SCALED_PG_PORT, SCALED_PG_CLUSTER and SCALED_REDIS_PORT
# choose the instances (the tests run their own next to a developer's: see tests/scale/conftest.py).
set -euo pipefail
cd "$(dirname "$0")/.."
umask 077
PG_PORT="${SCALED_PG_PORT:-5432}"
PG_CLUSTER="${SCALED_PG_CLUSTER:-main}"
REDIS_PORT="${SCALED_REDIS_PORT:-6379}"
STATE="var/scaled-services"
mkdir -p "$STATE"
chmod 700 var "$STATE"
secret() {  # secret NAME: the password kept in $STATE/NAME, generated on first use (hex: safe in URLs and SQL)
  if [ ! -s "$STATE/$1" ]; then
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$STATE/$1"
  fi
  cat "$STATE/$1"
}
PG_PASSWORD="${SCALED_PG_PASSWORD:-$(secret "pg-$PG_CLUSTER-$PG_PORT")}"
REDIS_PASSWORD="${SCALED_REDIS_PASSWORD:-$(secret "redis-$REDIS_PORT")}"
case "$PG_PASSWORD$REDIS_PASSWORD" in *[!A-Za-z0-9_-]*) echo "error: passwords: letters, digits, '_' and '-' only" >&2; exit 2;; esac
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
if [ "${1:-}" = "stop" ]; then  # stop this cluster and this Redis (the tests stop their own at the end of a session)
  version=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1)
  if [ -n "$version" ] && pg_lsclusters -h 2>/dev/null | awk -v v="$version" -v c="$PG_CLUSTER" '$1==v && $2==c {print $4}' \
      | grep -q online; then
    $SUDO pg_ctlcluster "$version" "$PG_CLUSTER" stop || true
  fi
  if command -v redis-cli >/dev/null 2>&1; then
    REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  fi
  exit 0
fi
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
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version $PG_CLUSTER$"; then
  $SUDO pg_createcluster "$version" "$PG_CLUSTER" -p "$PG_PORT" >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$version" -v c="$PG_CLUSTER" '$1==v && $2==c {print $4}' | grep -q online; then
  $SUDO pg_ctlcluster "$version" "$PG_CLUSTER" start
fi
psql_su() { $SUDO runuser -u postgres -- psql -p "$PG_PORT" -v ON_ERROR_STOP=1 -qAt "$@"; }
for _ in $(seq 1 30); do psql_su -c "select 1" >/dev/null 2>&1 && break; sleep 0.5; done
if [ "$(psql_su -c "select 1 from pg_roles where rolname='zgc'")" != "1" ]; then
  psql_su -c "create role zgc login password '$PG_PASSWORD'"
elif ! PGPASSWORD="$PG_PASSWORD" psql -h 127.0.0.1 -p "$PG_PORT" -U zgc -d postgres -qAt -c "select 1" >/dev/null 2>&1; then
  psql_su -c "alter role zgc password '$PG_PASSWORD'"   # e.g. the fixed password of earlier versions
fi
for db in zgc_policy zgc_tracker; do
  if [ "$(psql_su -c "select 1 from pg_database where datname='$db'")" != "1" ]; then
    psql_su -c "create database $db owner zgc"
  fi
done
export REDISCLI_AUTH="$REDIS_PASSWORD"
answer=$(redis-cli -p "$REDIS_PORT" ping 2>&1 || true)
case "$answer" in
  *"without any password configured"*)
    echo "error: a Redis without a password runs on port $REDIS_PORT; stop it or choose SCALED_REDIS_PORT" >&2; exit 1;;
  *WRONGPASS*|*"invalid username-password"*)
    echo "error: the Redis on port $REDIS_PORT has another password (SCALED_REDIS_PASSWORD)" >&2; exit 1;;
  *PONG*) ;;
  *)
    # the password reaches redis-server on its standard input (a config file), not its command line
    printf 'requirepass %s\n' "$REDIS_PASSWORD" | redis-server - --bind 127.0.0.1 --port "$REDIS_PORT" \
      --daemonize yes --save "" --appendonly no --logfile "/tmp/zgc-redis-$REDIS_PORT.log" >/dev/null
    for _ in $(seq 1 20); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.25; done;;
esac
echo "DATABASE_URL=postgresql://zgc:$PG_PASSWORD@127.0.0.1:$PG_PORT/zgc_policy"
echo "TRACKER_STORE_URL=postgresql://zgc:$PG_PASSWORD@127.0.0.1:$PG_PORT/zgc_tracker"
echo "REDIS_URL=redis://:$REDIS_PASSWORD@127.0.0.1:$REDIS_PORT/0"
echo "REDIS_PORT=$REDIS_PORT"
echo "REDIS_PASSWORD=$REDIS_PASSWORD"
