"""Moving the stored personal data to the first key of FIELD_ENCRYPTION_KEY
(``flask rotate-field-key``), while the app keeps serving.

Every encrypted value (residents' names, numbers and notes; staged roster files; and every
column marked ``field_cipher.ALONE``: the numbers residents left on the QR form for 回访,
the API tokens' webhook secrets) is encrypted again under the first key, and every
number's digest is computed again under it.
The work goes in batches, each in its own short write transaction; a value already under the
first key is left alone, so the command may be stopped and started again, and a second run
changes nothing. Once a run reports nothing left, the older keys can be removed.
"""

from dataclasses import dataclass, field

from sqlalchemy import Column, bindparam, select, update
from sqlalchemy.orm import Session

from survey.accounts.services import COMMAND, record
from survey.checks.models import Resident, RosterImport
from survey.db import db, write_transaction
from survey.field_cipher import ALONE, FieldCipher, InvalidToken

#: Residents per transaction: a few hundred milliseconds of work, then the lock is free.
BATCH = 500
#: The residents' encrypted columns.
TOKENS = ("name_token", "phone_token", "note_token")

_residents = Resident.__table__
_update_resident = (
    update(_residents)
    .where(_residents.c.id == bindparam("row_id"))
    .values({name: bindparam(name) for name in (*TOKENS, "phone_digest")})
)


@dataclass
class Rotation:
    """What a run did."""

    rotated: int = 0
    current: int = 0
    files: int = 0
    #: Values of the columns marked ``ALONE`` re-encrypted, by table.
    alone: dict[str, int] = field(default_factory=dict)
    #: Rows no configured key decrypts (the key they need was removed or never set).
    unreadable: list[str] = field(default_factory=list)
    #: Residents whose number is on the county's roster twice, once under each key (added
    #: by machines with different keys): one of the two must be deleted.
    duplicates: list[int] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """What was re-encrypted, in the audit log's words."""
        return (
            f"名单人员重新加密 {self.rotated} 人（已是新密钥 {self.current} 人），"
            f"待确认的名单文件重新加密 {self.files} 个，"
            f"扫码评价留下的回访电话重新加密 {self.alone.get('response_contacts', 0)} 个，"
            f"接口令牌的推送密钥重新加密 {self.alone.get('api_tokens', 0)} 个"
        )


def rotate_field_key(session: Session, cipher: FieldCipher, batch: int = BATCH) -> Rotation:
    """Encrypt and digest every stored value under the cipher's first key; commits after
    every batch, and logs the run as the command's (``rotate-field-key``) at the end.
    Returns what was done and what could not be."""
    done = Rotation()
    last = 0
    while True:
        query = select(_residents).where(_residents.c.id > last).order_by(_residents.c.id)
        rows = session.execute(query.limit(batch)).all()
        session.rollback()  # end the read (it wrote nothing): the write takes the lock briefly
        if not rows:
            break
        last = rows[-1].id
        changes = [change for row in rows if (change := _rotated(cipher, row, done))]
        if changes:
            with write_transaction(session):
                changes = _without_duplicates(session, changes, done)
                if changes:
                    session.execute(_update_resident, changes)
            done.rotated += len(changes)
    _rotate_staged_files(session, cipher, done)
    for column in alone_columns():
        _rotate_column(session, cipher, column, done, batch)
    with write_transaction(session):
        record(session, "field_key_rotated", COMMAND, done.summary)
    return done


def _rotated(cipher: FieldCipher, row, done: Rotation) -> tuple[tuple, dict] | None:
    """(project, county, new digest) and the row's new values, or None when it is already
    under the first key or no key reads it."""
    try:
        digest = cipher.digest(cipher.decrypt(row.phone_token))
        tokens = {name: getattr(row, name) for name in TOKENS}
        if digest == row.phone_digest and all(
            token is None or cipher.is_current(token) for token in tokens.values()
        ):
            done.current += 1
            return None
        new = {name: token and cipher.rotate(token) for name, token in tokens.items()}
    except InvalidToken:
        done.unreadable.append(f"residents.id={row.id}")
        return None
    return (row.project_id, row.region_id, digest), new | {"row_id": row.id, "phone_digest": digest}


def _without_duplicates(session: Session, changes: list[tuple], done: Rotation) -> list[dict]:
    """The new values of ``changes`` less those whose new digest another entry of the same
    project and county has (the unique key would refuse the whole batch); those are
    reported. Call inside the write transaction."""
    digests = [values["phone_digest"] for _, values in changes]
    owners = select(
        _residents.c.project_id, _residents.c.region_id, _residents.c.phone_digest, _residents.c.id
    ).where(_residents.c.phone_digest.in_(digests))
    taken = {
        (project, region, digest): id_ for project, region, digest, id_ in session.execute(owners)
    }
    kept = []
    for key, values in changes:
        if taken.setdefault(key, values["row_id"]) == values["row_id"]:
            kept.append(values)
        else:
            done.duplicates.append(values["row_id"])
    return kept


def _rotate_staged_files(session: Session, cipher: FieldCipher, done: Rotation) -> None:
    """Staged roster files, one per transaction (each may be 20 MB)."""
    staged = select(RosterImport.id).where(RosterImport.payload.is_not(None))
    for import_id in list(session.scalars(staged.order_by(RosterImport.id))):
        payload = session.scalar(select(RosterImport.payload).where(RosterImport.id == import_id))
        session.rollback()  # end the read (it wrote nothing) before the long encryption
        if payload is None:
            continue
        tokens = payload.split(b"\n")  # one token a part of the file (roster._sealed)
        if all(cipher.is_current(token) for token in tokens):
            continue
        try:
            payload = b"\n".join(cipher.rotate(token) for token in tokens)
        except InvalidToken:
            done.unreadable.append(f"roster_imports.id={import_id}")
            continue
        # Only while still staged: a file imported or cancelled meanwhile stays dropped.
        with write_transaction(session):
            session.execute(
                update(RosterImport)
                .where(RosterImport.id == import_id, RosterImport.payload.is_not(None))
                .values(payload=payload)
            )
        done.files += 1


def alone_columns() -> list[Column]:
    """Every column marked ``field_cipher.ALONE``, in the tables' order."""
    return [
        column
        for table in db.metadata.sorted_tables
        for column in table.columns
        if column.info == ALONE
    ]


def _rotate_column(
    session: Session, cipher: FieldCipher, column: Column, done: Rotation, batch: int
) -> None:
    """One column's tokens, a batch per transaction, walking its table's one-column primary
    key; a value changed meanwhile (a number left again with a new answer) keeps its new
    token."""
    table = column.table
    (key,) = table.primary_key.columns
    change = (
        update(table)
        .where(key == bindparam("row_id"), column == bindparam("old"))
        .values({column.name: bindparam("new")})
    )
    done.alone.setdefault(table.name, 0)
    last = None
    while True:
        query = select(key, column).where(column.is_not(None)).order_by(key).limit(batch)
        rows = session.execute(query if last is None else query.where(key > last)).all()
        session.rollback()  # end the read (it wrote nothing): the write takes the lock briefly
        if not rows:
            return
        last = rows[-1][0]
        changes = []
        for row_id, token in rows:
            if cipher.is_current(token):
                continue
            try:
                changes.append({"row_id": row_id, "old": token, "new": cipher.rotate(token)})
            except InvalidToken:
                done.unreadable.append(f"{table.name}.{key.name}={row_id}")
        if changes:
            with write_transaction(session):
                session.execute(change, changes)
            done.alone[table.name] += len(changes)
