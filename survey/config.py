"""Every setting, read from the environment with a default that works on a laptop.

Production overrides these through the environment (see README, "Production").
"""

import os

#: SQLAlchemy URL. Empty means the embedded SQLite file ``instance/survey.db``.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
#: Signs form nonces and session cookies and keys the hashes of client addresses. Empty
#: means: generated once into ``instance/secret_key`` — only with the embedded SQLite
#: database; with any other DATABASE_URL the app refuses to start without it, since every
#: machine serving the database must share one value (make one with
#: ``python -c 'import secrets; print(secrets.token_hex(32))'``).
SECRET_KEY = os.environ.get("SECRET_KEY", "")
#: Where residents reach the service; survey links and QR codes are built from it.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
#: Staff session cookies: never readable by scripts, not sent on cross-site posts, and only
#: over HTTPS when the service is served over HTTPS: SESSION_COOKIE_SECURE 1 or 0, or unset
#: to follow the app's PUBLIC_BASE_URL (settled when the app is made, survey.headers).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "")
#: A staff session unused this long ends (the signed cookie carries its age).
PERMANENT_SESSION_LIFETIME = int(os.environ.get("STAFF_IDLE_MINUTES", "30")) * 60
#: Optional Redis, shared by every app process (login rate limits).
REDIS_URL = os.environ.get("REDIS_URL", "")
RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
RATELIMIT_SWALLOW_ERRORS = True
#: Login attempts allowed for one user name from one client address (before issue 13 this
#: counted every attempt from the address, which locked out an office behind one NAT).
LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
#: Login attempts allowed from one client address, whatever the user names: looser, since a
#: whole office may share the address.
LOGIN_ADDRESS_RATE_LIMIT = os.environ.get("LOGIN_ADDRESS_RATE_LIMIT", "60 per minute")
#: Wrong passwords slow down the name and address they came from (survey.accounts.throttle):
#: after LOGIN_FREE_FAILURES wrong passwords in a row for one user name from one client
#: address, that name is refused from that address for LOGIN_WAIT_SECONDS, twice as long
#: after each further wrong password, at most LOGIN_MAX_WAIT_SECONDS (429 with Retry-After).
#: The same name from any other address logs in as usual: no account is ever locked. The
#: current password on the change-password page is counted the same way, per user and
#: address. Counted where the login rate limits are (Redis with REDIS_URL, else per process).
LOGIN_FREE_FAILURES = int(os.environ.get("LOGIN_FREE_FAILURES", "3"))
LOGIN_WAIT_SECONDS = int(os.environ.get("LOGIN_WAIT_SECONDS", "30"))
LOGIN_MAX_WAIT_SECONDS = int(os.environ.get("LOGIN_MAX_WAIT_SECONDS", "900"))
#: A second answer from the same phone for the same site within this many hours
#: replaces the first one instead of counting twice.
DEVICE_WINDOW_HOURS = float(os.environ.get("DEVICE_WINDOW_HOURS", "12"))
#: Suspected ballot stuffing is stored but flagged and left out of the rates until reviewed
#: (survey.responses.stuffing, docs/METRICS.md): answers to one site from one client address
#: beyond STUFFING_BURST within STUFFING_WINDOW_MINUTES, and answers sent less than
#: STUFFING_MIN_SECONDS after their form was served.
#: STUFFING_CHECKS=0 stores every answer unflagged (for tests that post many at once).
STUFFING_CHECKS = os.environ.get("STUFFING_CHECKS", "1") != "0"
STUFFING_BURST = int(os.environ.get("STUFFING_BURST", "5"))
STUFFING_WINDOW_MINUTES = float(os.environ.get("STUFFING_WINDOW_MINUTES", "10"))
STUFFING_MIN_SECONDS = float(os.environ.get("STUFFING_MIN_SECONDS", "2"))
#: How long a rendered form may be left open before its nonce expires.
FORM_NONCE_MAX_AGE_HOURS = float(os.environ.get("FORM_NONCE_MAX_AGE_HOURS", "72"))
#: Request bodies above this many bytes answer 413. A resident's answer is well under 4 KB.
MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(64 * 1024)))
#: How many reverse proxies stand in front (their X-Forwarded-* headers are then trusted).
TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
#: One JSON line per request on standard error (method, route, status, milliseconds; no
#: path, client or query): REQUEST_LOG=0 turns it off.
REQUEST_LOG = os.environ.get("REQUEST_LOG", "1") != "0"
#: The networks whose scraper may read /metrics (comma-separated); anyone else gets 404.
METRICS_ALLOW = os.environ.get("METRICS_ALLOW", "127.0.0.1/32,::1/128")
#: Milliseconds a SQLite writer waits for the write lock before giving up (503, nothing stored).
SQLITE_BUSY_TIMEOUT_MS = int(os.environ.get("SQLITE_BUSY_TIMEOUT_MS", "10000"))
#: Printed on posters and on the page of a retired QR code, for residents who cannot scan.
HOTLINE = os.environ.get("HOTLINE", "12345")
#: Largest site list (CSV or XLSX) accepted for import, in bytes: thousands of sites fit in
#: a few hundred KB, so anything near 10 MB is not a site list.
SITE_IMPORT_MAX_BYTES = int(os.environ.get("SITE_IMPORT_MAX_BYTES", str(2 * 1024 * 1024)))
#: Seconds a process reuses a rendered resident form (0 turns the cache off).
FORM_CACHE_SECONDS = float(os.environ.get("FORM_CACHE_SECONDS", "10"))

