"""project settings, township regions, site contact and imports, multiple choice

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 18:26:17

Projects get a description, a hotline and a status (进行中 / 已结束); regions may go down
to townships; sites get a contact; uploaded site lists are staged in ``site_imports``;
questions may be multiple choice, their answers kept in ``answers.choices``.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('site_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('rows', sa.JSON(), nullable=False),
    sa.Column('valid_rows', sa.Integer(), nullable=False),
    sa.Column('bad_rows', sa.Integer(), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status in ('staged', 'imported', 'cancelled')", name=op.f('ck_site_imports_status')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_site_imports_project_id_projects')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_site_imports_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_site_imports'))
    )
    with op.batch_alter_table('site_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_imports_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_site_imports_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('choices', sa.JSON(), nullable=True))
        batch_op.drop_constraint('has_value', type_='check')
        batch_op.create_check_constraint(
            'has_value', 'choice is not null or text is not null or choices is not null'
        )

    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_constraint('kind', type_='check')
        batch_op.create_check_constraint(
            'kind', "kind in ('satisfaction', 'choice', 'multi', 'text')"
        )

    with op.batch_alter_table('regions', schema=None) as batch_op:
        batch_op.drop_constraint('level', type_='check')
        batch_op.create_check_constraint(
            'level', "level in ('province', 'city', 'county', 'township')"
        )

    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('hotline', sa.String(length=30), server_default='', nullable=False))
        batch_op.add_column(sa.Column('status', sa.String(length=10), server_default='active', nullable=False))
        batch_op.create_check_constraint('status', "status in ('active', 'finished')")

    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact', sa.String(length=100), server_default='', nullable=False))



def downgrade():
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_column('contact')

    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_constraint('status', type_='check')
        batch_op.drop_column('status')
        batch_op.drop_column('hotline')
        batch_op.drop_column('description')

    # The older schema knows no multiple choice: such answers are kept as their text
    # ("[0, 2]"), their questions as short-text ones. Townships (which hold no sites) go.
    op.execute("UPDATE answers SET text = CAST(choices AS TEXT) WHERE choices IS NOT NULL")
    op.execute("UPDATE questions SET kind = 'text' WHERE kind = 'multi'")
    op.execute("DELETE FROM regions WHERE level = 'township'")
    with op.batch_alter_table('regions', schema=None) as batch_op:
        batch_op.drop_constraint('level', type_='check')
        batch_op.create_check_constraint('level', "level in ('province', 'city', 'county')")

    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_constraint('kind', type_='check')
        batch_op.create_check_constraint('kind', "kind in ('satisfaction', 'choice', 'text')")

    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.drop_constraint('has_value', type_='check')
        batch_op.create_check_constraint('has_value', 'choice is not null or text is not null')
        batch_op.drop_column('choices')

    with op.batch_alter_table('site_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_imports_user_id'))
        batch_op.drop_index(batch_op.f('ix_site_imports_project_id'))

    op.drop_table('site_imports')
