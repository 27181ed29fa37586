"""holiday notices admins enter for the years chinese-calendar does not cover

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 13:00:00

A year's days off and weekend days worked (调休), as ISO dates, with the notice's title and
who entered it; a year has one notice, which replaces the package's days of that year in the
working-day deadlines (survey.rectification.workdays).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('holiday_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('days_off', sa.JSON(), nullable=False),
    sa.Column('workdays', sa.JSON(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('entered_by_id', sa.Integer(), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('year between 2000 and 2100', name=op.f('ck_holiday_notices_year')),
    sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], name=op.f('fk_holiday_notices_entered_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holiday_notices')),
    sa.UniqueConstraint('year', name=op.f('uq_holiday_notices_year'))
    )
    with op.batch_alter_table('holiday_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_holiday_notices_entered_by_id'), ['entered_by_id'], unique=False)



def downgrade():
    with op.batch_alter_table('holiday_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_holiday_notices_entered_by_id'))

    op.drop_table('holiday_notices')
