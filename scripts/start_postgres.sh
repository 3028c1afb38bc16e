#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the store's tests and print its SQLAlchemy URL (nothing else on stdout):
#     export DOCRE_TEST_POSTGRES_URL=$(bash scripts/start_postgres.sh)
# Installs PostgreSQL from Debian's packages if it is missing (needs root), creates a cluster in a new temporary
# directory, listens on 127.0.0.1 only (trust authentication: a test server, never a real one) on a free port.
# Stop it with the command it prints on stderr, or with `bash scripts/stop_postgres.sh FILE` when DOCRE_PG_STATE=FILE
# was set here (the data directory is written to FILE; `make test` does this, so no server outlives the tests).
set -euo pipefail

log() { echo "start_postgres: $*" >&2; }

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

BIN=$(find_bin)
if [[ -z "$BIN" || ! -x "$BIN/initdb" ]]; then
    if [[ $(id -u) -ne 0 ]]; then
        log "PostgreSQL is not installed and this is not root; run: apt-get install -y postgresql"
        exit 1
    fi
    log "installing PostgreSQL from Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends postgresql >&2 || { apt-get update >&2 && apt-get install -y --no-install-recommends postgresql >&2; }
    BIN=$(find_bin)
fi

# initdb refuses to run as root: run the server as the postgres user the package created.
if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
    as_owner() { su postgres -s /bin/sh -c "$1"; }
else
    as_owner() { sh -c "$1"; }
fi

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
        return
    fi
    local port
    for _ in $(seq 50); do
        port=$(( 20000 + RANDOM % 40000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
    done
    log "no free port found"; exit 1
}

DIR=$(mktemp -d "${TMPDIR:-/tmp}/docre-pg.XXXXXX")
chmod 755 "$DIR"
[[ $(id -u) -eq 0 ]] && chown postgres "$DIR"
PORT=$(free_port)
DB=docre_test

as_owner "'$BIN/initdb' -D '$DIR/data' -U postgres --auth=trust -E UTF8 --no-locale" >/dev/null
as_owner "'$BIN/pg_ctl' -D '$DIR/data' -l '$DIR/server.log' -w -o \"-p $PORT -c listen_addresses=127.0.0.1 -k '$DIR'\" start" >/dev/null
as_owner "'$BIN/createdb' -h 127.0.0.1 -p $PORT -U postgres $DB"
log "$("$BIN/postgres" --version) on 127.0.0.1:$PORT, data in $DIR/data"
log "stop: $([[ $(id -u) -eq 0 ]] && echo "su postgres -s /bin/sh -c \"$BIN/pg_ctl -D $DIR/data stop\"" || echo "$BIN/pg_ctl -D $DIR/data stop")"
[[ -n "${DOCRE_PG_STATE:-}" ]] && echo "$DIR" > "$DOCRE_PG_STATE"
echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/$DB"
