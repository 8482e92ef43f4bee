# Sourced by scripts/test after pg.sh: a throwaway PgBouncer in front of that cluster.
#   pgbouncer_start  installs it if missing (root + apt), starts it in transaction
#                    pooling mode (what Neon's -pooler hosts run) on a free port, and
#                    sets pgbouncer_port and pgbouncer_url; returns 1 if unavailable
#   pgbouncer_stop   stops it (its files live in $pg_dir, which pg_stop removes)
# Needs pg_start's pg_dir and pg_port, and as_pg.

pgbouncer_start() {
  if ! command -v pgbouncer >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing pgbouncer (apt)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null; } || true
  fi
  command -v pgbouncer >/dev/null || return 1

  pgbouncer_dir="$pg_dir/pgbouncer"
  mkdir -p "$pgbouncer_dir"
  pgbouncer_port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # trust, as the cluster itself is: the user must still be listed in auth_file
  echo '"postgres" ""' >"$pgbouncer_dir/userlist.txt"
  # `*`: every database of the cluster, so the tests' per-worker databases need no
  # entry each. default_pool_size bounds the server connections per database, as
  # Neon's pooler does; clients beyond it wait for a free one.
  cat >"$pgbouncer_dir/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=$pg_port

[pgbouncer]
pool_mode = transaction
listen_addr = 127.0.0.1
listen_port = $pgbouncer_port
unix_socket_dir =
auth_type = trust
auth_file = $pgbouncer_dir/userlist.txt
admin_users = postgres
max_client_conn = 1000
default_pool_size = 20
logfile = $pgbouncer_dir/pgbouncer.log
pidfile = $pgbouncer_dir/pgbouncer.pid
EOF
  if [ "$(id -u)" = 0 ]; then chown -R postgres "$pgbouncer_dir"; fi
  # pgbouncer refuses to run as root; -d: it detaches once it listens
  as_pg pgbouncer -d "$pgbouncer_dir/pgbouncer.ini" || return 1
  echo "== started $(pgbouncer --version | head -n 1) (transaction pooling) on 127.0.0.1:$pgbouncer_port"
  pgbouncer_url="postgresql://postgres@127.0.0.1:$pgbouncer_port/postgres"
}

pgbouncer_stop() {
  local pidfile="${pgbouncer_dir:-}/pgbouncer.pid"
  [ -f "$pidfile" ] || return 0
  kill "$(cat "$pidfile")" 2>/dev/null || true
}
