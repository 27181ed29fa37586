"""Roster import benchmark: 50,000 rows checked, encrypted and imported, then a 5 % sample.

Run from the repository root::

    .venv/bin/python bench/roster.py              # 50,000 rows, temporary SQLite database
    .venv/bin/python bench/roster.py --smoke      # 2,000 rows (CI)
    .venv/bin/python bench/roster.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench
    .venv/bin/python bench/roster.py --rows 320000   # issue 15's roster: confirm memory

Seeds an empty database (a city, five counties, a project with 100 sites, a city user) and
writes a roster CSV over the sites' live tokens. A fresh process imports it as the staff pages
do (check, stage encrypted, prepare, insert; then a 5 % sample), timing each phase; its peak
memory is its VmHWM, and each request's (upload: check and stage; confirm: prepare and
insert) is its peak over the idle process it starts from. Baseline, in another fresh process
on the same database: the same file through csv.reader into a plain table with one
executemany. Targets (informational): <= 30 s, <= 300 MB for 50,000 rows; a confirm <= 150 MB
over idle at any size. Exits 1 when the rows or the sample are wrong. A PostgreSQL database is wiped
first (schema ``public`` dropped), so its name must contain "bench".
"""

import argparse
import cProfile
import csv
import gc
import io
import json
import pstats
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
from sqlalchemy import func, make_url, select  # noqa: E402

from bench import databases  # noqa: E402
from survey import create_app  # noqa: E402
from survey.accounts.models import User  # noqa: E402
from survey.accounts.services import Actor  # noqa: E402
from survey.checks import roster, sampling  # noqa: E402
from survey.checks.models import CallTask, Resident, RosterImport  # noqa: E402
from survey.db import db, now_utc, write_transaction  # noqa: E402
from survey.field_cipher import new_key  # noqa: E402
from survey.questionnaires.defaults import DEFAULT_QUESTIONS  # noqa: E402
from survey.questionnaires.services import create_questionnaire  # noqa: E402
from survey.regions.models import Region  # noqa: E402
from survey.regions.scope import scope_of  # noqa: E402
from survey.sites.models import Project, Site  # noqa: E402
from survey.sites.tokens import issue_token  # noqa: E402

TARGET_SECONDS, TARGET_MB, PERCENT, SITES = 30.0, 300.0, 5, 100
#: A request's memory over the idle process it runs in (issue 15: a 320,000-row confirm).
TARGET_REQUEST_MB = 150.0
COUNTIES = ("莲都区", "青田县", "缙云县", "遂昌县", "松阳县")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余叶程"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国玉梅凤红云丰三文德福贵金银海山春"
NOTES = ("", "", "", "", "独居", "行动不便", "子女在外地", "听力不好，请大声说话")
SAMPLE = {"mode": "percent", "size": PERCENT, "minimum": 1, "seed": "bench", "exclude_days": 90}
PHASES = ("check", "stage", "prepare", "insert", "sample")


def make_app(url: str, key: str):
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "FIELD_ENCRYPTION_KEY": key})


def _status_mb(field: str) -> float:
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text())[1]) / 1024


def hwm_mb() -> float:
    """Peak RSS since exec, or since ``idle_mb()`` (VmHWM; ru_maxrss would include the
    parent's peak, see bench/qr.py)."""
    return _status_mb("VmHWM")


