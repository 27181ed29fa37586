"""Dashboard benchmark: the stats API and the project page at 100,000 and 1,000,000 responses.

Run from the repository root::

    .venv/bin/python bench/dashboard.py             # 2,000 sites, 90 counties, 1,000,000 answers
    .venv/bin/python bench/dashboard.py --smoke     # 200 sites, 10 counties, 50,000 answers (CI)
    .venv/bin/python bench/dashboard.py --sizes 100000   # the first stage only, to iterate
    .venv/bin/python bench/dashboard.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench

Seeds an empty database (a city with its counties, one project, its sites, a city user) and
loads synthetic responses spread over the last 365 days through the app's bulk path
(``import_responses``, 50,000 per transaction): first a tenth of them, then the rest
(``--sizes``: other stages); PostgreSQL is VACUUMed and ANALYZEd after each load, as
autovacuum would. After each load it logs in through the Flask test client and times,
warm, ``GET /api/v1/projects/<id>/stats?group=county`` and ``?group=site`` and the project
page ``/dashboard/projects/<id>``. Baseline, in the same run and taking turns with each
request (so both see the same load on the machine): DuckDB (in memory, loaded from the
same raw rows, loading not timed) computing the endpoint's numbers per county or site and
channel: n, satisfied, rate, mean score, proxy answers apart. The endpoint's JSON must
equal DuckDB's numbers (exit 1 otherwise). Growth: the database is copied after the first
stage, and at the end each request is timed on the copy and on the full database in turns
(the stages' own p50s, minutes apart, are printed too; the machine's load moved them by
more than the growth itself).
``--profile`` adds a cProfile of one request of each kind at the larger size. Targets
(informational): endpoint <= 3x DuckDB; p50 <= 100 ms on SQLite; 10x the responses grows the
endpoint's p50 < 1.5x. A PostgreSQL database is wiped first (schema ``public`` dropped), so
its name must contain "bench"; its copy is ``<name>_<first size>``, dropped at the end.
"""

import argparse
import bisect
import cProfile
import csv
import gc
import io
import itertools
import json
import math
import pstats
import random
import sqlite3
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import flask_migrate  # noqa: E402
from sqlalchemy import create_engine, func, make_url, select, text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from bench import databases  # noqa: E402
from survey import create_app  # noqa: E402
from survey.accounts.models import User  # noqa: E402
from survey.accounts.services import hash_password  # noqa: E402
from survey.db import db, now_utc, write_transaction  # noqa: E402
from survey.questionnaires.defaults import DEFAULT_QUESTIONS  # noqa: E402
from survey.questionnaires.services import create_questionnaire  # noqa: E402
from survey.regions.models import Region  # noqa: E402
from survey.responses.answers_store import import_responses  # noqa: E402
from survey.responses.rollup_models import ResponseRollup  # noqa: E402
from survey.responses.rollups import local_day  # noqa: E402
from survey.sites.models import Project, Site  # noqa: E402
from survey.stats.metrics import LEVEL_POINTS, MIN_SAMPLE  # noqa: E402
from survey.stats.summaries import CHANNELS  # noqa: E402

USERNAME, PASSWORD = "bench-city", "bench-password-123"
TARGET_RATIO, TARGET_MS, TARGET_GROWTH = 3.0, 100.0, 1.5
PER_TRANSACTION = 50_000
SATISFIED_FROM = 3  # the project's default (projects.satisfied_from)
LEVELS = (5, 4, 3, 2, 1)
#: Answer weights per level (5 … 1): most sites do well; one in ten does worse, and worse
#: still when a stranger asks (phone, visit) than on its own poster (QR).
PROFILES = {
    "good": (55, 30, 10, 3, 2),
    "weak": (35, 30, 15, 12, 8),
    "weak_asked": (20, 25, 20, 20, 15),
}
CHANNEL_WEIGHTS = {"qr": 80, "phone": 15, "visit": 5}
PROXY_SHARE = 0.05  # of phone answers
SCENARIOS = {"county": "stats ?group=county", "site": "stats ?group=site", "page": "project page"}
#: What the profile lists: the app's code, the database driver, templates, serialisation.
PROFILED = r"survey/|sqlite3|psycopg|jinja2/environment|marshmallow/schema|flask/json"
CSV_COLUMNS = {
    "site_id": "INTEGER",
    "county_id": "INTEGER",
    "channel": "VARCHAR",
    "proxy": "BOOLEAN",
    "overall": "TINYINT",
    "day": "DATE",
}


