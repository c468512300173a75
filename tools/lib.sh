# Shared by the tools: install what a fresh machine lacks (Debian; root or sudo).
ensure_debian_packages() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing ${missing[*]} ..."
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_python_modules() {
  # ensure_python_modules module:package ...
  local missing=()
  for pair in "$@"; do
    python3 -c "import ${pair%%:*}" 2>/dev/null || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing ${missing[*]} ..."
  python3 -m pip install -q "${missing[@]}"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts a throw-away PostgreSQL cluster for the tests: Debian's postgresql (installed when missing),
# run as an unprivileged user (PostgreSQL refuses root), its data in a temporary folder, listening on
# 127.0.0.1 and a free port only. Exports CASESYNC_TEST_DATABASE_URL; stop_test_postgres stops it and
# removes the folder (start_test_postgres sets a trap on EXIT that does).
start_test_postgres() {
  ensure_debian_packages postgresql
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  TEST_POSTGRES_DIR=$(mktemp -d /tmp/casesync-postgres.XXXXXX)
  TEST_POSTGRES_AS=()
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$TEST_POSTGRES_DIR"
    TEST_POSTGRES_AS=(runuser -u postgres --)
  fi
  TEST_POSTGRES_CTL="$bin/pg_ctl"
  local port
  port=$(free_port)
  # The cluster lives as long as this run. For the tests fsync is off (a machine crash is not what
  # they are about; a killed server process still loses nothing acknowledged); POSTGRES_FSYNC=on keeps
  # it on. Everything else as shipped.
  "${TEST_POSTGRES_AS[@]}" "$bin/initdb" -D "$TEST_POSTGRES_DIR/data" -U casesync --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$TEST_POSTGRES_DIR/initdb.log" 2>&1 || { cat "$TEST_POSTGRES_DIR/initdb.log" >&2; return 1; }
  "${TEST_POSTGRES_AS[@]}" "$TEST_POSTGRES_CTL" -D "$TEST_POSTGRES_DIR/data" -l "$TEST_POSTGRES_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $TEST_POSTGRES_DIR -c fsync=${POSTGRES_FSYNC:-off} -c max_connections=200" start >/dev/null \
    || { cat "$TEST_POSTGRES_DIR/server.log" >&2; return 1; }
  "${TEST_POSTGRES_AS[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U casesync casesync
  export CASESYNC_TEST_DATABASE_URL="postgres://casesync@127.0.0.1:$port/casesync"
  # How a test stops and starts the cluster itself (the crash test restarts it mid-load).
  export CASESYNC_TEST_POSTGRES_CTL="${TEST_POSTGRES_AS[*]} $TEST_POSTGRES_CTL -D $TEST_POSTGRES_DIR/data -l $TEST_POSTGRES_DIR/server.log"
  trap stop_test_postgres EXIT
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') for the tests on 127.0.0.1:$port"
}

stop_test_postgres() {
  [ -n "${TEST_POSTGRES_DIR:-}" ] || return 0
  "${TEST_POSTGRES_AS[@]}" "$TEST_POSTGRES_CTL" -D "$TEST_POSTGRES_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$TEST_POSTGRES_DIR"
  TEST_POSTGRES_DIR=""
}
