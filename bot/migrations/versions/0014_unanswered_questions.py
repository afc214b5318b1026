"""unanswered questions: what residents asked that the bot could not answer, for staff

One row per local day and question (identifiers masked), with how often it was asked that
day; no resident, chat, channel or commune. Random ids (the rows' order is not the askers').

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-14 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('unanswered_question',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('asked', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('day', 'key', name='uq_unanswered_question_day_key')
    )


def downgrade() -> None:
    op.drop_table('unanswered_question')