def make_app(url: str):
    key = "q2GvW8mW3bJ5kC6b0k2mN7r1s9tX4yZ6aB8cD0eF2gE="
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "FIELD_ENCRYPTION_KEY": key})


def prepare_database(url: str, n_sites: int, n_counties: int) -> tuple[int, int, list]:
    """Migrate an empty database; seed a city, its counties, one project with its sites and
    a city user. Returns (project id, questionnaire version id, [(site id, county id)])."""
    databases.wipe(url)
    app = make_app(url)
    with app.app_context():
        flask_migrate.upgrade()
        session = db.session
        with write_transaction(session):
            city = Region(name="丽水市", level="city")
            counties = [
                Region(name=f"县{i + 1:02d}", level="county", parent=city)
                for i in range(n_counties)
            ]
            questionnaire = create_questionnaire(session, "问卷", DEFAULT_QUESTIONS)
            project = Project(name="照料中心", year=2026, region=city, questionnaire=questionnaire)
            sites = [
                Site(project=project, region=counties[i % n_counties], name=f"照料中心{i + 1:04d}")
                for i in range(n_sites)
            ]
            session.add_all(sites)
            user = User(username=USERNAME, role="city", region=city, must_change_password=False)
            user.password_hash = hash_password(PASSWORD)
            session.add(user)
        ids = (project.id, questionnaire.current_version.id)
        placed = [(site.id, site.region_id) for site in sites]
        db.engine.dispose()
    return *ids, placed


class Generator:
    """Synthetic responses over the 365 days before ``end``: busier and quieter sites,
    channels 80/15/5 %, levels skewed to 5 and 4, a few proxy answers among phone calls."""

    def __init__(self, placed: list, version_id: int, end, seed: int = 2026):
        self.rng = random.Random(seed)
        self.placed, self.version_id = placed, version_id
        self.start, self.span = end - timedelta(days=365), 365 * 86400
        weights = [self.rng.lognormvariate(0, 0.6) for _ in placed]
        self.site_cum = list(itertools.accumulate(weights))
        self.weak = {site for site, _county in placed if self.rng.random() < 0.1}
        self.level_cum = {k: list(itertools.accumulate(w)) for k, w in PROFILES.items()}
        self.channel_cum = list(itertools.accumulate(CHANNEL_WEIGHTS.values()))

    def rows(self, count: int) -> tuple[list[dict], list[tuple]]:
        """``count`` rows for import_responses, and the same as raw rows for DuckDB."""
        rng, channels = self.rng, list(CHANNEL_WEIGHTS)
        rows, raw = [], []
        for _ in range(count):
            site, county = self.placed[
                bisect.bisect(self.site_cum, rng.random() * self.site_cum[-1])
            ]
            channel = channels[bisect.bisect(self.channel_cum, rng.random() * self.channel_cum[-1])]
            profile = (
                "good" if site not in self.weak else "weak" if channel == "qr" else "weak_asked"
            )
            cum = self.level_cum[profile]
            level = LEVELS[bisect.bisect(cum, rng.random() * cum[-1])]
            proxy = channel == "phone" and rng.random() < PROXY_SHARE
            created_at = self.start + timedelta(seconds=rng.random() * self.span)
            rows.append(
                {
                    "site_id": site,
                    "version_id": self.version_id,
                    "channel": channel,
                    "overall": level,
                    "created_at": created_at,
                    "proxy": proxy,
                    "comment": "",
                }
            )
            raw.append(
                (
                    site,
                    county,
                    channel,
                    str(proxy).lower(),
                    level,
                    local_day(created_at).isoformat(),
                )
            )
        return rows, raw


