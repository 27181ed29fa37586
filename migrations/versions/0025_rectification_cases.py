"""整改单: cases opened by bad ratings, their steps, photos and answers, the projects' own
deadlines, and where opening starts

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 13:00:02

Cases open for the bad answers stored after this migration only (``rectification_start``):
an old answer has no one left to verify it with, and thousands of cases overdue on the first
day would bury the new ones.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rectification_start',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('after_response_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_start'))
    )
    op.execute(
        "INSERT INTO rectification_start (id, after_response_id)"
        " SELECT 1, COALESCE(MAX(id), 0) FROM responses"
    )
    op.create_table('rectification_rules',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('verify_days', sa.Integer(), nullable=False),
    sa.Column('rectify_days', sa.Integer(), nullable=False),
    sa.Column('complex_days', sa.Integer(), nullable=False),
    sa.Column('followup_days', sa.Integer(), nullable=False),
    sa.CheckConstraint('complex_days between 1 and 60', name=op.f('ck_rectification_rules_complex_days')),
    sa.CheckConstraint('followup_days between 1 and 60', name=op.f('ck_rectification_rules_followup_days')),
    sa.CheckConstraint('rectify_days between 1 and 60', name=op.f('ck_rectification_rules_rectify_days')),
    sa.CheckConstraint('verify_days between 1 and 60', name=op.f('ck_rectification_rules_verify_days')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_rectification_rules_project_id_projects')),
    sa.PrimaryKeyConstraint('project_id', name=op.f('pk_rectification_rules'))
    )
    op.create_table('rectification_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=15), nullable=False),
    sa.Column('outcome', sa.String(length=15), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('arrived_on', sa.Date(), nullable=False),
    sa.Column('verify_due', sa.Date(), nullable=False),
    sa.Column('rectify_due', sa.Date(), nullable=True),
    sa.Column('followup_due', sa.Date(), nullable=True),
    sa.Column('assumed_years', sa.JSON(), nullable=False),
    sa.Column('complex', sa.Boolean(), nullable=False),
    sa.Column('complex_reason', sa.Text(), nullable=False),
    sa.Column('overdue', sa.Boolean(), nullable=False),
    sa.Column('followup_missed', sa.Integer(), nullable=False),
    sa.Column('followup_score', sa.Integer(), nullable=True),
    sa.Column('followup_solved', sa.Boolean(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('followup_score between 1 and 5', name=op.f('ck_rectification_cases_followup_score')),
    sa.CheckConstraint("outcome in ('done', 'unreachable', 'appeal_upheld')", name=op.f('ck_rectification_cases_outcome')),
    sa.CheckConstraint("state in ('verifying', 'rectifying', 'following_up', 'appealing', 'closed')", name=op.f('ck_rectification_cases_state')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_rectification_cases_project_id_projects')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_rectification_cases_region_id_regions')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_rectification_cases_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_cases'))
    )
    with op.batch_alter_table('rectification_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_cases_project_id'), ['project_id'], unique=False)
        batch_op.create_index('ix_rectification_cases_region_state', ['region_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectification_cases_site_id'), ['site_id'], unique=False)
        batch_op.create_index('uq_rectification_cases_open_site', ['site_id'], unique=True, sqlite_where=sa.text("state != 'closed'"), postgresql_where=sa.text("state != 'closed'"))

    op.create_table('rectification_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=15), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('due', sa.Date(), nullable=True),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.CheckConstraint("kind in ('opened', 'joined', 'complaint', 'verified', 'complex', 'rectified', 'followup_missed', 'followed_up', 'unreachable', 'overdue')", name=op.f('ck_rectification_steps_kind')),
    sa.ForeignKeyConstraint(['case_id'], ['rectification_cases.id'], name=op.f('fk_rectification_steps_case_id_rectification_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_rectification_steps_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_steps'))
    )
    with op.batch_alter_table('rectification_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_steps_case_id'), ['case_id'], unique=False)

    op.create_table('rectification_case_answers',
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['rectification_cases.id'], name=op.f('fk_rectification_case_answers_case_id_rectification_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_rectification_case_answers_response_id_responses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('response_id', name=op.f('pk_rectification_case_answers'))
    )
    with op.batch_alter_table('rectification_case_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_case_answers_case_id'), ['case_id'], unique=False)

    op.create_table('rectification_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=20), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.CheckConstraint("content_type in ('image/jpeg', 'image/png')", name=op.f('ck_rectification_photos_content_type')),
    sa.ForeignKeyConstraint(['step_id'], ['rectification_steps.id'], name=op.f('fk_rectification_photos_step_id_rectification_steps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_photos'))
    )
    with op.batch_alter_table('rectification_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_photos_step_id'), ['step_id'], unique=False)



def downgrade():
    with op.batch_alter_table('rectification_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectification_photos_step_id'))

    op.drop_table('rectification_photos')
    with op.batch_alter_table('rectification_case_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectification_case_answers_case_id'))

    op.drop_table('rectification_case_answers')
    with op.batch_alter_table('rectification_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectification_steps_case_id'))

    op.drop_table('rectification_steps')
    with op.batch_alter_table('rectification_cases', schema=None) as batch_op:
        batch_op.drop_index('uq_rectification_cases_open_site', sqlite_where=sa.text("state != 'closed'"), postgresql_where=sa.text("state != 'closed'"))
        batch_op.drop_index(batch_op.f('ix_rectification_cases_site_id'))
        batch_op.drop_index('ix_rectification_cases_region_state')
        batch_op.drop_index(batch_op.f('ix_rectification_cases_project_id'))

    op.drop_table('rectification_cases')
    op.drop_table('rectification_rules')
    op.drop_table('rectification_start')
