"""进度: projects' milestones, sites' milestone records and their evidence files, the
counties' monthly reports; a project may open its surveys from the start, a site is built

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 14:53:57

From now on a site's survey opens when it is built (100 % progress confirmed), unless its
project opens surveys from the start. Every project that exists already does: its posters
hang and are answered, and no live link may close because progress began to be kept.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('progress_milestones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('percent', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('evidence', sa.String(length=300), nullable=False),
    sa.Column('planned_on', sa.Date(), nullable=False),
    sa.CheckConstraint('percent between 1 and 100', name=op.f('ck_progress_milestones_percent')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_progress_milestones_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_progress_milestones')),
    sa.UniqueConstraint('project_id', 'percent', name=op.f('uq_progress_milestones_project_id_percent'))
    )
    with op.batch_alter_table('progress_milestones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_progress_milestones_project_id'), ['project_id'], unique=False)

    op.create_table('progress_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('progress', sa.Text(), nullable=False),
    sa.Column('problems', sa.Text(), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_progress_reports_project_id_projects')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_progress_reports_region_id_regions')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_progress_reports_submitted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_progress_reports')),
    sa.UniqueConstraint('project_id', 'region_id', 'month', name=op.f('uq_progress_reports_project_id_region_id_month'))
    )
    with op.batch_alter_table('progress_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_progress_reports_region_id'), ['region_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_progress_reports_submitted_by_id'), ['submitted_by_id'], unique=False)

    op.create_table('progress_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('percent', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('reached_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.CheckConstraint("state in ('submitted', 'confirmed', 'returned')", name=op.f('ck_progress_records_state')),
    sa.CheckConstraint('percent between 1 and 100', name=op.f('ck_progress_records_percent')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_progress_records_decided_by_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_progress_records_project_id_projects')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_progress_records_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_progress_records_region_id_regions')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_progress_records_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_progress_records'))
    )
    with op.batch_alter_table('progress_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_progress_records_decided_by_id'), ['decided_by_id'], unique=False)
        batch_op.create_index('ix_progress_records_project_state', ['project_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_progress_records_recorded_by_id'), ['recorded_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_progress_records_region_id'), ['region_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_progress_records_site_id'), ['site_id'], unique=False)
        batch_op.create_index('uq_progress_records_waiting', ['site_id', 'percent'], unique=True, sqlite_where=sa.text("state = 'submitted'"), postgresql_where=sa.text("state = 'submitted'"))

    op.create_table('progress_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=30), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.CheckConstraint("content_type in ('image/jpeg', 'image/png', 'application/pdf')", name=op.f('ck_progress_files_content_type')),
    sa.CheckConstraint("kind in ('photo', 'pdf')", name=op.f('ck_progress_files_kind')),
    sa.ForeignKeyConstraint(['record_id'], ['progress_records.id'], name=op.f('fk_progress_files_record_id_progress_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_progress_files'))
    )
    with op.batch_alter_table('progress_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_progress_files_record_id'), ['record_id'], unique=False)

    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('open_from_start', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(sa.text("UPDATE projects SET open_from_start = :yes").bindparams(yes=True))

    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('completed', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade():
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_column('completed')

    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('open_from_start')

    with op.batch_alter_table('progress_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_progress_files_record_id'))

    op.drop_table('progress_files')
    with op.batch_alter_table('progress_records', schema=None) as batch_op:
        batch_op.drop_index('uq_progress_records_waiting', sqlite_where=sa.text("state = 'submitted'"), postgresql_where=sa.text("state = 'submitted'"))
        batch_op.drop_index(batch_op.f('ix_progress_records_site_id'))
        batch_op.drop_index(batch_op.f('ix_progress_records_region_id'))
        batch_op.drop_index(batch_op.f('ix_progress_records_recorded_by_id'))
        batch_op.drop_index('ix_progress_records_project_state')
        batch_op.drop_index(batch_op.f('ix_progress_records_decided_by_id'))

    op.drop_table('progress_records')
    with op.batch_alter_table('progress_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_progress_reports_submitted_by_id'))
        batch_op.drop_index(batch_op.f('ix_progress_reports_region_id'))

    op.drop_table('progress_reports')
    with op.batch_alter_table('progress_milestones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_progress_milestones_project_id'))

    op.drop_table('progress_milestones')
