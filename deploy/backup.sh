#!/usr/bin/env bash
# Nightly PostgreSQL backup with a restore check, kept 14 days (cron: 15 2 * * * antq backup.sh).
#   DATABASE=antq BACKUP_DIR=/var/backups/antq deploy/backup.sh
# The dump holds tips and sealed relays: store it encrypted and off the server (the relay key
# must NOT be stored with it — without TIP_RELAY_KEYS a dump cannot lead back to a tipster).
set -euo pipefail
umask 077                     # the dumps are readable by their owner only
DATABASE=${DATABASE:-antq}
BACKUP_DIR=${BACKUP_DIR:-/var/backups/antq}
KEEP_DAYS=${KEEP_DAYS:-14}
mkdir -p "$BACKUP_DIR"
chmod 700 "$BACKUP_DIR"
stamp=$(date +%Y%m%d-%H%M%S)
file="$BACKUP_DIR/antq-$stamp.dump"
# A dump lists each table's rows in the order they lie on disk, which is the order they were
# written: residents in the order they joined or last wrote, events in the order residents
# acted. Their ids are random, so rewriting the two tables in id order first leaves that order
# out of the dump (a few seconds' exclusive lock on each, at night; SCRUB_ORDER=no to skip).
if [ "${SCRUB_ORDER:-yes}" = yes ]; then
  psql -d "$DATABASE" -v ON_ERROR_STOP=1 -qc "CLUSTER resident USING resident_pkey" \
    -c "CLUSTER event USING event_pkey"
fi
echo "dumping $DATABASE to $file"
pg_dump --format=custom --compress=9 --file="$file.part" "$DATABASE"
mv "$file.part" "$file"
# the dump must restore: list its contents (cheap), and once a week restore it for real
pg_restore --list "$file" >/dev/null
if [ "${RESTORE_CHECK:-weekly}" = always ] || [ "$(date +%u)" = "7" ]; then
  check="antq_restore_check_$$"
  createdb "$check"
  trap 'dropdb --if-exists "$check"' EXIT
  pg_restore --dbname="$check" --no-owner "$file"
  psql -d "$check" -Atc "SELECT count(*) FROM tip" >/dev/null
  echo "restore check passed"
fi
find "$BACKUP_DIR" -name 'antq-*.dump' -mtime +"$KEEP_DAYS" -delete
echo "done: $(du -h "$file" | cut -f1)"