def load(url: str, generator: Generator, count: int, raw_csv: Path) -> tuple[float, int]:
    """Import ``count`` more responses, PER_TRANSACTION per transaction, and append them to
    the raw CSV; on PostgreSQL, ANALYZE (not timed). Returns (seconds inside import_responses
    and commit, rollup cells after)."""
    app, seconds = make_app(url), 0.0
    with app.app_context(), raw_csv.open("a", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        for done in range(0, count, PER_TRANSACTION):
            rows, raw = generator.rows(min(PER_TRANSACTION, count - done))
            writer.writerows(raw)
            started = time.perf_counter()
            with write_transaction(db.session):
                import_responses(db.session, rows)
            seconds += time.perf_counter() - started
        cells = db.session.scalar(select(func.count()).select_from(ResponseRollup))
        if db.engine.dialect.name == "postgresql":
            # What autovacuum would do after a bulk load (and it may be off, or late):
            # without statistics the planner takes ~5x longer ways to the rollups, and
            # the bulk load's upserts leave as many dead rollup rows as live ones.
            db.session.rollback()  # end the read (it wrote nothing) that VACUUM would wait for
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
    close(app)
    return seconds, cells


def logged_in_client(app):
    client = app.test_client()
    page = client.get("/login").data.decode()
    token = page.split('name="csrf_token"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    form = {"username": USERNAME, "password": PASSWORD, "csrf_token": token}
    reply = client.post("/login", data=form)
    if reply.status_code != 302:
        raise RuntimeError(f"login failed: {reply.status_code} {reply.data[:300]!r}")
    return client


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def timed(*calls, runs: int) -> tuple[list[list[float]], list]:
    """One warm-up of each call, then ``runs`` rounds timing each call in turn; (the
    milliseconds of each call, their last results). Taking turns, the endpoint and its
    anchor see the same machine: other work on it comes and goes within seconds."""
    results = [call() for call in calls]
    times = [[] for _ in calls]
    for _ in range(runs):
        for i, call in enumerate(calls):
            started = time.perf_counter()
            results[i] = call()
            times[i].append((time.perf_counter() - started) * 1000)
    return times, results


def get(client, path: str):
    def call():
        reply = client.get(path)
        if reply.status_code != 200:
            raise RuntimeError(f"GET {path}: {reply.status_code} {reply.data[:300]!r}")
        return reply

    return call


def load_anchor(con, raw_csv: Path) -> None:
    """(Re)load every raw row so far into DuckDB's in-memory table ``raw`` (not timed)."""
    columns = ", ".join(f"'{name}': '{kind}'" for name, kind in CSV_COLUMNS.items())
    read = f"read_csv('{raw_csv}', header = true, delim = ',', columns = {{{columns}}})"
    con.execute(f"CREATE OR REPLACE TABLE raw AS SELECT * FROM {read}")


def anchor_sql(group: str) -> str:
    """The endpoint's numbers over the raw rows: per key and channel, and per key (channel
    NULL: the combined rate), n and satisfied without proxies, the rate (NULL below
    MIN_SAMPLE), the mean score, and the proxy answers apart."""
    key = {"county": "county_id", "site": "site_id"}[group]
    points = " ".join(f"WHEN {level} THEN {p}" for level, p in LEVEL_POINTS.items())
    return f"""
        SELECT key, channel, n, proxies,
               CASE WHEN n >= {MIN_SAMPLE} THEN satisfied / n END AS rate,
               CASE WHEN n >= {MIN_SAMPLE} THEN points / n END AS mean_score
        FROM (
            SELECT {key} AS key, channel,
                   count(*) FILTER (WHERE NOT proxy) AS n,
                   count(*) FILTER (WHERE NOT proxy AND overall >= {SATISFIED_FROM}) AS satisfied,
                   coalesce(sum(CASE overall {points} END) FILTER (WHERE NOT proxy), 0) AS points,
                   count(*) FILTER (WHERE proxy) AS proxies
            FROM raw
            GROUP BY GROUPING SETS (({key}, channel), ({key}))
        )
    """


def compare(reply: dict, anchor_rows: list[tuple]) -> list[str]:
    """Differences between the endpoint's JSON and DuckDB's rows (n, rate, mean, proxies)."""
    empty = {"n": 0, "rate": None, "mean_score": None, "proxy": 0}
    want = {}
    for key, channel, n, proxies, rate, mean in anchor_rows:
        want[(key, channel)] = {"n": n, "rate": rate, "mean_score": mean, "proxy": proxies}
    errors, seen = [], set()
    for row in reply["rows"]:
        seen.add(row["id"])
        for channel in (*CHANNELS, None):
            got = row["combined"] if channel is None else row["channels"][channel]
            expected = want.get((row["id"], channel), empty)
            for name in ("n", "rate", "mean_score"):
                if got[name] != expected[name]:
                    where = f"{reply['group']} {row['id']} {channel or 'combined'} {name}"
                    errors.append(f"{where}: endpoint {got[name]} != duckdb {expected[name]}")
        if row["proxy"] != want.get((row["id"], None), empty)["proxy"]:
            errors.append(f"{reply['group']} {row['id']} proxy: {row['proxy']} != duckdb")
    errors += [f"{reply['group']} {key}: missing" for key, _ in want if key not in seen]
    return errors


def request_paths(project_id: int) -> dict[str, str]:
    """The timed requests (SCENARIOS' keys) and their paths."""
    return {
        "county": f"/api/v1/projects/{project_id}/stats?group=county",
        "site": f"/api/v1/projects/{project_id}/stats?group=site",
        "page": f"/dashboard/projects/{project_id}",
    }


def close(app) -> None:
    """Let go of the app's connections (a PostgreSQL copy needs its source unused)."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def measure(url: str, project_id: int, con, runs: int, profile: bool) -> tuple[dict, list]:
    """p50/p90 of the three requests and of DuckDB's two queries; the numbers compared."""
    app = make_app(url)
    client = logged_in_client(app)
    # This process also holds the raw rows it generated for DuckDB, which a server does
    # not; left in the collector's reach they made every full collection during a request
    # scan them (about half of a 200 ms request). Frozen, as a server's start-up heap is
    # in effect (gunicorn --preload with gc.freeze()).
    gc.collect()
    gc.freeze()
    paths = request_paths(project_id)
    found, errors = {}, []
    for name in ("county", "site"):
        anchor = anchor_sql(name)
        times, (reply, rows) = timed(
            get(client, paths[name]), lambda sql=anchor: con.execute(sql).fetchall(), runs=runs
        )
        found[name], found[f"duckdb_{name}"] = times
        errors += compare(reply.get_json(), rows)  # read after the timing: a client's cost
    (found["page"],), _ = timed(get(client, paths["page"]), runs=runs)
    if profile:
        for name in paths:
            profiler = cProfile.Profile()
            profiler.runcall(get(client, paths[name]))
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
            stats.print_stats(PROFILED, 15)  # below the Flask and flask-smorest wrappers
            print(f"\n== cProfile: one request, {SCENARIOS[name]}\n{out.getvalue()}")
    gc.unfreeze()
    close(app)
    stats = {k: {"p50": percentile(v, 0.5), "p90": percentile(v, 0.9)} for k, v in found.items()}
    return stats, errors


def rounded(value):
    """``value`` with every float rounded to 3 decimals, for the JSON line."""
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return round(value, 3) if isinstance(value, float) else value


def snapshot(url: str, tmp: Path, size: int) -> str:
    """A copy of the database as it is now (after the first stage), to time the requests
    at both sizes in turns at the end (``load`` and ``measure`` have closed their
    connections); returns its URL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        copy = tmp / f"dashboard-{size}.db"
        with sqlite3.connect(parsed.database) as source, sqlite3.connect(copy) as target:
            source.backup(target)
        return f"sqlite:///{copy}"
    name = f"{parsed.database}_{size}"
    with create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{parsed.database}"'))
    return parsed.set(database=name).render_as_string(hide_password=False)


def drop_snapshot(url: str, copy_url: str) -> None:
    if make_url(copy_url).get_backend_name() == "postgresql":
        with create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT").connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{make_url(copy_url).database}" WITH (FORCE)'))


def measure_growth(small_url: str, large_url: str, project_id: int, runs: int) -> dict:
    """p50s of each request at the first size and at the last, timed in turns (a request on
    the copy, then the same on the full database), so load on the machine weighs on both
    alike; the stages' own p50s are minutes apart."""
    apps = [make_app(small_url), make_app(large_url)]
    clients = [logged_in_client(app) for app in apps]
    gc.collect()
    gc.freeze()
    found = {}
    for name, path in request_paths(project_id).items():
        (small, large), _ = timed(*(get(client, path) for client in clients), runs=runs)
        found[name] = percentile(large, 0.5) / percentile(small, 0.5)
    gc.unfreeze()
    for app in apps:
        close(app)
    return found


def run(args, tmp: Path) -> int:
    url = args.database_url or f"sqlite:///{tmp / 'dashboard.db'}"
    backend = make_url(url).get_backend_name()
    if refused := databases.refusal(url):
        print(refused, file=sys.stderr)
        return 2
    sizes = sorted(set(args.sizes or (args.responses // 10, args.responses)))
    print(
        f"bench/dashboard.py: {args.sites} sites, {args.counties} counties, "
        f"{' then '.join(f'{size:,}' for size in sizes)} responses, {args.runs} timed runs, "
        f"{backend}, duckdb {duckdb.__version__}",
        flush=True,
    )
    project_id, version_id, placed = prepare_database(url, args.sites, args.counties)
    generator = Generator(placed, version_id, now_utc())
    raw_csv = tmp / "raw.csv"
    raw_csv.write_text(",".join(CSV_COLUMNS) + "\n")
    con = duckdb.connect()
    results, errors, loaded, small_url, growth = {}, [], 0, None, {}
    try:
        for size in sizes:
            seconds, cells = load(url, generator, size - loaded, raw_csv)
            rate = (size - loaded) / seconds
            note = f"({rate:,.0f} rows/s); {cells:,} rollup cells"
            print(f"  loaded {size - loaded:,} in {seconds:.1f} s {note}", flush=True)
            loaded = size
            load_anchor(con, raw_csv)
            profile = args.profile and size == sizes[-1]
            stats, found = measure(url, project_id, con, args.runs, profile)
            results[size] = stats | {"rows_per_s": rate, "cells": cells}
            errors += found
            print(f"  measured at {size:,}: {len(found)} differences from DuckDB", flush=True)
            if len(sizes) > 1 and size == sizes[0]:
                small_url = snapshot(url, tmp, size)
        if small_url:
            growth = measure_growth(small_url, url, project_id, args.runs)
    finally:
        if small_url:
            drop_snapshot(url, small_url)
    setup = {"backend": backend, "sites": args.sites, "counties": args.counties}
    print(json.dumps(rounded(report(results, growth, args.runs, errors) | setup)))
    return 1 if errors else 0


def report(results: dict, growth: dict, runs: int, errors: list) -> dict:
    """Print the tables and the targets' verdicts of ``results`` ({size: measure()'s stats})
    and ``growth`` (measure_growth's, {} with one size); return the figures for the JSON
    line. Growth compares the largest size with the smallest (the targets' 10x with the
    default sizes); its verdict is taken from the requests timed in turns."""
    sizes = sorted(results)
    small, large = results[sizes[0]], results[sizes[-1]]
    verdict = {True: "PASS", False: "FAIL"}
    print(f"\n== Milliseconds, p50 / p90 ({runs} warm runs each)")
    print(f"  {'responses':<22}" + "".join(f"{size:>20,}" for size in sizes))
    for key, label in (
        *SCENARIOS.items(),
        ("duckdb_county", "duckdb per county"),
        ("duckdb_site", "duckdb per site"),
    ):
        cols = "".join(
            f"{results[s][key]['p50']:>11.1f} / {results[s][key]['p90']:<6.1f}" for s in sizes
        )
        print(f"  {label:<22}{cols}")
    ratios = {
        f"{g}_vs_duckdb_{s}": results[s][g]["p50"] / results[s][f"duckdb_{g}"]["p50"]
        for g in ("county", "site")
        for s in sizes
    }
    stages = {g: large[g]["p50"] / small[g]["p50"] for g in SCENARIOS} if growth else {}
    print("\n== Ratios of p50s (same run; only these compare across runs)")
    heads = "   growth (stages / in turns)" if growth else ""
    print(f"  {'':<30}" + "".join(f"{size:>12,}" for size in sizes) + heads)
    for g in SCENARIOS:
        versus = [ratios.get(f"{g}_vs_duckdb_{s}") for s in sizes]
        cols = "".join(f"{v:>11.2f}x" if v else f"{'':>12}" for v in versus)
        label = SCENARIOS[g] + (" / duckdb" if versus[0] else "")
        grew = f"{stages[g]:12.2f}x / {growth[g]:.2f}x" if growth else ""
        print(f"  {label:<30}{cols}{grew}")
    met = {
        "met_ratio": all(v <= TARGET_RATIO for v in ratios.values()),
        "met_ms": all(large[g]["p50"] <= TARGET_MS for g in ("county", "site")),
    }
    at = ", ".join(f"{SCENARIOS[g]} {large[g]['p50']:.1f}" for g in SCENARIOS)
    targets = {
        "met_ratio": f"endpoint <= {TARGET_RATIO:.0f}x duckdb (both groups, every size)",
        "met_ms": f"endpoint p50 <= {TARGET_MS:.0f} ms at {sizes[-1]:,}, set for SQLite",
    }
    if growth:
        met["met_growth"] = all(growth[g] < TARGET_GROWTH for g in ("county", "site"))
        times = sizes[-1] // sizes[0]
        targets["met_growth"] = (
            f"growth < {TARGET_GROWTH}x for {times}x responses (both groups, in turns)"
        )
    print("\n== Targets (informational)")
    for key, label in targets.items():
        print(f"  {label}   {verdict[met[key]]}")
    print(f"    (at {sizes[-1]:,}: {at} ms)")
    print(f"\nerrors: {len(errors)}", *(f"ERROR {e}" for e in errors[:20]), sep="\n  ")
    result = {"bench": "dashboard", **{str(size): results[size] for size in sizes}}
    result |= ratios | {f"growth_{g}": v for g, v in growth.items()}
    result |= {f"growth_stages_{g}": v for g, v in stages.items()}
    return result | met | {"errors": len(errors)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_000_000, help="final count (1000000)")
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(size) for size in text.split(",")],
        help="counts to measure at, comma-separated (default: a tenth of --responses, then all)",
    )
    parser.add_argument("--sites", type=int, default=2000, help="sites (2000)")
    parser.add_argument("--counties", type=int, default=90, help="counties (90)")
    parser.add_argument("--runs", type=int, default=20, help="timed requests per scenario (20)")
    parser.add_argument("--smoke", action="store_true", help="tiny run: 200 sites, 50,000 answers")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: SQLite)")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile one request each, last size"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.responses, args.sites, args.counties, args.runs = 50_000, 200, 10, 3
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        return run(args, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
