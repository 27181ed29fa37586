"""The kinds of background job, registered by the packages that own the work (sites: posters;
stats: exports and the monthly report), so this package knows none of them.

A kind's ``run(session, job, out, progress)`` writes its file to ``out`` (binary, opened by
the runner), reading what to do from ``job.params`` and whose scope from ``job.user``, calls
``progress(done, total)`` as it goes, and returns the file's download name and type, and the
audit line of an export (recorded with the job's end, in the asker's name). It raises
JobRefused with a message for the staff member when the work cannot be done as asked (a name
the poster font cannot print); any other exception is a fault.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Protocol

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from survey.jobs.models import Job


class Progress(Protocol):
    """What a kind reports its steps to."""

    def __call__(self, done: int, total: int) -> None:
        """``done`` steps of ``total`` (recorded at most once a second; a beat)."""

    def quiet_for(self, seconds: float) -> None:
        """A step that reports nothing for up to ``seconds`` comes (one transaction writing
        a whole roster): the job is not taken for dead meanwhile."""


@dataclass(frozen=True)
class Output:
    """What a finished job left: a file to download (``file_name``, ``mimetype``), or for
    work that changes data instead (a roster imported), no file and a ``message``; and
    ``link``, where to see the result."""

    file_name: str | None = None
    mimetype: str | None = None
    #: What the audit log says was exported (``exported``), or "" for nothing to record.
    exported: str = ""
    message: str = ""
    link: str = ""


Run = Callable[[Session, "Job", BinaryIO, Progress], Output]


class JobRefused(Exception):
    """The job cannot be done as asked; ``message`` says why, in Chinese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


_KINDS: dict[str, Run] = {}


def register(name: str, run: Run) -> None:
    """Make ``run`` the kind ``name`` (create_app registers each once)."""
    _KINDS[name] = run


def runner_of(name: str) -> Run:
    """The registered kind ``name``; KeyError if none is."""
    return _KINDS[name]
