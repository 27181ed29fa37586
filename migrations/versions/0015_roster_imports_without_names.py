"""roster imports without file names or cell contents

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 20:40:00

People name roster files after what they hold (``名单-15899990000.csv``), and a report's
reason for an unknown site quoted the cell, which shifted columns fill with someone's number
or name. ``roster_imports.filename`` gives way to the file's format and size; reasons that
quoted a cell are reworded without it; the audit lines of imports and cancelled imports lose
the file name they quoted. Downgrading brings the column back with a neutral name
(``roster.csv``); what was scrubbed stays scrubbed.
"""
import re

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

imports = sa.table(
    'roster_imports', sa.column('id', sa.Integer), sa.column('problems', sa.JSON)
)
audit = sa.table(
    'audit_entries',
    sa.column('id', sa.Integer),
    sa.column('action', sa.String),
    sa.column('detail', sa.String),
)

#: Reasons that quoted the cell, by how they began, and what they say now.
QUOTING = {
    '没有这个点位：': '点位码有误：没有这个点位',
    '多个县有名为': '点位码有误：多个县有这个名称的点位，请改填点位码',
}
#: ``文件“名单-158….csv”`` in the lines of imports and cancelled imports (a name may hold ”;
#: a line cut at 500 characters may have lost the closing one).
QUOTED_NAME = re.compile(r'文件“(?:.*”|.*$)', re.DOTALL)


def _reason(reason):
    for start, now in QUOTING.items():
        if str(reason).startswith(start):
            return now
    return reason


def _detail(detail):
    return QUOTED_NAME.sub('文件', detail, count=1)


def upgrade():
    with op.batch_alter_table('roster_imports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('file_format', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('file_size', sa.Integer(), nullable=True))
    op.execute(
        "UPDATE roster_imports SET file_format ="
        " CASE WHEN lower(filename) LIKE '%.xlsx' THEN 'xlsx' ELSE 'csv' END"
    )
    with op.batch_alter_table('roster_imports', schema=None) as batch_op:
        batch_op.alter_column('file_format', existing_type=sa.String(length=10), nullable=False)
        batch_op.drop_column('filename')

    conn = op.get_bind()
    for import_id, problems in conn.execute(sa.select(imports.c.id, imports.c.problems)).all():
        scrubbed = [[line, _reason(reason)] for line, reason in problems or []]
        if scrubbed != problems:
            conn.execute(
                imports.update().where(imports.c.id == import_id).values(problems=scrubbed)
            )
    lines = conn.execute(
        sa.select(audit.c.id, audit.c.detail).where(
            audit.c.action.in_(['roster_imported', 'roster_import_cancelled'])
        )
    ).all()
    for line_id, detail in lines:
        if _detail(detail) != detail:
            conn.execute(audit.update().where(audit.c.id == line_id).values(detail=_detail(detail)))


def downgrade():
    with op.batch_alter_table('roster_imports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('filename', sa.String(length=200), nullable=True))
    op.execute("UPDATE roster_imports SET filename = 'roster.' || file_format")
    with op.batch_alter_table('roster_imports', schema=None) as batch_op:
        batch_op.alter_column('filename', existing_type=sa.String(length=200), nullable=False)
        batch_op.drop_column('file_size')
        batch_op.drop_column('file_format')
