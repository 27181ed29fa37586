"""questions read aloud: recordings per questionnaire version and region

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 17:14:03

``recordings`` holds staff's recordings of a version's questions and thank-you text (the
resident form's 朗读 button), one per version, region (a county's dialect, or the city's)
and key, re-encoded small (AAC, mono, at most 64 kbit/s).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('recordings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_recordings_created_by_id_users')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_recordings_region_id_regions')),
    sa.ForeignKeyConstraint(['version_id'], ['questionnaire_versions.id'], name=op.f('fk_recordings_version_id_questionnaire_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recordings')),
    sa.UniqueConstraint('version_id', 'region_id', 'key', name=op.f('uq_recordings_version_id_region_id_key')),
    # A deleted recording's id is never given again: phones keep its URL cached for good.
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recordings_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recordings_region_id'), ['region_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recordings_version_id'), ['version_id'], unique=False)


def downgrade():
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recordings_version_id'))
        batch_op.drop_index(batch_op.f('ix_recordings_region_id'))
        batch_op.drop_index(batch_op.f('ix_recordings_created_by_id'))

    op.drop_table('recordings')
