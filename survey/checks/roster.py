"""The resident roster: checking and importing files, listing, deleting and purging entries.

Nothing personal is stored in the clear: see ``survey.field_cipher``.
"""

import io
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import islice
from typing import BinaryIO, TextIO

from marshmallow import ValidationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, contains_eager

from survey.accounts.models import User
from survey.accounts.services import COMMAND, Actor, record
from survey.checks.models import CallTask, Resident, RosterImport
from survey.checks.roster_files import RawRow, read_rows
from survey.db import now_utc
from survey.field_cipher import FieldCipher
from survey.fields import readable_text
from survey.jobs.kinds import Progress
from survey.phones import BadPhone, mask_phone, normalize_phone
from survey.regions.scope import Scope
from survey.responses.models import ResponseContact
from survey.sites.listing import ALL_SITES, Page, SiteFilter, page_of
from survey.sites.models import Project, Site, SiteToken
from survey.sites.staging import PROBLEMS_KEPT, close_imported, drop_stale, stage

NAME_MAX = 50
NOTE_MAX = 200
#: Rows inserted per statement.
CHUNK = 2000
#: INSERT … ON CONFLICT DO NOTHING into residents, per dialect: Core on the table, one
#: executemany per chunk. (The ORM's bulk insert would split a chunk at every row whose note
#: is None: 25,000 statements for 50,000 rows, measured 4x slower on PostgreSQL.)
_INSERT_NEW = {
    name: dialect.insert(Resident.__table__).on_conflict_do_nothing()
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}


@dataclass
class ValidRow:
    line: int
    name: str
    phone: str
    digest: str
    site_id: int
    region_id: int
    note: str


@dataclass
class Problem:
    line: int
    reason: str


@dataclass
class FileCheck:
    """What a roster file holds: how many rows are valid, and the bad ones with reasons."""

    valid: int
    bad: int
    problems: list[Problem]


#: What ``site_codes`` maps a name used by sites in two counties to.
AMBIGUOUS = -1


def site_codes(
    session: Session, project_id: int, scope: Scope
) -> tuple[dict[str, int], dict[int, int]]:
    """Site id by what a roster may write for it: any of its codes (tokens, current or
    retired, upper case) or its exact name; and each site's county. Only the project's sites
    within ``scope``; a name two of them share (in different counties) maps to AMBIGUOUS."""
    sites = session.execute(
        select(Site.id, Site.name, Site.region_id).where(
            Site.project_id == project_id, scope.where(Site.region_id)
        )
    ).all()
    codes: dict[str, int] = {}
    for site_id, name, _ in sites:
        codes[name] = AMBIGUOUS if name in codes else site_id
    regions = {site_id: region_id for site_id, _, region_id in sites}
    tokens = session.execute(
        select(SiteToken.token, SiteToken.site_id).where(SiteToken.site_id.in_(list(regions)))
    )
    codes.update({token: site_id for token, site_id in tokens})
    return codes, regions


def _text_problem(value: str, what: str, limit: int) -> str | None:
    if len(value) > limit:
        return f"{what}超过 {limit} 个字"
    try:
        readable_text(value)
    except ValidationError:
        return f"{what}里有无法识别的字符"
    return None


def _checked_rows(
    cipher: FieldCipher, codes: dict[str, int], regions: dict[int, int], rows: Iterable[RawRow]
) -> Iterator[ValidRow | Problem]:
    """Each row checked on its own: a ValidRow, or a Problem saying why not (bad name,
    note or phone, unknown site). ``codes`` and ``regions`` are ``site_codes``'.

    A reason names the column and what is wrong, never what the cell holds: with columns
    shifted, the site code's cell holds someone's number or name, and reports are kept."""
    for row in rows:
        if not row.name:
            yield Problem(row.line, "姓名为空")
            continue
        reason = _text_problem(row.name, "姓名", NAME_MAX) or _text_problem(
            row.note, "备注", NOTE_MAX
        )
        if reason:
            yield Problem(row.line, reason)
            continue
        try:
            phone = normalize_phone(row.phone)
        except BadPhone as err:
            yield Problem(row.line, f"电话有误：{err}")
            continue
        site_id = codes.get(row.site.upper()) or codes.get(row.site)
        if site_id is None:
            # The column may hold codes or names (roster_files), and only the user's own
            # counties' sites count.
            missing = "点位有误：您管理的地区里没有这个点位（按点位码或名称查找）"
            yield Problem(row.line, missing if row.site else "点位为空")
            continue
        if site_id == AMBIGUOUS:
            yield Problem(row.line, "点位有误：多个县有这个名称的点位，请改填点位码")
            continue
        digest = cipher.digest(phone)
        yield ValidRow(row.line, row.name, phone, digest, site_id, regions[site_id], row.note)


