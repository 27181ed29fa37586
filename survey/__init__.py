"""The survey service: ``create_app`` builds the Flask app."""

import os
import secrets
import tempfile
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from survey import config, errors, headers
from survey.checks.calls import CallingHours
from survey.db import (
    RowIdConverter,
    configure_sqlite,
    db,
    fixed_clock,
    migrate,
    migration_includes,
    render_migration_item,
)
from survey.field_cipher import HOW_TO_MAKE_A_KEY, FieldCipher, new_key
from survey.json_provider import OrjsonProvider
from survey.observability import allowed_networks
from survey.responses import stuffing
from survey.responses.before_flask import BeforeFlask
from survey.responses.cached_form import FORM_PREFIXES

ROOT = Path(__file__).resolve().parent.parent


def database_uri(url: str, instance_path: str) -> str:
    """The SQLAlchemy URL for ``DATABASE_URL``: SQLite in ``instance/`` when empty, and
    psycopg 3 for the ``postgres://`` and ``postgresql://`` spellings hosts hand out."""
    if not url:
        return f"sqlite:///{Path(instance_path) / 'survey.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def instance_secret(instance_path: str, name: str = "secret_key", make=None) -> str:
    """The secret kept in ``instance/<name>``, created on first use with ``make()`` (default:
    64 random hex digits).

    Written to a temporary file and linked into place, so that two processes starting at
    once agree on one key and neither ever reads a half-written file.
    """
    path = Path(instance_path) / name
    if not path.exists():
        with tempfile.NamedTemporaryFile("w", dir=instance_path, delete=False) as draft:
            draft.write(make() if make else secrets.token_hex(32))
        os.chmod(draft.name, 0o600)
        try:
            os.link(draft.name, path)  # fails if another process linked its key first
        except FileExistsError:
            pass
        finally:
            os.unlink(draft.name)
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty: delete it or set it in the environment")
    return key


class MissingKeys(RuntimeError):
    """A database server without the keys every machine serving it must share."""


#: How to make each key that must be set, for the message that asks for them.
HOW_TO_MAKE = {
    "SECRET_KEY": "python -c 'import secrets; print(secrets.token_hex(32))'",
    "FIELD_ENCRYPTION_KEY": HOW_TO_MAKE_A_KEY,
}


def require_shared_keys(settings) -> None:
    """Raise MissingKeys naming SECRET_KEY and/or FIELD_ENCRYPTION_KEY when not set.

    Only the embedded SQLite database may generate them into ``instance/``: a database
    server is shared by machines, and a key generated on each would not read the others'
    rows (names and numbers fail to decrypt, duplicates go unnoticed).
    """
    missing = [name for name in HOW_TO_MAKE if not settings.get(name)]
    if missing:
        how = "; ".join(f"{name}: {HOW_TO_MAKE[name]}" for name in missing)
        raise MissingKeys(
            f"{' and '.join(missing)} must be set in the environment when DATABASE_URL is "
            "not SQLite, with the same value on every machine serving the database "
            f"(keys are generated only for the embedded SQLite database). Make one with {how}"
        )


