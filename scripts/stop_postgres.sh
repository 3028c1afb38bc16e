#!/usr/bin/env bash
# Stop a server started by scripts/start_postgres.sh with DOCRE_PG_STATE=FILE, and remove its data directory:
#     bash scripts/stop_postgres.sh FILE
set -euo pipefail
STATE=${1:?usage: stop_postgres.sh STATE_FILE (the file DOCRE_PG_STATE named for start_postgres.sh)}
[[ -s "$STATE" ]] || { echo "stop_postgres: $STATE names no server; nothing to stop" >&2; exit 0; }
DIR=$(cat "$STATE")
case "$DIR" in
    */docre-pg.*) ;;
    *) echo "stop_postgres: $DIR is not a directory start_postgres.sh made; refusing to touch it" >&2; exit 1 ;;
esac
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [[ -f "$DIR/data/postmaster.pid" ]]; then
    if [[ $(id -u) -eq 0 ]]; then
        su postgres -s /bin/sh -c "'$BIN/pg_ctl' -D '$DIR/data' -m fast -w stop" >/dev/null
    else
        "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null
    fi
fi
rm -rf "$DIR"
echo "stop_postgres: stopped the server in $DIR and removed its data" >&2