def validate_rows(
    session: Session, cipher: FieldCipher, project_id: int, scope: Scope, rows: Iterable[RawRow]
) -> Iterator[ValidRow | Problem]:
    """Each row checked: a ValidRow, or a Problem saying why not (see ``_checked_rows``; and
    a number already on the county's roster or earlier in the file for that county).

    Duplicates are looked for within the row's county only: a county user must not learn
    from an import report that a number is on another county's roster."""
    codes, regions = site_codes(session, project_id, scope)
    on_roster = set(_roster_digests(session, project_id, regions.values()))
    seen: dict[tuple[int, str], int] = {}
    for row in _checked_rows(cipher, codes, regions, rows):
        if isinstance(row, Problem):
            yield row
            continue
        key = (row.region_id, row.digest)
        # Rows hashed under an older key still count while a key rotation runs.
        if any((row.region_id, digest) in on_roster for digest in cipher.digests(row.phone)):
            yield Problem(row.line, "名单中已有这个电话号码")
            continue
        if key in seen:
            yield Problem(row.line, f"与第 {seen[key]} 行的电话号码重复")
            continue
        seen[key] = row.line
        yield row


def _roster_digests(session: Session, project_id: int, region_ids) -> Iterator[tuple[int, str]]:
    """(county, number digest) of the project's roster entries in these counties."""
    return session.execute(
        select(Resident.region_id, Resident.phone_digest).where(
            Resident.project_id == project_id, Resident.region_id.in_(set(region_ids))
        )
    )


def check_file(
    session: Session,
    cipher: FieldCipher,
    project_id: int,
    scope: Scope,
    file: BinaryIO,
    filename: str,
) -> FileCheck:
    """Read and check a roster file without writing anything.

    Raises RosterFileError when the file cannot be read as a roster.
    """
    valid, bad, problems = 0, 0, []
    for result in validate_rows(session, cipher, project_id, scope, read_rows(file, filename)):
        if isinstance(result, ValidRow):
            valid += 1
            continue
        bad += 1
        if len(problems) < PROBLEMS_KEPT:
            problems.append(result)
    return FileCheck(valid, bad, problems)


#: Bytes of a staged file per Fernet token: making or reading a token holds its plaintext
#: several times over, which for a whole 20 MB file came to 150 MB.
SEALED_PART = 1 << 20


def _sealed(cipher: FieldCipher, file: BinaryIO) -> tuple[bytes, int]:
    """``file`` read from where it is and encrypted a part at a time: Fernet tokens, one
    a line; and how many bytes it had."""
    tokens, size = [], 0
    while part := file.read(SEALED_PART):
        tokens.append(cipher.encrypt_bytes(part))
        size += len(part)
    return b"\n".join(tokens), size


#: Bytes of a staged payload read per query: PostgreSQL sends bytea as hex text, so a
#: 27 MB payload read whole held about 80 MB at once.
PAYLOAD_SLICE = 1 << 20


def _sealed_tokens(session: Session, import_id: int) -> Iterator[bytes]:
    """The tokens ``_sealed`` made of a staged file, read from the database a slice at a
    time (the payload is never loaded whole; see RosterImport.payload)."""
    payload, where = RosterImport.payload, RosterImport.id == import_id
    size = session.scalar(select(func.length(payload)).where(where)) or 0
    rest = b""
    for start in range(1, size + 1, PAYLOAD_SLICE):  # SQL counts from 1
        piece = session.scalar(select(func.substr(payload, start, PAYLOAD_SLICE)).where(where))
        *tokens, rest = (rest + piece).split(b"\n")
        yield from tokens
    if rest:
        yield rest


def _unsealed(cipher: FieldCipher, tokens: Iterable[bytes]) -> io.BytesIO:
    """The file ``_sealed`` made ``tokens`` of."""
    plain = io.BytesIO()
    for token in tokens:
        plain.write(cipher.decrypt_bytes(token))
    plain.seek(0)
    return plain


def stage_import(
    session: Session,
    cipher: FieldCipher,
    project: Project,
    user: User,
    filename: str,
    file: BinaryIO,
    check: FileCheck,
) -> RosterImport:
    """Keep a checked file (``file``, read from its start), encrypted, until the user
    imports its valid rows or cancels.

    Of its name only the format is kept (see RosterImport)."""
    file.seek(0)
    payload, size = _sealed(cipher, file)
    staged = RosterImport(
        project=project,
        region_id=user.region_id,
        user=user,
        file_format=filename.rsplit(".", 1)[-1].lower(),  # csv or xlsx: check_file read it
        file_size=size,
        payload=payload,
        valid_rows=check.valid,
        bad_rows=check.bad,
        problems=[[p.line, p.reason] for p in check.problems],
    )
    return stage(session, staged)


