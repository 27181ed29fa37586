"""Tiny runs of the benchmarks: they must work and find no errors (their ratios are for
docs/PERFORMANCE.md, never asserted here: this machine is too noisy for timing tests)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.bench


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args, "--smoke"], cwd=ROOT, capture_output=True, text=True, timeout=240
    )


@pytest.mark.skipif(
    not os.access("/usr/bin/wrk", os.X_OK),
    reason="wrk is not installed (apt-get install wrk; .ci/run does)",
)
def test_submission_benchmark_stores_every_acknowledged_answer_once():
    done = _run("bench/submit.py")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "new ==" in done.stdout


def test_qr_benchmark_prints_and_scans():
    done = _run("bench/qr.py")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_roster_benchmark_imports_every_row_and_samples():
    done = _run("bench/roster.py")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert '"errors": 0' in done.stdout


def test_dashboard_benchmark_agrees_with_duckdb():
    done = _run("bench/dashboard.py")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert '"errors": 0' in done.stdout


@pytest.mark.skipif(
    not os.access("/usr/bin/wrk", os.X_OK) or not os.environ.get("TEST_DATABASE_URL"),
    reason="needs wrk (apt-get install wrk) and PostgreSQL (TEST_DATABASE_URL; .ci/run sets it)",
)
def test_load_benchmark_stores_every_acknowledged_answer_once():
    url = make_url(os.environ["TEST_DATABASE_URL"])
    bench_url = url.set(database=f"{url.database}_bench_load")
    done = _run("bench/load.py", "--database-url", bench_url.render_as_string(False))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "answers stored ==" in done.stdout and "FAIL" not in done.stdout
    assert "Target: residents app p99" in done.stdout  # printed, never asserted
