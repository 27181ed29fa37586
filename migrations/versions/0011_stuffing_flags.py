"""suspected stuffing: flags, review and keyed client hashes on responses

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 17:20:00

Every answer is kept; one that looks like ballot stuffing is flagged (``flag`` pending)
and left out of the rollups until a reviewer restores or confirms it. ``client_hash`` and
``agent_hash`` are keyed hashes of the sender's address and user agent. Existing answers
were all counted, so they stay unflagged.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('responses') as batch:
        batch.add_column(sa.Column('client_hash', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('agent_hash', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('flag', sa.String(length=10), nullable=True))
        batch.add_column(sa.Column('flag_reasons', sa.String(length=60), nullable=True))
        batch.add_column(sa.Column('reviewed_by_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            batch.f('fk_responses_reviewed_by_id_users'), 'users', ['reviewed_by_id'], ['id']
        )
        batch.create_check_constraint('flag', "flag in ('pending', 'restored', 'confirmed')")
        batch.create_index('ix_responses_client', ['client_hash', 'site_id', 'created_at'])
        batch.create_index(batch.f('ix_responses_reviewed_by_id'), ['reviewed_by_id'])
        batch.create_index(
            'ix_responses_flagged',
            ['site_id', 'created_at'],
            sqlite_where=sa.text('flag IS NOT NULL'),
            postgresql_where=sa.text('flag IS NOT NULL'),
        )


def downgrade():
    with op.batch_alter_table('responses') as batch:
        batch.drop_index('ix_responses_flagged')
        batch.drop_index('ix_responses_client')
        batch.drop_index(batch.f('ix_responses_reviewed_by_id'))
        batch.drop_constraint('flag', type_='check')
        batch.drop_constraint(batch.f('fk_responses_reviewed_by_id_users'), type_='foreignkey')
        for column in (
            'reviewed_at', 'reviewed_by_id', 'flag_reasons', 'flag', 'agent_hash', 'client_hash'
        ):
            batch.drop_column(column)
