"""Site lists as spreadsheets: importing a list (check it, keep the valid rows staged, then
import them or cancel) and exporting a project's sites with their links.

Files are read by ``survey.spreadsheets`` (CSV in UTF-8 or GBK/GB18030, XLSX with formulas
as text). The import writes all its sites, each with its token, in one transaction, or none.
Services never commit.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from survey import spreadsheets
from survey.accounts.models import User
from survey.accounts.services import Actor
from survey.regions.scope import Scope
from survey.sites.models import SITE_LEVELS, Project, Site, SiteImport
from survey.sites.schemas import SITE_ROW_FIELDS, site_row_schema
from survey.sites.site_editing import project_counties
from survey.sites.staging import PROBLEMS_KEPT, close_imported, stage
from survey.sites.tokens import issue_token, survey_url

SITE_LIST = spreadsheets.Layout(
    columns={
        "county": ("县（市、区）", "县市区", "区县", "县区", "县", "所属县（市、区）", "county"),
        "name": ("点位名称", "名称", "点位", "站点名称", "name"),
        "address": ("地址", "详细地址", "点位地址", "address"),
        "level": ("级别", "点位级别", "level"),
        "contact": ("联系人", "联系方式", "联系电话", "contact"),
    },
    required=("county", "name", "address", "level"),
    labels={
        "county": "县（市、区）",
        "name": "点位名称",
        "address": "地址",
        "level": "级别",
        "contact": "联系人",
    },
    noun="点位清单",
)
#: Rows read from one file at most: a city has hundreds of sites, not tens of thousands,
#: and the staged rows are kept in one JSON value.
MAX_ROWS = 5000
#: The export's header: also a header the import accepts, so an exported list can be edited
#: and imported into another project.
EXPORT_HEADER = ["县（市、区）", "点位名称", "地址", "级别", "联系人", "状态", "点位码", "评价链接"]


@dataclass
class FileCheck:
    """What a site list holds: the valid rows as they will be imported, and the bad ones."""

    rows: list[dict] = field(default_factory=list)
    bad: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)


def _first_problem(messages: dict) -> str:
    for column in SITE_ROW_FIELDS:
        if column in messages:
            message = messages[column][0]
            label = SITE_LIST.labels[column]
            return message if message.startswith(label) else f"{label}：{message}"
    return "这一行无法识别。"


def _names(session: Session, project: Project) -> set[tuple[int, str]]:
    """(county, name) of every site of the project, retired ones too."""
    query = select(Site.region_id, Site.name).where(Site.project_id == project.id)
    return {(region_id, name) for region_id, name in session.execute(query)}


def check_rows(
    session: Session, project: Project, scope: Scope, rows: Iterable[tuple[int, dict]]
) -> FileCheck:
    """Each (line, values) row checked: text lengths and level, a county of the project,
    a name new to its county (in the project and earlier in the file). Writes nothing."""
    counties = {county.name: county.id for county in project_counties(session, project, scope)}
    taken = _names(session, project)
    seen: dict[tuple[int, str], int] = {}
    check = FileCheck()

    def bad(line: int, reason: str) -> None:
        check.bad += 1
        if len(check.problems) < PROBLEMS_KEPT:
            check.problems.append((line, reason))

    for count, (line, values) in enumerate(rows, start=1):
        if count > MAX_ROWS:
            raise spreadsheets.SpreadsheetError(
                f"一个文件最多 {MAX_ROWS} 个点位，请分成几个文件上传。"
            )
        try:
            row = site_row_schema.load(values)
        except ValidationError as err:
            bad(line, _first_problem(err.messages))
            continue
        region_id = counties.get(row["county"])
        if region_id is None:
            bad(
                line,
                f"{project.region.name}没有“{row['county'][:30]}”这个县（市、区），"
                "请按系统中的名称填写。",
            )
            continue
        key = (region_id, row["name"])
        if key in taken:
            bad(line, f"{row['county']}已有名为“{row['name'][:50]}”的点位。")
            continue
        if key in seen:
            bad(line, f"与第 {seen[key]} 行重复：同一县内点位名称不能重复。")
            continue
        seen[key] = line
        check.rows.append(
            {
                "line": line,
                "region_id": region_id,
                "name": row["name"],
                "address": row["address"],
                "level": row["level"],
                "contact": row["contact"],
            }
        )
    return check


def check_file(
    session: Session, project: Project, scope: Scope, file: BinaryIO, filename: str
) -> FileCheck:
    """Read and check a site list without writing anything.

    Raises SpreadsheetError when the file cannot be read as a site list.
    """
    rows = spreadsheets.read_rows(file, filename, SITE_LIST)
    return check_rows(session, project, scope, rows)


def stage_import(
    session: Session, project: Project, user: User, filename: str, check: FileCheck
) -> SiteImport:
    """Keep a checked list's valid rows until its uploader imports them or cancels."""
    staged = SiteImport(
        project=project,
        user_id=user.id,
        filename=spreadsheets.short_name(filename),
        status="staged",
        rows=check.rows,
        valid_rows=len(check.rows),
        bad_rows=check.bad,
        problems=[[line, reason] for line, reason in check.problems],
    )
    return stage(session, staged)


def import_sites(session: Session, actor: Actor, staged: SiteImport, scope: Scope) -> int:
    """Add the staged rows as active sites, each with its token, and close the import.
    Returns how many were added.

    Each row is checked against the database again: a row whose name its county gained
    since the check (another user added it meanwhile), or whose county is gone, is skipped
    and reported on the import's page, the rest are imported. Call inside the write
    transaction after locking ``staged``; a failure (IntegrityError when another import
    adds the same name at this very moment) must roll all of it back.
    """
    project = staged.project
    counties = {county.id: county for county in project_counties(session, project, scope)}
    taken = _names(session, project)
    added, skipped = 0, []
    for row in staged.rows:
        county = counties.get(row["region_id"])
        if county is None:
            skipped.append([row["line"], "这个县（市、区）已不在本项目范围内，未导入。"])
            continue
        if (county.id, row["name"]) in taken:
            skipped.append(
                [row["line"], f"检查之后{county.name}已有同名点位（可能是他人刚添加的），未导入。"]
            )
            continue
        taken.add((county.id, row["name"]))
        site = Site(
            project=project,
            region=county,
            name=row["name"],
            address=row["address"],
            level=row["level"],
            contact=row["contact"],
        )
        session.add(site)
        issue_token(session, site)
        added += 1
    session.flush()
    detail = f"{project.name}：文件“{staged.filename}”导入 {added} 个点位（导入编号 {staged.id}）"
    if skipped:
        detail += f"，{len(skipped)} 个检查后已有同名或县已不在，未导入"
    close_imported(session, actor, staged, added, "sites_imported", detail, skipped)
    return added


def export_rows(session: Session, project: Project, base_url: str) -> Iterator[list]:
    """The project's sites, header first, each with its status, current token and link
    (none for a retired site)."""
    yield EXPORT_HEADER
    query = (
        select(Site)
        .where(Site.project_id == project.id)
        .options(joinedload(Site.region), selectinload(Site.tokens))
        .order_by(Site.region_id, Site.id)
    )
    for site in session.scalars(query):
        token = site.token if site.active else None
        yield [
            site.region.name,
            site.name,
            site.address,
            SITE_LEVELS[site.level],
            site.contact,
            "在用" if site.active else "已停用",
            token or "",
            survey_url(base_url, token) if token else "",
        ]
