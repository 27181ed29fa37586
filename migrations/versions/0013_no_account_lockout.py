"""no account lockout: wrong passwords slow down their name and address instead

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 20:30:00

Five wrong passwords used to lock an account for 15 minutes from anywhere (a denial of
service against any user, the admin included); ``survey.accounts.throttle`` now slows down
only the name and address that failed, counted beside the login rate limits. The
lockout's columns go.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
