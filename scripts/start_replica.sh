#!/usr/bin/env bash
# A streaming replica of the local PostgreSQL (127.0.0.1:5432) on 127.0.0.1:5433, for the tests
# of reports read from a replica (CI runs it; run it as root on a machine like CI's). Idempotent:
# a replica already answering on the port is kept. Prints the replica's URL prefix.
set -euo pipefail

PRIMARY_PORT=${PRIMARY_PORT:-5432}
REPLICA_PORT=${REPLICA_PORT:-5433}
DATA=${REPLICA_DATA:-/var/lib/postgresql/relais-replica}
LOG=${REPLICA_LOG:-/var/log/postgresql/relais-replica.log}

if pg_isready -q -h 127.0.0.1 -p "$REPLICA_PORT"; then
  echo "postgresql://postgres@127.0.0.1:$REPLICA_PORT"
  exit 0
fi

psql_primary() { psql -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -Atqc "$1"; }
version=$(psql_primary "SHOW server_version_num")
bin=/usr/lib/postgresql/$((version / 10000))/bin
hba=$(psql_primary "SHOW hba_file")
# Replication connections from the loopback, as the local trust rules already allow the rest.
if ! grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32' "$hba"; then
  echo "host replication all 127.0.0.1/32 trust" >>"$hba"
  psql_primary "SELECT pg_reload_conf()" >/dev/null
fi

# A slot keeps the primary's WAL until the replica has it (a busy primary recycles it fast).
runuser -u postgres -- "$bin/pg_ctl" -D "$DATA" -m immediate stop >/dev/null 2>&1 || true
psql_primary "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
              WHERE slot_name = 'relais_replica' AND NOT active" >/dev/null
rm -rf "$DATA"
mkdir -p "$(dirname "$DATA")" "$(dirname "$LOG")"
chown postgres: "$(dirname "$DATA")" "$(dirname "$LOG")"
runuser -u postgres -- pg_basebackup -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$DATA" \
  --write-recovery-conf --wal-method=stream --checkpoint=fast --create-slot --slot=relais_replica
# Debian keeps the primary's configuration outside its data folder: the replica gets its own.
cat >"$DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $REPLICA_PORT
unix_socket_directories = '/tmp'
hot_standby = on
hba_file = '$DATA/pg_hba.conf'
EOF
printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' >"$DATA/pg_hba.conf"
chown postgres: "$DATA/postgresql.conf" "$DATA/pg_hba.conf"
runuser -u postgres -- "$bin/pg_ctl" -D "$DATA" -l "$LOG" -w start >/dev/null
echo "postgresql://postgres@127.0.0.1:$REPLICA_PORT"
