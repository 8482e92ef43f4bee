# Sourced by the scripts: a throwaway PostgreSQL cluster in a temporary directory.
#   pg_start   installs the server if missing (root + apt), starts a cluster on a
#              free port, and sets pg_bin, pg_dir, pg_port and pg_url
#   pg_stop    stops it and removes its directory (scripts call it on EXIT)
# Needs .venv/bin/python (for finding a free port).

as_pg() {  # the server refuses to run as root
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_start() {
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$pg_bin" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing PostgreSQL server binaries (apt)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  [ -n "$pg_bin" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; return 1; }

  pg_dir=$(mktemp -d /tmp/taskapi-pg.XXXXXX)
  if [ "$(id -u)" = 0 ]; then chown postgres "$pg_dir"; fi
  pg_port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  echo "== starting PostgreSQL ($("$pg_bin/postgres" --version)) on 127.0.0.1:$pg_port"
  as_pg "$pg_bin/initdb" -D "$pg_dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
  as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -o \
    "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off ${PG_EXTRA_OPTIONS:-}" \
    start >/dev/null
  pg_url="postgresql://postgres@127.0.0.1:$pg_port/postgres"
}

pg_stop() {
  [ -n "${pg_dir:-}" ] || return 0
  as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$pg_dir"
}
