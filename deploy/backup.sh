#!/usr/bin/env bash
# Nightly PostgreSQL backup with a restore check, kept 14 days (cron: 15 2 * * * antq backup.sh).
#   DATABASE=antq BACKUP_DIR=/var/backups/antq deploy/backup.sh
# The dump holds tips and sealed relays: store it encrypted and off the server (the relay key
# must NOT be stored with it — without TIP_RELAY_KEYS a dump cannot lead back to a tipster).
set -euo pipefail
DATABASE=${DATABASE:-antq}
BACKUP_DIR=${BACKUP_DIR:-/var/backups/antq}
KEEP_DAYS=${KEEP_DAYS:-14}
mkdir -p "$BACKUP_DIR"
chmod 700 "$BACKUP_DIR"
stamp=$(date +%Y%m%d-%H%M%S)
file="$BACKUP_DIR/antq-$stamp.dump"
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