# Resident rosters, phone spot-checks and visits (survey.checks).
#: Fernet key that encrypts residents' names, phone numbers and notes and staged roster
#: files, and keys the hashes of phone numbers. Losing it loses the rosters: back it up
#: apart from the database. Empty means: generated once into ``instance/field_key`` — only
#: with the embedded SQLite database; with any other DATABASE_URL the app refuses to start
#: without it (a key generated on one machine cannot read another's rows). Make one with
#: ``python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'``.
#: To change it without downtime: set ``NEW,OLD`` (comma-separated; the first encrypts,
#: every one decrypts and finds duplicates) on every machine, run ``flask rotate-field-key``
#: (re-encrypts and re-hashes every row under NEW; run it again until it finds nothing
#: left), then set ``NEW`` alone.
FIELD_ENCRYPTION_KEY = os.environ.get("FIELD_ENCRYPTION_KEY", "")
#: Largest roster file accepted for import, in bytes.
ROSTER_MAX_BYTES = int(os.environ.get("ROSTER_MAX_BYTES", str(20 * 1024 * 1024)))
#: Roster entries older than this many days are purged by ``flask purge-roster``.
ROSTER_RETENTION_DAYS = int(os.environ.get("ROSTER_RETENTION_DAYS", "730"))
#: Residents called within this many days are left out of a new sample.
CALL_EXCLUDE_DAYS = int(os.environ.get("CALL_EXCLUDE_DAYS", "90"))
#: Unanswered attempts before a call task closes as unreachable.
CALL_MAX_ATTEMPTS = int(os.environ.get("CALL_MAX_ATTEMPTS", "3"))
#: A resident in hospital or away (住院或外出) is called again after this many days.
CALL_AWAY_DAYS = int(os.environ.get("CALL_AWAY_DAYS", "14"))
#: When residents may be called, local time: comma-separated HH:MM-HH:MM ranges.
CALLING_HOURS = os.environ.get("CALLING_HOURS", "09:00-11:30,14:30-17:30")
#: The bureaus' time zone: calling hours, half-days and dates are counted in it.
TIMEZONE = os.environ.get("TIMEZONE", "Asia/Shanghai")
#: For tests and demonstrations of deadlines only, unset in production: the app's clock
#: (整改 deadlines and their sweep, calling hours) stands still at this moment, ISO 8601
#: with its zone, e.g. ``2026-10-26T10:00:00+08:00``. Answers are still stamped with the
#: real time.
APP_CLOCK = os.environ.get("APP_CLOCK", "")
#: Largest visit photo, in bytes, and most photos per visit. Browsers with JavaScript scale
#: photos down before sending them; without it a phone's full-size photo (4-12 MB) comes as
#: it is. The visit form's request limit is PHOTO_MAX_BYTES x VISIT_MAX_PHOTOS.
PHOTO_MAX_BYTES = int(os.environ.get("PHOTO_MAX_BYTES", str(20 * 1024 * 1024)))
VISIT_MAX_PHOTOS = int(os.environ.get("VISIT_MAX_PHOTOS", "6"))
#: Largest picture a visit photo may decode to, in pixels (a JPEG counted at the reduced
#: scale it decodes at): what a phone camera makes. Each pixel takes 4 bytes while the
#: server scales it, so this bounds an upload's memory (25 megapixels: about 125 MB).
PHOTO_MAX_PIXELS = int(os.environ.get("PHOTO_MAX_PIXELS", "25000000"))

