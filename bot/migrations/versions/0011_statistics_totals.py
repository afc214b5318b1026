"""statistics: province totals and content reads in stat_daily, tips by month, unanswered tips

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 15:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: bot.stats.counters.ALL_COMMUNES (copied: a migration does not follow later code)
ALL_COMMUNES = -1


def upgrade() -> None:
    op.create_table(
        'stat_tip',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('commune_code', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=24), nullable=False),
        sa.Column('status', sa.String(length=24), nullable=False),
        sa.Column('tips', sa.Integer(), nullable=False),
        sa.Column('escalated', sa.Integer(), nullable=False),
        sa.Column('urgent', sa.Integer(), nullable=False),
        sa.Column('responded', sa.Integer(), nullable=False),
        sa.Column('responded_in_time', sa.Integer(), nullable=False),
        sa.Column('response_seconds', sa.BigInteger(), nullable=False),
        sa.Column('closed', sa.Integer(), nullable=False),
        sa.Column('close_seconds', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('month', 'commune_code', 'category', 'status', name='uq_stat_tip_key'),
    )
    with op.batch_alter_table('stat_tip', schema=None) as batch_op:
        batch_op.create_index('ix_stat_tip_by_status', ['category', 'month', 'commune_code'])
        batch_op.create_index('ix_stat_tip_by_category', ['status', 'commune_code', 'month'])
    with op.batch_alter_table('tip', schema=None) as batch_op:
        batch_op.create_index(
            'ix_tip_unanswered',
            ['first_response_at', 'created_at', 'commune_code', 'status', 'first_response_due'],
            unique=False,
        )
    # content read, all items together, per commune (bot.stats.rollup.READS)
    op.execute(
        sa.text(
            "INSERT INTO stat_daily (grain, day, metric, ref, channel, commune_code, value) "
            "SELECT grain, day, 'reads', '', '', commune_code, SUM(value) FROM stat_daily "
            "WHERE metric = 'content' GROUP BY grain, day, commune_code"
        )
    )
    # the province's totals of what is already counted (the runtime fills stat_tip at start)
    op.execute(
        sa.text(
            "INSERT INTO stat_daily (grain, day, metric, ref, channel, commune_code, value) "
            "SELECT grain, day, metric, ref, channel, :all, SUM(value) FROM stat_daily "
            "WHERE commune_code <> :all GROUP BY grain, day, metric, ref, channel"
        ).bindparams(all=ALL_COMMUNES)
    )


def downgrade() -> None:
    op.execute(
        sa.text("DELETE FROM stat_daily WHERE commune_code = :all OR metric = 'reads'").bindparams(
            all=ALL_COMMUNES
        )
    )
    with op.batch_alter_table('tip', schema=None) as batch_op:
        batch_op.drop_index('ix_tip_unanswered')
    op.drop_table('stat_tip')
