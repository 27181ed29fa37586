"""no indexes on answers' version and question

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 06:40:00

Every resident's answer wrote an entry in ``ix_responses_version_id`` and one per question
in ``ix_answers_question_id``, pages in every commit of the hot path (docs/PERFORMANCE.md).
Nothing reads by them: answers are read by their response, and questionnaire versions and
their questions are never deleted (a version once published stays, so that an open form can
still be answered), so no foreign-key check needs them either.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

DROPPED = (
    ('ix_responses_version_id', 'responses', 'version_id'),
    ('ix_answers_question_id', 'answers', 'question_id'),
)


def upgrade():
    for name, table, _column in DROPPED:
        op.drop_index(name, table_name=table)


def downgrade():
    for name, table, column in DROPPED:
        op.create_index(name, table, [column])
