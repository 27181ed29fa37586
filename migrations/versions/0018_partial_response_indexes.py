"""partial indexes for answers' visit and reviewer

Revision ID: 0018
Revises: 0015
Create Date: 2026-12-07 01:10:00

Only interviews have a visit and only reviewed answers a reviewer, yet every answer wrote an
entry in both indexes: as partial indexes (``IS NOT NULL``) a resident's answer touches two
index pages fewer in its commit, the hot path (docs/PERFORMANCE.md). Lookups by visit or
reviewer, which always name one, use them as before.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0015'
branch_labels = None
depends_on = None

PARTIAL = ('visit_id', 'reviewed_by_id')


def upgrade():
    for column in PARTIAL:
        name = f'ix_responses_{column}'
        where = sa.text(f'{column} IS NOT NULL')
        op.drop_index(name, table_name='responses')
        op.create_index(
            name, 'responses', [column], sqlite_where=where, postgresql_where=where
        )


def downgrade():
    for column in PARTIAL:
        name = f'ix_responses_{column}'
        op.drop_index(name, table_name='responses')
        op.create_index(name, 'responses', [column])