def idle_mb() -> float:
    """The process's RSS now, with its peak reset to it: what a request starts from.

    Writing 5 to clear_refs resets VmHWM (Linux 4.0+), so the next ``hwm_mb()`` is the peak
    of what ran in between."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS")


def prepare_database(url: str, key: str) -> list[str]:
    """Migrate an empty database, seed regions, project, sites and a city user; site tokens."""
    databases.wipe(url)
    app = make_app(url, key)
    with app.app_context():
        flask_migrate.upgrade()
        session = db.session
        with write_transaction(session):
            city = Region(name="丽水市", level="city")
            counties = [Region(name=name, level="county", parent=city) for name in COUNTIES]
            questionnaire = create_questionnaire(session, "问卷", DEFAULT_QUESTIONS)
            project = Project(name="照料中心", year=2024, region=city, questionnaire=questionnaire)
            sites = [
                Site(
                    project=project,
                    region=counties[i % 5],
                    name=f"{COUNTIES[i % 5]}照料中心{i + 1}",
                )
                for i in range(SITES)
            ]
            session.add_all(sites)
            tokens = [issue_token(session, site).token for site in sites]
            session.add(User(username="bench-city", role="city", region=city, password_hash="x"))
        db.engine.dispose()
    return tokens


def make_csv(path: Path, tokens: list[str], rows: int) -> Counter:
    """Write the roster: random names, unique mobile numbers, random sites. Rows per site."""
    rng = random.Random(2024)
    per_site = Counter()
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["姓名", "电话", "点位码", "备注"])
        for number in rng.sample(range(7 * 10**9), rows):
            name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2, 2))))
            token = rng.choice(tokens)
            per_site[token] += 1
            phone = f"1{3 + number // 10**9}{number % 10**9:09d}"
            writer.writerow([name, phone, token, rng.choice(NOTES)])
    return per_site


def child_import(url: str, key: str, path: Path, profile: bool) -> dict:
    """The import as the upload and confirm views do it (two requests), then the sample.

    Each request's peak memory is taken over the idle process it starts from (the RSS
    after the app is loaded, or after the request before it ended)."""
    app = make_app(url, key)
    cipher = app.extensions["field_cipher"]
    seconds, over_idle = {}, {}
    with app.app_context():
        user = db.session.scalars(select(User).filter_by(username="bench-city")).one()
        project = db.session.scalars(select(Project)).one()
        staged_id, project_id, user_id = None, project.id, user.id
        before = hwm_mb()
        profiler = cProfile.Profile()
        if profile:
            profiler.enable()
        idle = idle_mb()
        started = time.perf_counter()
        scope = scope_of(db.session, user)
        with path.open("rb") as file:  # roster_upload
            check = roster.check_file(db.session, cipher, project.id, scope, file, "roster.csv")
            seconds["check"] = time.perf_counter() - started
            started = time.perf_counter()
            with write_transaction(db.session):
                staged = roster.stage_import(
                    db.session, cipher, project, user, "roster.csv", file, check
                )
        staged_id = staged.id
        del staged, project, user
        db.session.remove()  # the end of the upload request
        seconds["stage"] = time.perf_counter() - started
        peaks = [hwm_mb()]
        over_idle["upload"] = peaks[-1] - idle
        idle = idle_mb()
        added = confirm(cipher, staged_id, user_id, seconds)  # import_confirm
        peaks.append(hwm_mb())
        over_idle["confirm"] = peaks[-1] - idle
        profiler.disable()
        started = time.perf_counter()
        user = db.session.get(User, user_id)
        scope = scope_of(db.session, user)
        with write_transaction(db.session):
            sampling.draw_sample(
                db.session, project_id, scope, Actor(user, "bench"), now=now_utc(), **SAMPLE
            )
        seconds["sample"] = time.perf_counter() - started
        if profile:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(10)
            print(out.getvalue())
        got = {"valid": check.valid, "bad": check.bad, "added": added}
        got["residents"] = db.session.scalar(select(func.count(Resident.id)))
        got["tasks"] = db.session.scalar(select(func.count(CallTask.id)))
    return {
        "seconds": seconds,
        "peak_mb": max(peaks + [hwm_mb()]),
        "before_mb": before,
        "over_idle_mb": over_idle,
        "got": got,
    }


def confirm(cipher, staged_id: int, user_id: int, seconds: dict) -> int:
    """What ``import_confirm`` does, timed as prepare (before the write lock) and insert."""
    started = time.perf_counter()
    staged = db.session.get(RosterImport, staged_id)
    user = db.session.get(User, user_id)
    scope = scope_of(db.session, user)
    with roster.prepared_rows(db.session, cipher, staged, scope) as prepared:
        seconds["prepare"] = time.perf_counter() - started
        started = time.perf_counter()
        with write_transaction(db.session, staged):
            added = roster.import_rows(db.session, Actor(user, "bench"), staged, prepared)
    del staged
    db.session.remove()  # the end of the confirm request
    seconds["insert"] = time.perf_counter() - started
    return added


def child_baseline(url: str, key: str, path: Path) -> dict:
    """The same file through csv.reader into a plain table with executemany, one transaction."""
    app = make_app(url, key)
    with app.app_context():
        with db.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE bench_plain_roster (a TEXT, b TEXT, c TEXT, d TEXT)")
        idle = idle_mb()
        started = time.perf_counter()
        with db.engine.begin() as conn, path.open(encoding="utf-8", newline="") as file:
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            rows = [tuple(row) for row in csv.reader(file)][1:]
            sql = f"INSERT INTO bench_plain_roster VALUES ({', '.join([mark] * 4)})"
            conn.exec_driver_sql(sql, rows)
        seconds = time.perf_counter() - started
        over_idle = hwm_mb() - idle
        with db.engine.begin() as conn:
            stored = conn.exec_driver_sql("SELECT count(*) FROM bench_plain_roster").scalar()
            conn.exec_driver_sql("DROP TABLE bench_plain_roster")
    return {"seconds": seconds, "peak_mb": hwm_mb(), "over_idle_mb": over_idle, "rows": stored}


def run_child(kind: str, args, url: str, key: str, path: Path) -> dict:
    """Run one measurement in a fresh interpreter; its JSON result (printing what else it said)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--database-url", url]
    # "--key=…": a Fernet key may start with "-", which argparse would take for an option.
    cmd += [f"--key={key}", "--csv", str(path)] + (["--profile"] if args.profile else [])
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} child failed:\n{done.stderr[-3000:]}")
    *said, last = done.stdout.strip().splitlines()
    print(*said, sep="\n", end="\n" if said else "")
    return json.loads(last)


