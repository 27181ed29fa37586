"""visit checklists with versions, item results, home visits

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 15:10:00

A project's visit checklist becomes versioned (``checklist_versions``; the old
``projects.checklist`` list is its version 1). A visit's checklist items carry a result
(pass / fail / unverified) instead of a tick: an item left unticked before was never
verified, so it becomes ``unverified``. ``home_visits`` lists residents to visit at home
(听力困难（改为上门）) until a visit is recorded for them.
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

projects = sa.table('projects', sa.column('id', sa.Integer), sa.column('checklist', sa.JSON))
versions = sa.table(
    'checklist_versions',
    sa.column('id', sa.Integer),
    sa.column('project_id', sa.Integer),
    sa.column('number', sa.Integer),
    sa.column('items', sa.JSON),
    sa.column('created_at', sa.DateTime(timezone=True)),
)
visits = sa.table('visits', sa.column('id', sa.Integer), sa.column('checklist', sa.JSON))


def _rewrite_visits(conn, change):
    for visit_id, checklist in conn.execute(sa.select(visits.c.id, visits.c.checklist)).all():
        conn.execute(
            visits.update().where(visits.c.id == visit_id).values(checklist=[change(c) for c in checklist])
        )


def upgrade():
    op.create_table('checklist_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_checklist_versions_created_by_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_checklist_versions_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checklist_versions')),
    sa.UniqueConstraint('project_id', 'number', name=op.f('uq_checklist_versions_project_id_number'))
    )
    with op.batch_alter_table('checklist_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checklist_versions_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_checklist_versions_project_id'), ['project_id'], unique=False)

    op.create_table('home_visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_task_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_task_id'], ['call_tasks.id'], name=op.f('fk_home_visits_call_task_id_call_tasks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_home_visits_site_id_sites')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_home_visits_visit_id_visits'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_home_visits')),
    sa.UniqueConstraint('call_task_id', name=op.f('uq_home_visits_call_task_id'))
    )
    with op.batch_alter_table('home_visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_home_visits_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_home_visits_visit_id'), ['visit_id'], unique=False)

    # A project's checklist so far is its version 1 (the list said nothing about 必备).
    conn = op.get_bind()
    now = datetime.now(timezone.utc)
    found = conn.execute(
        sa.select(projects.c.id, projects.c.checklist).where(projects.c.checklist.isnot(None))
    ).all()
    for project_id, items in found:
        if not items:  # JSON null (the demo stored None so) or []: the general list applies
            continue
        conn.execute(versions.insert().values(
            project_id=project_id,
            number=1,
            items=[{'text': text, 'required': False} for text in items],
            created_at=now,
        ))
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('checklist')

    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checklist_version_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_visits_checklist_version_id'), ['checklist_version_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_visits_checklist_version_id_checklist_versions'), 'checklist_versions', ['checklist_version_id'], ['id'])
    _rewrite_visits(conn, lambda c: {
        'item': c['item'],
        'required': False,
        'result': 'pass' if c.get('ok') else 'unverified',
    })


def downgrade():
    conn = op.get_bind()
    _rewrite_visits(conn, lambda c: {'item': c['item'], 'ok': c.get('result') == 'pass'})
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_visits_checklist_version_id_checklist_versions'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_visits_checklist_version_id'))
        batch_op.drop_column('checklist_version_id')

    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checklist', sa.JSON(), nullable=True))
    latest = conn.execute(
        sa.select(versions.c.project_id, versions.c['items']).order_by(versions.c.number)
    ).all()
    for project_id, items in latest:  # the last version of each project is written last
        conn.execute(projects.update().where(projects.c.id == project_id).values(
            checklist=[item['text'] for item in items]
        ))

    with op.batch_alter_table('home_visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_home_visits_visit_id'))
        batch_op.drop_index(batch_op.f('ix_home_visits_site_id'))
    op.drop_table('home_visits')
    with op.batch_alter_table('checklist_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checklist_versions_project_id'))
        batch_op.drop_index(batch_op.f('ix_checklist_versions_created_by_id'))
    op.drop_table('checklist_versions')
