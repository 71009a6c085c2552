# Sourced by .ci/run: a throwaway PostgreSQL server for the tests, on 127.0.0.1.
#
# start_test_postgres installs Debian's `postgresql` package when no server binaries are
# present (as root, with apt), creates a cluster in a temporary folder, starts it on a free
# port of 127.0.0.1 and exports POLICYTRENDS_TEST_PG_URL (a database the tests may use) and
# POLICYTRENDS_TEST_PG_REQUIRED=1 (a PostgreSQL test that would skip fails instead).
# The server is stopped and its folder removed when the calling shell exits.

_pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

start_test_postgres() {
  local root=0
  [ "$(id -u)" = 0 ] && root=1
  if [ -z "$(_pg_bin)" ] && [ "$root" = 1 ] && command -v apt-get >/dev/null; then
    echo "installing PostgreSQL from Debian's packages"
    (export DEBIAN_FRONTEND=noninteractive
     timeout 300 apt-get update -qq \
       && timeout 600 apt-get install -y -qq --no-install-recommends postgresql >/dev/null) \
      || echo "warning: apt-get could not install postgresql"
  fi
  local bin
  bin="$(_pg_bin)"
  if [ -z "$bin" ]; then
    echo "error: PostgreSQL is not installed and could not be installed (as root: apt-get install postgresql)" >&2
    return 1
  fi

  PG_CI_DIR="$(mktemp -d /tmp/policytrends-pg.XXXXXX)"
  local run=()
  if [ "$root" = 1 ]; then
    # initdb refuses to run as root: the cluster belongs to the package's `postgres` user.
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    chown postgres "$PG_CI_DIR"
    run=(runuser -u postgres --)
  fi
  local password port
  password="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  printf '%s\n' "$password" >"$PG_CI_DIR/pwfile"
  [ "$root" = 1 ] && chown postgres "$PG_CI_DIR/pwfile"

  "${run[@]}" "$bin/initdb" -D "$PG_CI_DIR/data" -U policytrends --pwfile="$PG_CI_DIR/pwfile" \
    --auth=scram-sha-256 -E UTF8 --locale=C >"$PG_CI_DIR/initdb.log" 2>&1 \
    || { cat "$PG_CI_DIR/initdb.log" >&2; return 1; }
  # Loopback only, its own socket folder; fsync off because the cluster is thrown away.
  "${run[@]}" "$bin/pg_ctl" -D "$PG_CI_DIR/data" -l "$PG_CI_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_CI_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || { cat "$PG_CI_DIR/server.log" >&2; return 1; }
  PG_CI_STOP=("${run[@]}" "$bin/pg_ctl" -D "$PG_CI_DIR/data" -m fast -w stop)
  trap stop_test_postgres EXIT

  PGPASSWORD="$password" "$bin/createdb" -h 127.0.0.1 -p "$port" -U policytrends policytrends_test || return 1
  export POLICYTRENDS_TEST_PG_URL="postgresql+psycopg://policytrends:$password@127.0.0.1:$port/policytrends_test"
  export POLICYTRENDS_TEST_PG_REQUIRED=1
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') for the tests on 127.0.0.1:$port"
}

stop_test_postgres() {
  if [ -n "${PG_CI_DIR:-}" ]; then
    "${PG_CI_STOP[@]}" >/dev/null 2>&1 || true
    rm -rf "$PG_CI_DIR"
  fi
}