#: The columns of a prepared row, in the order ``prepared_rows`` spools them.
_SPOOLED = (
    "site_id",
    "region_id",
    "name_token",
    "phone_token",
    "phone_digest",
    "note_token",
    "older_digests",
)


@contextmanager
def prepared_rows(
    session: Session,
    cipher: FieldCipher,
    staged: RosterImport,
    scope: Scope,
    progress: Progress | None = None,
) -> Iterator[TextIO]:
    """The staged file's valid rows as encrypted column values, ready to insert: spooled,
    one tab-separated line a row, to an anonymous temporary file (deleted when closed),
    so that memory stays flat whatever the file's size. It holds ciphertext and keyed
    digests only, like the residents table.

    Done before the write transaction starts: encrypting 300,000 rows takes many seconds,
    and SQLite's write lock should not be held meanwhile. Rows are checked again on their
    own; a number already on the county's roster, or twice in the file, is left to the
    unique key at insert (the first one of a file stays), as the check said.
    ``progress(done, valid rows)`` is called after each valid row.
    """
    data = _unsealed(cipher, _sealed_tokens(session, staged.id))
    rows = read_rows(data, f"roster.{staged.file_format}")
    codes, regions = site_codes(session, staged.project_id, scope)
    with tempfile.TemporaryFile("w+", encoding="ascii", newline="\n") as spool:
        done = 0
        for row in _checked_rows(cipher, codes, regions, rows):
            if isinstance(row, ValidRow):
                done += 1
                if progress:
                    progress(done, staged.valid_rows)
                note = cipher.encrypt(row.note) if row.note else ""
                name, phone = cipher.encrypt(row.name), cipher.encrypt(row.phone)
                spool.write(f"{row.site_id}\t{row.region_id}\t{name}\t{phone}")
                older = " ".join(cipher.older_digests(row.phone))  # while a rotation runs
                spool.write(f"\t{row.digest}\t{note}\t{older}\n")
        del data, rows
        spool.seek(0)
        yield spool


def _spooled_chunks(spool: TextIO, extra: dict) -> Iterator[list[dict]]:
    """The spooled rows as column values (with ``extra``), CHUNK at a time."""
    while chunk := list(islice(spool, CHUNK)):
        values = []
        for line in chunk:
            row = dict(zip(_SPOOLED, line.rstrip("\n").split("\t"), strict=True))
            row["site_id"], row["region_id"] = int(row["site_id"]), int(row["region_id"])
            row["note_token"] = row["note_token"] or None
            row["older_digests"] = row["older_digests"].split()
            values.append(row | extra)
        yield values


def import_rows(session: Session, actor: Actor, staged: RosterImport, prepared: TextIO) -> int:
    """Insert the prepared rows of a staged import and close it, logged as ``actor``'s.
    Returns how many were added: a number that reached the county's roster meanwhile
    (another import, even one running at this moment), or was in the file before, is left
    out by the unique key. Call inside the write transaction; a failure rolls all of it
    back, so a roster is imported whole or not at all."""
    now = now_utc()
    insert_new = _INSERT_NEW[session.connection().dialect.name]
    extra = {"project_id": staged.project_id, "import_id": staged.id, "created_at": now}
    for values in _spooled_chunks(prepared, extra):
        if values := _not_held_under_older_keys(session, staged.project_id, values):
            session.execute(insert_new, values)
    added = session.scalar(select(func.count()).where(Resident.import_id == staged.id))
    detail = f"{staged.project.name}：{staged.file_label}导入 {added} 人（导入编号 {staged.id}）"
    close_imported(session, actor, staged, added, "roster_imported", detail)
    return added


def _not_held_under_older_keys(session: Session, project_id: int, values: list[dict]):
    """``values`` (each losing its ``older_digests``) without the numbers their county's
    roster holds under an older key's digest: while a key rotation runs, the unique key sees
    only the first key's digests, and the check said those numbers are on the roster."""
    older: dict[tuple[int, str], int] = {}
    for index, row in enumerate(values):
        for digest in row.pop("older_digests"):
            older[(row["region_id"], digest)] = index
    if not older:
        return values
    held = session.execute(
        select(Resident.region_id, Resident.phone_digest).where(
            Resident.project_id == project_id,
            Resident.phone_digest.in_({digest for _, digest in older}),
        )
    )
    skipped = {older[tuple(key)] for key in held if tuple(key) in older}
    return [row for index, row in enumerate(values) if index not in skipped]


