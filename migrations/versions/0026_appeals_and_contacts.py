"""申诉 and 回访 numbers: an answer an upheld appeal leaves out of the rates (flag
``appealed``), the case's appeal (where each answer stands, the state it returns to), its
steps, and the number a resident may leave on the QR form for a call back

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 15:30:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

FLAGS = "flag in ('pending', 'restored', 'confirmed')"
KINDS = (
    "'opened', 'joined', 'complaint', 'verified', 'complex', 'rectified', 'followup_missed',"
    " 'followed_up', 'unreachable', 'overdue'"
)


def upgrade():
    with op.batch_alter_table('responses') as batch:
        batch.drop_constraint('flag', type_='check')
        batch.create_check_constraint('flag', FLAGS[:-1] + ", 'appealed')")
    with op.batch_alter_table('rectification_cases') as batch:
        batch.add_column(sa.Column('appeal_from', sa.String(length=15), nullable=True))
        batch.create_check_constraint('appeal_from', "appeal_from in ('verifying', 'rectifying')")
    with op.batch_alter_table('rectification_case_answers') as batch:
        batch.add_column(sa.Column('appeal', sa.String(length=10), nullable=True))
        batch.create_check_constraint('appeal', "appeal in ('pending', 'upheld', 'rejected')")
    with op.batch_alter_table('rectification_steps') as batch:
        batch.drop_constraint('kind', type_='check')
        batch.create_check_constraint(
            'kind', f"kind in ({KINDS}, 'appealed', 'appeal_upheld', 'appeal_rejected')"
        )
    op.create_table('response_contacts',
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('phone_token', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_response_contacts_response_id_responses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('response_id', name=op.f('pk_response_contacts'))
    )
    with op.batch_alter_table('response_contacts') as batch:
        batch.create_index(batch.f('ix_response_contacts_created_at'), ['created_at'], unique=False)


def downgrade():
    op.drop_table('response_contacts')
    # An answer left out by an appeal counts again: the rollups are rebuilt by
    # ``flask rebuild-rollups`` after a downgrade.
    op.execute("UPDATE responses SET flag = NULL WHERE flag = 'appealed'")
    op.execute(
        "DELETE FROM rectification_steps"
        " WHERE kind IN ('appealed', 'appeal_upheld', 'appeal_rejected')"
    )
    op.execute(
        "UPDATE rectification_cases SET state = appeal_from WHERE state = 'appealing'"
    )
    with op.batch_alter_table('rectification_steps') as batch:
        batch.drop_constraint('kind', type_='check')
        batch.create_check_constraint('kind', f"kind in ({KINDS})")
    with op.batch_alter_table('rectification_case_answers') as batch:
        batch.drop_constraint('appeal', type_='check')
        batch.drop_column('appeal')
    with op.batch_alter_table('rectification_cases') as batch:
        batch.drop_constraint('appeal_from', type_='check')
        batch.drop_column('appeal_from')
    with op.batch_alter_table('responses') as batch:
        batch.drop_constraint('flag', type_='check')
        batch.create_check_constraint('flag', FLAGS)