def run(args, tmp: Path) -> int:
    url = args.database_url or f"sqlite:///{tmp / 'roster.db'}"
    backend = make_url(url).get_backend_name()
    if refused := databases.refusal(url):
        print(refused, file=sys.stderr)
        return 2
    key, path = new_key(), tmp / "roster.csv"
    print(f"bench/roster.py: {args.rows} rows, {SITES} sites, {backend}", flush=True)
    per_site = make_csv(path, prepare_database(url, key), args.rows)
    want_tasks = sum(max(-(-n * PERCENT // 100), 1) for n in per_site.values())
    imp = run_child("import", args, url, key, path)
    base = run_child("baseline", args, url, key, path)
    secs = imp["seconds"]
    load = sum(secs[p] for p in PHASES[:4])
    total = load + secs["sample"]
    met_s, met_mb = total <= TARGET_SECONDS, imp["peak_mb"] <= TARGET_MB
    verdict = {True: "PASS", False: "MISS"}
    lines = [(name, secs[name], "") for name in PHASES] + [("import (check..insert)", load, "")]
    lines += [("total", total, f"target <= {TARGET_SECONDS:.0f} s {verdict[met_s]}")]
    lines += [("baseline csv+executemany", base["seconds"], f"peak {base['peak_mb']:.0f} MB")]
    print(f"\n== Import in a fresh process ({path.stat().st_size / 2**20:.1f} MB file)")
    for name, seconds, note in lines:
        print(f"  {name:<26} {seconds:8.2f} s   {note}".rstrip())
    peak, before = imp["peak_mb"], imp["before_mb"]
    mb = f"target <= {TARGET_MB:.0f} MB {verdict[met_mb]}"
    print(f"  {'peak RSS (VmHWM)':<26} {peak:8.0f} MB  {mb}")
    print(f"  {'':<26} {before:8.0f} MB of it before the import (interpreter, app)")
    over, met_req = imp["over_idle_mb"], imp["over_idle_mb"]["confirm"] <= TARGET_REQUEST_MB
    req = f"target <= {TARGET_REQUEST_MB:.0f} MB {verdict[met_req]}"
    print(f"  {'upload over idle':<26} {over['upload']:8.0f} MB")
    print(f"  {'confirm over idle':<26} {over['confirm']:8.0f} MB  {req}")
    print(f"  {'baseline over idle':<26} {base['over_idle_mb']:8.0f} MB")
    print("\n== Ratios (same run; only these compare across runs)")
    print(f"  import / baseline {load / base['seconds']:8.1f}x")
    print(f"  total / baseline  {total / base['seconds']:8.1f}x")
    memory_ratio = over["confirm"] / max(base["over_idle_mb"], 1.0)
    print(f"  confirm memory over idle / baseline's {memory_ratio:8.1f}x")
    n, got = args.rows, imp["got"] | {"baseline": base["rows"]}
    want = {"valid": n, "bad": 0, "added": n, "residents": n, "tasks": want_tasks, "baseline": n}
    errors = [f"{k}: {got[k]} != {want[k]}" for k in want if got[k] != want[k]]
    print(
        f"\nresidents {got['residents']}, call tasks {got['tasks']} ({got['tasks'] / n:.1%}, "
        f"expected {want_tasks}); errors: {len(errors)}",
        *(f"ERROR {error}" for error in errors),
        sep="\n  ",
    )
    result = {"bench": "roster", "backend": backend, "rows": n, **secs, "import": load}
    result |= {"total": total, "peak_mb": imp["peak_mb"], "baseline": base["seconds"]}
    result |= {"ratio": load / base["seconds"], "met_s": met_s, "met_mb": met_mb}
    result |= {"upload_mb": over["upload"], "confirm_mb": over["confirm"]}
    result |= {"baseline_mb": base["over_idle_mb"], "memory_ratio": memory_ratio}
    result |= {"met_confirm_mb": met_req, "errors": len(errors)}
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}))
    return 1 if errors else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000, help="roster rows (50000)")
    parser.add_argument("--smoke", action="store_true", help="tiny run: 2,000 rows")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--profile", action="store_true", help="cProfile check..insert, top 10")
    parser.add_argument("--child", choices=["import", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "import":
        result = child_import(args.database_url, args.key, args.csv, args.profile)
    elif args.child == "baseline":
        result = child_baseline(args.database_url, args.key, args.csv)
    else:
        args.rows = 2000 if args.smoke else args.rows
        with tempfile.TemporaryDirectory(prefix="bench-roster-") as tmp:
            return run(args, Path(tmp))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