def create_app(overrides: dict | None = None) -> Flask:
    """Build the app from the environment (``survey.config``) and ``overrides``."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    # Before any route is added: every ``<int:…>`` in a URL is a row id.
    app.url_map.converters["int"] = RowIdConverter
    app.config.from_object(config)
    app.config.update(
        API_TITLE="民生实事满意度评价 API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    app.config.update(overrides or {})
    app.json = OrjsonProvider(app)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_uri(
        app.config["DATABASE_URL"], app.instance_path
    )
    embedded = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    if not embedded:
        require_shared_keys(app.config)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = instance_secret(app.instance_path)
    field_key = app.config["FIELD_ENCRYPTION_KEY"] or instance_secret(
        app.instance_path, "field_key", new_key
    )
    app.extensions["field_cipher"] = FieldCipher(field_key)
    app.extensions["calling_hours"] = CallingHours.parse(
        app.config["CALLING_HOURS"], app.config["TIMEZONE"]
    )
    app.extensions["metrics_allow"] = allowed_networks(app.config["METRICS_ALLOW"])
    if app.config["APP_CLOCK"]:
        app.extensions["clock"] = fixed_clock(app.config["APP_CLOCK"])
    app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"] or "memory://"
    redis_url = app.config["REDIS_URL"]
    app.extensions["stuffing_counts"] = stuffing.SharedCounts(redis_url) if redis_url else None
    if not embedded:
        # A database server may restart under us; an embedded file cannot.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
        if not redis_url:
            app.logger.warning(
                "REDIS_URL is not set: each process counts login attempts on its own, so "
                "with several processes a password guesser gets that many times the tries"
            )
    # A cached resident form and a resident's well-formed answer are answered before Flask's
    # request machinery (inside ProxyFix, which tells them the client and the scheme).
    app.wsgi_app = BeforeFlask(app.wsgi_app, app)
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(ROOT / "migrations"),
        render_as_batch=True,
        render_item=render_migration_item,
        include_name=migration_includes,
    )
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])

    from survey import health, observability
    from survey.accounts.access import SessionInterface, csrf, limit_logins, login_manager
    from survey.accounts.cli import create_user_command
    from survey.accounts.user_views import bp as users_blueprint
    from survey.accounts.views import bp as accounts_blueprint
    from survey.api import api
    from survey.api.auth import SECURITY_SCHEMES
    from survey.api.cli import webhooks_command
    from survey.api.listing_views import blp as api_lists_blueprint
    from survey.api.token_views import bp as api_tokens_blueprint
    from survey.api.views import blp as api_blueprint
    from survey.api.webhooks import send_webhooks
    from survey.backups import backup_command, restore_command
    from survey.checks.cli import purge_roster_command, rotate_field_key_command
    from survey.checks.roster import move_refusal
    from survey.checks.roster_job import ROSTER_JOB, roster_job
    from survey.checks.views import bp as checks_blueprint
    from survey.demo.cli import demo_data_command
    from survey.jobs import kinds as job_kinds
    from survey.jobs import queue as job_queue
    from survey.jobs.cli import jobs_command
    from survey.jobs.metrics import read_queue_depth
    from survey.jobs.views import bp as jobs_blueprint
    from survey.progress.views import bp as progress_blueprint
    from survey.rectification.holiday_views import bp as holidays_blueprint
    from survey.rectification.sweep import cases_command, sweep_cases
    from survey.rectification.views import bp as cases_blueprint
    from survey.responses.cli import rebuild_rollups_command
    from survey.responses.editor_views import bp as questionnaires_blueprint
    from survey.responses.services import answers_by_channel
    from survey.responses.views import bp as form_blueprint
    from survey.sites import hooks as site_hooks
    from survey.sites.checklist_views import bp as checklists_blueprint
    from survey.sites.cli import posters_command, sites_command
    from survey.sites.posters import POSTERS_JOB, posters_job
    from survey.sites.project_views import bp as sites_blueprint
    from survey.sites.region_views import bp as regions_blueprint
    from survey.sites.site_views import bp as site_admin_blueprint
    from survey.stats.exports import RESPONSES_JOB, responses_job
    from survey.stats.views import bp as stats_blueprint
    from survey.uploads import apply_upload_limit

    # Sites sit below the packages that refer to them; those answer sites' questions here.
    site_hooks.move_refusal = move_refusal
    site_hooks.answers_by_channel = answers_by_channel
    # Background jobs: the kinds the packages above define, and the queue's depth.
    job_kinds.register(POSTERS_JOB, posters_job)
    job_kinds.register(RESPONSES_JOB, responses_job)
    job_kinds.register(ROSTER_JOB, roster_job)
    job_queue.init_app(app)
    observability.before_scrape(read_queue_depth)
    job_queue.every_minute(send_webhooks)
    job_queue.every_minute(sweep_cases)
    # The resident pages (survey.responses.views) carry no staff session.
    app.session_interface = SessionInterface(sessionless=(*FORM_PREFIXES, "/audio/"))
    # Before CSRF protection reads the form: an upload view's own body limit must apply.
    app.before_request(apply_upload_limit)
    headers.init_app(app)
    login_manager.init_app(app)
    csrf.init_app(app)
    # Residents and API clients carry no session: their forms are protected by the nonce.
    csrf.exempt(form_blueprint)
    csrf.exempt(api_blueprint)
    csrf.exempt(api_lists_blueprint)
    app.register_blueprint(form_blueprint)
    app.register_blueprint(health.bp)
    app.register_blueprint(observability.bp)
    app.register_blueprint(accounts_blueprint)
    app.register_blueprint(users_blueprint)
    limit_logins(app)
    app.register_blueprint(sites_blueprint)
    app.register_blueprint(questionnaires_blueprint)
    app.register_blueprint(checklists_blueprint)
    app.register_blueprint(site_admin_blueprint)
    app.register_blueprint(regions_blueprint)
    app.register_blueprint(checks_blueprint)
    app.register_blueprint(stats_blueprint)
    app.register_blueprint(jobs_blueprint)
    app.register_blueprint(cases_blueprint)
    app.register_blueprint(progress_blueprint)
    app.register_blueprint(api_tokens_blueprint)
    app.register_blueprint(holidays_blueprint)
    app.config["API_SPEC_OPTIONS"] = {"components": {"securitySchemes": SECURITY_SCHEMES}}
    api.init_app(app)
    api.register_blueprint(api_blueprint)
    api.register_blueprint(api_lists_blueprint)
    errors.register(app)
    app.cli.add_command(sites_command)
    app.cli.add_command(posters_command)
    app.cli.add_command(demo_data_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(purge_roster_command)
    app.cli.add_command(rotate_field_key_command)
    app.cli.add_command(rebuild_rollups_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(jobs_command)
    app.cli.add_command(cases_command)
    app.cli.add_command(webhooks_command)
    # Outermost: every request is timed and logged, those answered before Flask too.
    app.wsgi_app = observability.Observed(app.wsgi_app, app)
    return app
