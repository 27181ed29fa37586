"""Tiny runs of the benchmarks: they must work and find no errors (their ratios are for
docs/PERFORMANCE.md, never asserted here: this machine is too noisy for timing tests)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