# Questions read aloud (the resident form's 朗读 button).
#: Longest recording accepted, in seconds: a question read slowly takes 5-15 s.
RECORDING_MAX_SECONDS = float(os.environ.get("RECORDING_MAX_SECONDS", "60"))
#: Largest recording upload, in bytes: a minute of a phone's own recording is about 1 MB,
#: of uncompressed WAV 10.6 MB. What is stored is re-encoded to about 6 KB a second.
RECORDING_MAX_BYTES = int(os.environ.get("RECORDING_MAX_BYTES", str(16 * 1024 * 1024)))

# Background jobs (survey.jobs): a project's posters, big exports, the monthly report.
#: Where finished jobs' files are kept until JOB_KEEP_HOURS have passed (default
#: ``instance/jobs``). With several app machines, a folder they all mount (deploy/).
JOBS_DIR = os.environ.get("JOBS_DIR", "")
#: Huey's queue file when REDIS_URL is not set (default ``instance/jobs-queue.db``); with
#: REDIS_URL the queue is in Redis.
JOBS_QUEUE_FILE = os.environ.get("JOBS_QUEUE_FILE", "")
#: Jobs run inside the request that asks for them, with no worker (tests only).
JOBS_IMMEDIATE = os.environ.get("JOBS_IMMEDIATE", "0") == "1"
#: Jobs one worker process runs at once (``flask jobs worker``; threads).
JOB_WORKERS = int(os.environ.get("JOB_WORKERS", "2"))
#: A running job whose worker has not reported for this long is taken to be dead (killed,
#: machine restarted) and is run again, at most JOB_MAX_ATTEMPTS times in all.
JOB_STALE_SECONDS = float(os.environ.get("JOB_STALE_SECONDS", "60"))
JOB_MAX_ATTEMPTS = int(os.environ.get("JOB_MAX_ATTEMPTS", "3"))
#: A job still queued after this long is queued again (its message was lost with the queue).
JOB_REQUEUE_SECONDS = float(os.environ.get("JOB_REQUEUE_SECONDS", "120"))
#: Finished jobs' files are deleted after this many hours (the page then offers to redo it).
JOB_KEEP_HOURS = float(os.environ.get("JOB_KEEP_HOURS", "24"))
#: A responses export of more rows than this is written in the background (a job with a
#: progress page); smaller ones are sent at once.
EXPORT_DIRECT_ROWS = int(os.environ.get("EXPORT_DIRECT_ROWS", "20000"))
#: A staged roster of more valid rows than this is imported in the background at its
#: confirm (a job with a progress page; 320,000 rows take about a minute); smaller ones at once.
ROSTER_DIRECT_ROWS = int(os.environ.get("ROSTER_DIRECT_ROWS", "20000"))
