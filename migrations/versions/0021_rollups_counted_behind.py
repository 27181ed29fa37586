"""the rollups' watermark: on SQLite answers are counted behind their transaction

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 07:00:00

On SQLite every answer's transaction wrote its three rollup cells while holding the one
write lock every resident's answer queues for (docs/PERFORMANCE.md). Now the answers stored
after ``rollup_watermark.response_id`` are counted by the next reader of the rollups. Every
answer stored before this migration was counted in its transaction, so the watermark starts
at the last one; on SQLite stop the older processes first (one still running would count
its answers in its transaction, and the next reader again). After a downgrade, run
``flask rebuild-rollups``.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'rollup_watermark',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('response_id', sa.Integer(), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_rollup_watermark_one_row')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rollup_watermark')),
    )
    op.execute(
        'INSERT INTO rollup_watermark (id, response_id)'
        ' SELECT 1, coalesce(max(id), 0) FROM responses'
    )


def downgrade():
    # Answers stored after the watermark are not in the rollups yet: after downgrading, run
    # ``flask rebuild-rollups`` (the older code counts each answer in its transaction only).
    op.drop_table('rollup_watermark')
