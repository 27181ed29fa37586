"""The database a benchmark is given: a PostgreSQL one is wiped first, so its name must say
it is for benchmarks."""

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool


def refusal(url: str) -> str | None:
    """Why a benchmark must not wipe the database at ``url``, or None."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and "bench" not in (parsed.database or ""):
        return "refusing to wipe a PostgreSQL database whose name lacks 'bench'"
    return None


def wipe(url: str) -> None:
    """Empty a PostgreSQL database (schema ``public`` dropped and made again); a SQLite one
    is a new file already."""
    if make_url(url).get_backend_name() == "postgresql":
        with create_engine(url, poolclass=NullPool).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