@dataclass
class RosterEntry:
    """A resident as listed to staff: name and phone masked."""

    id: int
    site_name: str
    name: str
    phone: str
    deceased: bool
    created_at: datetime


def mask_name(name: str) -> str:
    """``张**``: the family name and the length, enough to tell entries apart on a list."""
    return name[0] + "*" * (len(name) - 1) if len(name) > 1 else "*"


def roster_page(
    session: Session,
    cipher: FieldCipher,
    project_id: int,
    scope: Scope,
    *,
    phone: str | None = None,
    sites: SiteFilter = ALL_SITES,
    number: int = 1,
) -> Page:
    """Page ``number`` of the project's roster within ``scope`` and ``sites``, its entries
    masked. ``phone`` (already normalised) finds one number through its keyed hash."""
    query = (
        select(Resident)
        .join(Site, Resident.site_id == Site.id)
        .where(Resident.project_id == project_id, scope.where(Site.region_id), sites.where())
        .options(contains_eager(Resident.site))
        .order_by(Site.name, Resident.id)
    )
    if phone:
        query = query.where(Resident.phone_digest.in_(cipher.digests(phone)))
    page = page_of(session, query, number)
    entries = [
        RosterEntry(
            resident.id,
            resident.site.name,
            mask_name(cipher.decrypt(resident.name_token)),
            mask_phone(cipher.decrypt(resident.phone_token)),
            resident.deceased_at is not None,
            resident.created_at,
        )
        for resident in page.items
    ]
    return replace(page, items=entries)


def roster_size(session: Session, project_id: int, scope: Scope) -> int:
    """How many residents the project's roster holds within ``scope``."""
    return session.scalar(
        select(func.count(Resident.id))
        .join(Site, Resident.site_id == Site.id)
        .where(Resident.project_id == project_id, scope.where(Site.region_id))
    )


def remove_residents(session: Session, condition) -> int:
    """Delete the residents matching ``condition`` (a WHERE clause on Resident); their open
    call tasks close as removed, finished ones keep their outcome. Returns how many."""
    ids = select(Resident.id).where(condition).scalar_subquery()
    session.execute(
        update(CallTask)
        .where(CallTask.resident_id.in_(ids), CallTask.status == "open")
        .values(status="removed", closed_at=now_utc())
    )
    result = session.execute(delete(Resident).where(Resident.id.in_(ids)))
    return result.rowcount


def delete_resident(session: Session, actor: Actor, resident: Resident) -> None:
    """Delete one person from the roster (on their request, or entered by mistake), logged
    as ``actor``'s."""
    detail = f"名单人员 {resident.id}（点位 {resident.site.name}）"
    remove_residents(session, Resident.id == resident.id)
    record(session, "resident_deleted", actor, detail)


def purge_old(session: Session, days: int, now: datetime) -> str:
    """Delete roster entries added more than ``days`` ago with the imports (and their
    reports) made as long ago, and the numbers residents left on the QR form as long ago;
    drop staged files left for over a day; logged as the command's (``purge-roster``).
    Returns what was done, in the audit log's words."""
    cutoff = now - timedelta(days=days)
    residents = remove_residents(session, Resident.created_at < cutoff)
    old = select(RosterImport.id).where(RosterImport.created_at < cutoff).scalar_subquery()
    # An entry added later than its import (confirmed a day after the upload) outlives it.
    session.execute(update(Resident).where(Resident.import_id.in_(old)).values(import_id=None))
    imports = session.execute(delete(RosterImport).where(RosterImport.id.in_(old))).rowcount
    stale = drop_stale(session, RosterImport, now)
    left = delete(ResponseContact).where(ResponseContact.created_at < cutoff)
    contacts = session.execute(left).rowcount
    detail = (
        f"删除 {days} 天前导入的名单人员 {residents} 人、导入记录 {imports} 份、"
        f"扫码评价留下的回访电话 {contacts} 个，过期未确认的上传文件 {stale} 个"
    )
    record(session, "roster_purged", COMMAND, detail)
    return detail


def move_refusal(session: Session, site: Site) -> str | None:
    """Why ``site`` may not move to another county: it has a roster, whose entries are
    counted and scoped by the county (the hook ``sites.hooks.move_refusal``)."""
    has_roster = select(Resident.id).where(Resident.site_id == site.id).limit(1)
    if session.scalar(has_roster) is None:
        return None
    return (
        "这个点位已有服务对象名单，不能改到其他县（市、区）。如确需调整，请新增点位并停用这个点位。"
    )
