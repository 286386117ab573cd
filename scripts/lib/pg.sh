# Throwaway PostgreSQL cluster for tests, the demo and benchmarks. Source it, then:
#   pg_start      initdb into a temp dir, listen on a free port on 127.0.0.1 and a private socket,
#                 export KSYNC_TEST_PG_DSN / PG_PORT / PG_DIR; as root the server runs as `postgres`
#   pg_stop       stop the server and remove the temp dir (safe to call twice)

pg_bindir() {
  local d
  for d in /usr/lib/postgresql/15/bin $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -Vr); do
    [[ -x "$d/initdb" && -x "$d/pg_ctl" ]] && { echo "$d"; return 0; }
  done
  command -v initdb >/dev/null && { dirname "$(command -v initdb)"; return 0; }
  echo "pg.sh: initdb not found (is postgresql-15 installed? run scripts/deps)" >&2
  return 1
}

pg_free_port() {
  local p i
  for i in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 40000 ))
    # A refused connection means nobody listens there.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  echo "pg.sh: no free port found" >&2
  return 1
}

pg_as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_start() {
  local bin port tries
  bin=$(pg_bindir) || return 1
  PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ksync-pg.XXXXXX")
  if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || { echo "pg.sh: user postgres missing" >&2; return 1; }
    chown postgres: "$PG_DIR"
  fi
  pg_as_owner "$bin/initdb" -D "$PG_DIR/data" -U postgres --auth=trust --no-locale -E UTF8 \
    >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; return 1; }
  for tries in 1 2 3 4 5; do
    port=$(pg_free_port) || return 1
    # fsync=off: a throwaway cluster on a test box; nothing here must survive an OS crash.
    if pg_as_owner "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
         -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c full_page_writes=off" \
         start >/dev/null; then
      export PG_PORT=$port PG_BIN=$bin PG_DIR
      export KSYNC_TEST_PG_DSN="host=127.0.0.1 port=$port user=postgres dbname=postgres"
      return 0
    fi
  done
  cat "$PG_DIR/server.log" >&2
  return 1
}

pg_stop() {
  [[ -n "${PG_DIR:-}" && -d "$PG_DIR" ]] || return 0
  if [[ -f "$PG_DIR/data/postmaster.pid" ]]; then
    pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PG_DIR"
  PG_DIR=
}
