"""What a site's poster says, and the project batches the print shop gets."""

import multiprocessing
import zipfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor

from sqlalchemy.orm import Session

from qr import poster
from qr.fonts import MissingGlyphError
from survey.jobs.kinds import JobRefused, Output, Progress
from survey.sites.models import Project, Site
from survey.sites.tokens import list_sites, printed_url

#: The background job that draws a project's posters (survey.jobs).
POSTERS_JOB = "posters"
#: Why a project has no posters to print.
NO_SITES = "这个项目还没有在用的点位，没有海报可打印。请先添加或导入点位。"


def poster_content(site: Site, base_url: str, hotline: str) -> poster.PosterContent:
    """The poster of ``site``: its printed link, code, names, bureau and hotline (the
    project's own, or ``hotline``, the app's default, when it has none)."""
    city = site.project.region.name
    return poster.PosterContent(
        url=printed_url(base_url, site.token),
        code=site.token,
        project=site.project.name,
        site=site.name,
        county=f"{city}{site.region.name}",
        bureau=f"{city}民政局",
        hotline=site.project.hotline or hotline,
    )


def print_batch(
    session: Session, project_id: int, base_url: str, hotline: str
) -> list[poster.PosterContent]:
    """The posters of a project's active sites, in print order; ``hotline`` is the app's
    default, printed unless the project has its own.

    Raises qr.fonts.MissingGlyphError before anything is drawn if a name cannot be printed.
    """
    sites = [s for s in list_sites(session, project_id) if s.active and s.token]
    contents = [poster_content(site, base_url, hotline) for site in sites]
    for content in contents:
        poster.check(content)
    return contents


def _png(args: tuple[poster.PosterContent, str]) -> bytes:
    content, size = args
    return poster.png_bytes(content, size)


def rendered_pngs(
    contents: list[poster.PosterContent], size: str = "A5", workers: int | None = None
) -> Iterator[tuple[str, bytes]]:
    """(file name, 300-dpi PNG) per poster, in order.

    Rasterising is the slow part, so it runs in worker processes (one per core by default)
    while the caller streams finished posters to disk.
    """
    # Workers come from a clean fork server, never forked from this process: a child that
    # inherits the app's database connections could close them under the parent's feet.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver")) as pool:
        jobs = ((content, size) for content in contents)
        yield from zip(_file_names(contents), pool.map(_png, jobs, chunksize=4), strict=True)


def write_png_zip(
    contents: list[poster.PosterContent],
    out,
    size: str = "A5",
    workers: int | None = None,
    progress: Progress | None = None,
) -> int:
    """Write a ZIP of one PNG poster per site to ``out`` (path or file); returns how many.
    ``progress(done, total)`` is called after each poster."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for done, (name, data) in enumerate(rendered_pngs(contents, size, workers), 1):
            archive.writestr(name, data)
            if progress:
                progress(done, len(contents))
    return len(contents)


def _counted(contents: list, progress: Progress) -> Iterator:
    """The items of ``contents``, calling ``progress`` after each one is used."""
    for done, content in enumerate(contents, 1):
        yield content
        progress(done, len(contents))


def posters_title(project: Project, fmt: str, size: str) -> str:
    """What the staff see of a posters job."""
    what = "PDF" if fmt == "pdf" else "PNG 压缩包"
    return f"{project.name} 全部海报 {what}（{size}）"


def posters_job(session: Session, job, out, progress: Progress) -> Output:
    """The posters job (survey.jobs.kinds): a project's posters as one PDF or a ZIP of
    PNGs. ``job.params``: project_id, fmt ("pdf" or "zip"), size, base_url and hotline (the
    app's, when the job was asked for)."""
    params = job.params
    fmt, size = params["fmt"], params["size"]
    try:
        contents = print_batch(session, params["project_id"], params["base_url"], params["hotline"])
    except MissingGlyphError as err:
        raise JobRefused(f"海报字体缺少这些字：{err.characters}，请先修改相关名称。") from err
    if not contents:
        raise JobRefused(NO_SITES)
    name = f"{session.get(Project, params['project_id']).name}-海报-{size}.{fmt}"
    progress(0, len(contents))
    if fmt == "pdf":
        poster.write_pdf(_counted(contents, progress), out, size)
        return Output(name, "application/pdf")
    write_png_zip(contents, out, size, progress=progress)
    return Output(name, "application/zip")


def _file_names(contents: Iterable[poster.PosterContent]) -> list[str]:
    """``<code>-<county><site>.png``: the code keeps names unique; slashes are replaced."""
    names = []
    for content in contents:
        label = f"{content.county}{content.site}"[:60].replace("/", "_").replace("\\", "_")
        names.append(f"{content.code}-{label}.png")
    return names
