"""Background jobs: work that takes seconds (a project's 2,000 posters, big exports, the
monthly report) runs in a worker process, while the page that asked shows its progress and
then the download.

Huey carries the jobs to the workers (SQLite file by default, Redis in production; see
docs/ARCHITECTURE.md, "Background jobs"). What a job is and how far it got lives in the
app's own database (``jobs``), so nothing is lost with a worker killed mid-job: a job whose
worker stopped sending heartbeats is claimed again by the next sweep.
"""
