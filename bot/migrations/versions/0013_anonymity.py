"""anonymity: random resident and event ids; what names a resident kept to the day

New residents and events get random 62-bit ids (the tables' order was the order residents
joined and acted in; residents already there keep theirs), and events `seq`, the order of
a resident's events within a day. Rows already written are scrubbed as the code now
writes them (docs/anonymity.md): times that sit next to a resident or a chat are cut to the
local day, outbox rows already final and every web-chat message are deleted, and campaign
deliveries already final lose their chat id.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 16:30:00
"""

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, column) of times next to a resident or a chat, cut to the local day.
TO_THE_DAY = (
    ('event', 'created_at'),
    ('resident', 'created_at'),
    ('resident', 'last_seen_at'),
    ('resident', 'unsubscribed_at'),
    ('inbound_update', 'received_at'),
)
FINAL_DELIVERIES = "('sent', 'failed', 'blocked', 'out_of_window', 'interrupted', 'cancelled')"


def _zone() -> str:
    # the zone the statistics count days in (TIMEZONE; a migration cannot read our settings)
    name = os.environ.get('TIMEZONE') or 'Asia/Ho_Chi_Minh'
    ZoneInfo(name)  # a name that is not a zone fails here, not half-way through
    return name


def _offset_minutes() -> int:
    offset = datetime.now(UTC).astimezone(ZoneInfo(_zone())).utcoffset()
    return int(offset.total_seconds() // 60) if offset else 0


def _to_the_day(dialect: str, column: str, minutes: int) -> str:
    if dialect == 'postgresql':  # the local day's start, whatever the session's TimeZone
        zone = _zone().replace("'", "")
        return f"date_trunc('day', {column} AT TIME ZONE '{zone}') AT TIME ZONE '{zone}'"
    return (
        f"strftime('%Y-%m-%d %H:%M:%S.000000', date({column}, '{minutes:+d} minutes'), "
        f"'{-minutes:+d} minutes')"
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=False, server_default='0'))
    if dialect == 'postgresql':
        for table in ('event', 'resident'):
            op.execute(f'ALTER TABLE {table} ALTER COLUMN id DROP DEFAULT')
            op.execute(f'ALTER TABLE {table} ALTER COLUMN id TYPE BIGINT')
            op.execute(f'DROP SEQUENCE IF EXISTS {table}_id_seq')
        for table in ('event', 'campaign_delivery'):
            op.execute(f'ALTER TABLE {table} ALTER COLUMN resident_id TYPE BIGINT')
    minutes = _offset_minutes()
    for table, column in TO_THE_DAY:
        op.execute(
            f"UPDATE {table} SET {column} = {_to_the_day(dialect, column, minutes)} "
            f"WHERE {column} IS NOT NULL"
        )
    # each resident's events of a day in their old order, then the order itself scrambled:
    # the old id stays in the low 32 bits (so ids stay unique), random bits above it
    op.execute(
        "UPDATE event SET seq = ranked.n FROM (SELECT id, row_number() OVER "
        "(PARTITION BY resident_id, created_at ORDER BY id) AS n FROM event) AS ranked "
        "WHERE event.id = ranked.id"
    )
    if dialect == 'postgresql':
        op.execute("UPDATE event SET id = (floor(random() * 1073741824)::bigint << 32) | id")
    else:
        op.execute("UPDATE event SET id = (abs(random()) % 1073741824) * 4294967296 + id")
    op.execute("DELETE FROM outbox WHERE status <> 'pending'")
    op.execute("DELETE FROM webchat_message")
    op.execute(
        f"UPDATE campaign_delivery SET chat_id = '', "
        f"sent_at = {_to_the_day(dialect, 'sent_at', minutes)}, "
        f"next_attempt_at = {_to_the_day(dialect, 'next_attempt_at', minutes)}, "
        f"lease_until = NULL WHERE status IN {FINAL_DELIVERIES}"
    )


def downgrade() -> None:
    # the scrubbed times and deleted rows are gone for good, as intended
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':  # ids stay 64-bit: random ones do not fit 32 bits
        for table in ('event', 'resident'):
            op.execute(f'CREATE SEQUENCE IF NOT EXISTS {table}_id_seq OWNED BY {table}.id')
            op.execute(
                f"SELECT setval('{table}_id_seq', greatest((SELECT max(id) FROM {table}), 1))"
            )
            op.execute(
                f"ALTER TABLE {table} ALTER COLUMN id SET DEFAULT nextval('{table}_id_seq')"
            )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('seq')
