"""a device's answers indexed with their time

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 06:00:00

A resident's answer looks up the same phone's latest answer to the site within the device
window (``device_id``, ``site_id``, ``created_at >= ?``). With ``created_at`` missing from
``ix_responses_device``, SQLite chose ``ix_responses_site_created`` instead and read every
answer the site had in the window, inside the write lock (docs/PERFORMANCE.md). With the
time in the device index the look-up reads one entry.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_responses_device', table_name='responses')
    op.create_index(
        'ix_responses_device', 'responses', ['device_id', 'site_id', 'created_at']
    )


def downgrade():
    op.drop_index('ix_responses_device', table_name='responses')
    op.create_index('ix_responses_device', 'responses', ['device_id', 'site_id'])
