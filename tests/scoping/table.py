"""Every rule of ``app.url_map`` and how the region-scoping matrix tries it.

A new route must get a line in ``ROUTES`` (test_every_route_is_in_the_table says so):

- ``public(why)``: no login, by design (the resident form, the login page, …);
- ``logged_in(...)``: any staff member, about nothing of a region;
- ``admin_only(...)``: admins only, every other role 403;
- ``lists(roles, ...)``: no id; what each role reads must name no region outside its scope;
- ``scoped(roles, ...)``: ids of records owned by a region (``A``, ``A1`` …) or a user; the
  owner's readers pass, everyone else gets 403 or 404 and, for a POST, nothing changes.

A probe is ``(owner, method, url, data)``. POSTs carry a valid CSRF token and the ``data``
given (none by default: a foreign id must be refused before the form is read). Where a user's
own POST would use a record up (a delete, a confirmation), ``own`` gives the probes with the
user's spare records instead (``tests/scoping/world.py``).
"""

from collections.abc import Callable
from dataclasses import dataclass

from tests.scoping.world import CITIES, COUNTIES, USERS, World, city_of

REGIONS = (*CITIES, *COUNTIES)


@dataclass(frozen=True)
class Probe:
    owner: str  # a region key, or a user name for a user's own staged uploads
    method: str
    url: str
    data: dict | None = None


@dataclass(frozen=True)
class Route:
    kind: str  # public, logged_in, admin_only, lists, scoped
    roles: tuple[str, ...] = ()
    probes: Callable[[World], list[Probe]] = lambda world: []
    #: The user's own probes when the shared ones would be used up (by user name).
    own: Callable[[World, str], list[Probe]] | None = None
    #: A county user sees its city's records of this kind (a project that reaches it,
    #: the city's batch); not a city's recordings.
    county_sees_city: bool = True
    why: str = ""


SETUP = ("admin", "city")
STAFF = ("city", "county")
ALL = ("admin", "city", "county")


def public(why: str) -> Route:
    return Route("public", why=why)


def logged_in(probes, why="") -> Route:
    return Route("logged_in", roles=("admin", "city", "county"), probes=probes, why=why)


def admin_only(probes, own=None) -> Route:
    return Route("admin_only", roles=("admin",), probes=probes, own=own)


def lists(roles, probes) -> Route:
    return Route("lists", roles=roles, probes=probes)


def scoped(roles, probes, own=None, county_sees_city=True) -> Route:
    return Route("scoped", roles, probes, own, county_sees_city)


# -- probe builders ---------------------------------------------------------------------


def _per_city(template: str, method="GET", data=None):
    """A probe per city: ``{p}`` is its project's id."""

    def probes(w: World):
        return [Probe(c, method, template.format(p=w.projects[c]), data) for c in CITIES]

    return probes


def _per_county(template: str, ids: str, method="GET", data=None, counties=tuple(COUNTIES)):
    """A probe per county: ``{p}`` its project, ``{id}`` the county's record in ``ids``
    (a World field), ``{r}`` the county's region id, ``{s}`` its main site."""

    def probes(w: World):
        return [Probe(k, method, _fill(template, w, k, getattr(w, ids)[k]), data) for k in counties]

    return probes


def _per_region(template: str, ids: str, method="GET", data=None, regions=REGIONS):
    """A probe per region key, cities and counties (batches, recordings)."""

    def probes(w: World):
        return [
            Probe(k, method, _fill(template, w, k, getattr(w, ids)[k]), data)
            for k in regions
            if k in getattr(w, ids)
        ]

    return probes


def _fill(template: str, w: World, key: str, ident) -> str:
    return template.format(
        p=w.projects[city_of(key)], id=ident, r=w.regions[key], s=w.sites.get(key)
    )


def _per_user(template: str, ids: str, index: int, method="GET", data=None):
    """A probe per user with staged uploads: their ``index``-th upload in ``ids``."""

    def probes(w: World):
        return [
            Probe(user, method, template.format(id=staged[index]), data)
            for user, staged in getattr(w, ids).items()
        ]

    return probes


def _both(*builders):
    def probes(w: World):
        return [probe for build in builders for probe in build(w)]

    return probes


def _fixed(*urls, method="GET", data=None):
    return lambda w: [Probe("", method, url, data) for url in urls]


def _spare(template: str, ids: str, per_city=False):
    """The user's own POST on their spare record in ``ids`` (a World field by user name, or
    by city with ``per_city``); ``{p}`` is the project of the user's city (the admin's: A).
    None for a user without one (the province's)."""

    def own(w: World, user: str):
        city = city_of(USERS[user][1] or "A")
        spare = getattr(w, ids).get(city if per_city else user)
        if spare is None or city not in w.projects:
            return []
        return [Probe("", "POST", template.format(id=spare, p=w.projects[city]))]

    return own


def _admin_spare(template: str, method="POST", data=None):
    return lambda w: [Probe("", method, template.format(id=w.spare_user), data)]


def _api_token(template: str, method="POST"):
    return lambda w: [Probe("", method, template.format(id=w.api_token))]


# -- the table ----------------------------------------------------------------------------

P = "/admin/projects/{p}"
STATS_BY_COUNTY = "/api/v1/projects/{p}/stats?group=site&county={id}"
S = "/admin/sites/{s}"

ROUTES: dict[str, Route] = {
    # Public by design.
    "static": public("stylesheets and scripts"),
    "health.healthz": public("the load balancer's check; says nothing of any region"),
    "metrics.metrics": public("counts by route for the scraper; loopback or METRICS_ALLOW only"),
    "accounts.start": public("a redirect to the login or the user's home page"),
    "accounts.login": public("the login page"),
    "form.show": public("the resident form, by the site's link token on its poster"),
    "form.submit": public("a resident's answer, by link token"),
    "form.thanks": public("the thank-you page, by link token"),
    "form.audio": public("a question read aloud on the resident form (served to anyone)"),
    "api-docs.openapi_json": public("the API's description"),
    "api.site_form": public("a kiosk's form, by link token"),
    "api.submit": public("a kiosk's answer, by link token"),
    "api.site_qr": public("a site's QR symbol, by the link token printed on its poster"),
    # Any staff member.
    "accounts.password": logged_in(
        _both(_fixed("/account/password"), _fixed("/account/password", method="POST"))
    ),
    "accounts.logout": logged_in(
        lambda w: [], why="ends every session of the user: tests/accounts/test_sessions.py"
    ),
    "jobs.index": logged_in(_fixed("/jobs/")),
    # Admins only.
    "regions.index": admin_only(_fixed("/admin/regions/")),
    "regions.add": admin_only(_fixed("/admin/regions/", method="POST")),
    "regions.rename": admin_only(
        lambda w: [Probe("", "POST", f"/admin/regions/{w.regions['A1']}/rename")]
    ),
    "regions.delete": admin_only(
        lambda w: [Probe("", "POST", f"/admin/regions/{w.spare_region}/delete")]
    ),
    "users.index": admin_only(_fixed("/admin/users/")),
    "users.new": admin_only(
        _both(_fixed("/admin/users/new"), _fixed("/admin/users/new", method="POST"))
    ),
    "users.edit": admin_only(
        _both(_admin_spare("/admin/users/{id}", "GET"), _admin_spare("/admin/users/{id}"))
    ),
    "users.disable": admin_only(_admin_spare("/admin/users/{id}/disable")),
    "users.enable": admin_only(_admin_spare("/admin/users/{id}/enable")),
    "users.reset_password": admin_only(_admin_spare("/admin/users/{id}/password")),
    "api_tokens.index": admin_only(_fixed("/admin/api-tokens/")),
    "api_tokens.new": admin_only(
        _both(_fixed("/admin/api-tokens/new"), _fixed("/admin/api-tokens/new", method="POST"))
    ),
    "api_tokens.show": admin_only(_api_token("/admin/api-tokens/{id}", "GET")),
    "api_tokens.confirm_revoke": admin_only(_api_token("/admin/api-tokens/{id}/revoke", "GET")),
    "api_tokens.revoke": admin_only(_api_token("/admin/api-tokens/{id}/revoke")),
    "api_tokens.ping": admin_only(_api_token("/admin/api-tokens/{id}/ping")),
    "holidays.index": admin_only(_fixed("/admin/holidays/")),
    "holidays.new": admin_only(
        _both(_fixed("/admin/holidays/new"), _fixed("/admin/holidays/new", method="POST"))
    ),
    "holidays.edit": admin_only(
        _both(_fixed("/admin/holidays/2027"), _fixed("/admin/holidays/2027", method="POST"))
    ),
    # Lists: no id, each reader's own regions only.
    "sites.projects": lists(SETUP, _fixed("/admin/")),
    "sites.new_project": lists(
        SETUP, _both(_fixed("/admin/projects/new"), _fixed("/admin/projects/new", method="POST"))
    ),
    "checks.index": lists(STAFF, _fixed("/checks/")),
    "checks.notice": lists(
        ("admin", "city"), _both(_fixed("/checks/notice"), _fixed("/checks/notice", method="POST"))
    ),
    "stats.overview": lists(STAFF, _fixed("/dashboard/", "/dashboard/?channel=phone")),
    "accounts.audit": lists(
        ("admin", "city"), _fixed("/admin/audit", "/admin/audit?action=token_rotated")
    ),
    "api.projects": lists(("admin", "city", "county"), _fixed("/api/v1/projects")),
    # Project set-up: admins, and a city for its own projects.
    "sites.project": scoped(SETUP, _per_city(P)),
    "sites.edit_project": scoped(
        SETUP, _both(_per_city(P + "/edit"), _per_city(P + "/edit", "POST"))
    ),
    "sites.project_posters": scoped(SETUP, _per_city(P + "/posters.pdf")),
    "sites.qr_code": scoped(
        SETUP, _both(_per_county(S + "/qr.png", "sites"), _per_county(S + "/qr.svg", "sites"))
    ),
    # Scoped by the project's city like the QR code; a poster takes a second to draw, so
    # one site per city.
    "sites.site_poster": scoped(
        SETUP, _per_county(S + "/poster.pdf", "sites", counties=("A1", "B1"))
    ),
    "sites.confirm_rotate": scoped(SETUP, _per_county(S + "/rotate", "sites")),
    "sites.rotate": scoped(SETUP, _per_county(S + "/rotate", "sites", "POST")),
    "site_admin.new_site": scoped(
        SETUP, _both(_per_city(P + "/sites/new"), _per_city(P + "/sites/new", "POST"))
    ),
    "site_admin.edit_site": scoped(
        SETUP, _both(_per_county(S + "/edit", "sites"), _per_county(S + "/edit", "sites", "POST"))
    ),
    "site_admin.retire_site": scoped(
        SETUP,
        _per_county(S + "/retire", "sites", "POST"),
        own=_spare("/admin/sites/{id}/retire", "live_spares", per_city=True),
    ),
    "site_admin.enable_site": scoped(
        SETUP,
        _per_county(S + "/enable", "sites", "POST"),
        own=_spare("/admin/sites/{id}/enable", "retired_spares", per_city=True),
    ),
    "site_admin.export_sites": scoped(
        SETUP, _both(_per_city(P + "/sites.csv"), _per_city(P + "/sites.xlsx"))
    ),
    "site_admin.import_form": scoped(SETUP, _per_city(P + "/sites/import")),
    "site_admin.import_upload": scoped(SETUP, _per_city(P + "/sites/import", "POST")),
    "site_admin.import_report": scoped(
        SETUP, _per_user("/admin/site-imports/{id}", "site_imports", 0)
    ),
    "site_admin.import_confirm": scoped(
        SETUP, _per_user("/admin/site-imports/{id}/confirm", "site_imports", 1, "POST")
    ),
    "site_admin.import_cancel": scoped(
        SETUP, _per_user("/admin/site-imports/{id}/cancel", "site_imports", 2, "POST")
    ),
    "checklists.edit": scoped(SETUP, _per_city(P + "/checklist")),
    "checklists.save": scoped(SETUP, _per_city(P + "/checklist", "POST")),
    "questionnaires.edit": scoped(SETUP, _per_city(P + "/questionnaire")),
    "questionnaires.change": scoped(SETUP, _per_city(P + "/questionnaire", "POST")),
    # Recordings: the city's and any county's for admins and the city, a county its own.
    "questionnaires.recording_list": scoped(
        ("admin", "city", "county"),
        _per_region(P + "/questionnaire/recordings?region={r}", "recordings"),
        county_sees_city=False,
    ),
    "questionnaires.recording_upload": scoped(
        ("admin", "city", "county"),
        lambda w: [
            Probe(
                k,
                "POST",
                f"/admin/projects/{w.projects[city_of(k)]}/questionnaire/recordings",
                {"key": "overall", "region": str(w.regions[k])},
            )
            for k in REGIONS
        ],
        county_sees_city=False,
    ),
    "questionnaires.recording_delete": scoped(
        ("admin", "city", "county"),
        _per_region(P + "/questionnaire/recordings/{id}/delete", "recordings", "POST"),
        own=_spare(P + "/questionnaire/recordings/{id}/delete", "spare_recordings"),
        county_sees_city=False,
    ),
    # Rosters, spot-checks and visits: city and county staff.
    "checks.roster_list": scoped(STAFF, _per_city("/checks/projects/{p}/roster")),
    "checks.roster_search": scoped(
        STAFF, _per_city("/checks/projects/{p}/roster/search", "POST", {"phone": "13900000000"})
    ),
    "checks.roster_upload": scoped(STAFF, _per_city("/checks/projects/{p}/roster/import", "POST")),
    # 整改单: the county's, which its city sees too.
    "rectification.index": lists(STAFF, _fixed("/cases/", "/cases/?all=1")),
    "rectification.case": scoped(STAFF, _per_county("/cases/{id}", "cases")),
    "rectification.verify": scoped(STAFF, _per_county("/cases/{id}/verify", "cases", "POST")),
    "rectification.rectify": scoped(STAFF, _per_county("/cases/{id}/rectify", "cases", "POST")),
    "rectification.rules": scoped(
        SETUP, _both(_per_city("/cases/rules/{p}"), _per_city("/cases/rules/{p}", "POST"))
    ),
    "rectification.complaint": scoped(
        STAFF, _per_county("/cases/complaints/{id}", "flagged", "POST")
    ),
    "rectification.reveal": scoped(STAFF, _per_county("/cases/{id}/reveal", "cases", "POST")),
    "rectification.followup": scoped(STAFF, _per_county("/cases/{id}/followup", "cases", "POST")),
    "rectification.unreachable": scoped(
        STAFF, _per_county("/cases/{id}/unreachable", "cases", "POST")
    ),
    "rectification.photo": scoped(STAFF, _per_county("/cases/photos/{id}", "case_photos")),
    # A county appeals its case; only the city decides.
    "rectification.appeal": scoped(("county",), _per_county("/cases/{id}/appeal", "cases", "POST")),
    "rectification.decide": scoped(("city",), _per_county("/cases/{id}/decide", "cases", "POST")),
    # 进度: a county records its sites' milestones, its city confirms them; the projects'
    # milestones are set up by admins and the city; monthly reports per county.
    "progress.index": lists(ALL, _fixed("/progress/")),
    "progress.project": scoped(ALL, _per_city("/progress/projects/{p}")),
    "progress.site": scoped(ALL, _per_county("/progress/sites/{id}", "sites")),
    "progress.record": scoped(
        ("county",), _per_county("/progress/sites/{id}/records", "sites", "POST")
    ),
    "progress.confirm": scoped(
        ("city",), _per_county("/progress/records/{id}/confirm", "progress_records", "POST")
    ),
    "progress.return_record": scoped(
        ("city",), _per_county("/progress/records/{id}/return", "progress_records", "POST")
    ),
    "progress.evidence_file": scoped(ALL, _per_county("/progress/files/{id}", "progress_files")),
    "progress.milestones": scoped(
        SETUP,
        _both(
            _per_city("/progress/projects/{p}/milestones"),
            _per_city("/progress/projects/{p}/milestones", "POST"),
        ),
    ),
    "progress.reports": scoped(ALL, _per_city("/progress/projects/{p}/reports?month=2026-03")),
    "progress.send_report": scoped(
        ("county",), _per_city("/progress/projects/{p}/reports", "POST")
    ),
    # A background job is its asker's alone.
    "jobs.job": scoped(ALL, _per_user("/jobs/{id}", "jobs", 0)),
    "jobs.download": scoped(ALL, _per_user("/jobs/{id}/download", "jobs", 0)),
    "checks.import_report": scoped(STAFF, _per_user("/checks/imports/{id}", "roster_imports", 0)),
    "checks.import_confirm": scoped(
        STAFF, _per_user("/checks/imports/{id}/confirm", "roster_imports", 1, "POST")
    ),
    "checks.import_cancel": scoped(
        STAFF, _per_user("/checks/imports/{id}/cancel", "roster_imports", 2, "POST")
    ),
    "checks.resident_delete": scoped(
        STAFF,
        _per_county("/checks/residents/{id}/delete", "residents", "POST"),
        own=_spare("/checks/residents/{id}/delete", "spare_residents"),
    ),
    "checks.samples": scoped(STAFF, _per_city("/checks/projects/{p}/samples")),
    "checks.sample_draw": scoped(STAFF, _per_city("/checks/projects/{p}/samples", "POST")),
    "checks.batch": scoped(STAFF, _per_region("/checks/batches/{id}", "batches")),
    "checks.batch_export": scoped(STAFF, _per_region("/checks/batches/{id}/tasks.csv", "batches")),
    "checks.task": scoped(STAFF, _per_county("/checks/tasks/{id}", "tasks")),
    "checks.reveal": scoped(STAFF, _per_county("/checks/tasks/{id}/reveal", "tasks", "POST")),
    "checks.attempt": scoped(STAFF, _per_county("/checks/tasks/{id}/attempts", "tasks", "POST")),
    "checks.visit_list": scoped(
        STAFF, _per_city("/checks/projects/{p}/visits?count=10&seed=matrix")
    ),
    "checks.visit_new": scoped(
        STAFF,
        _both(
            _per_county("/checks/sites/{s}/visits/new", "sites"),
            _per_county("/checks/sites/{s}/visits/new?home_visit={id}", "home_visits"),
        ),
    ),
    "checks.visit_create": scoped(
        STAFF, _per_county("/checks/sites/{s}/visits/new", "sites", "POST")
    ),
    "checks.visit": scoped(STAFF, _per_county("/checks/visits/{id}", "visits")),
    "checks.interview": scoped(
        STAFF, _per_county("/checks/visits/{id}/interviews", "visits", "POST")
    ),
    "checks.visit_delete": scoped(
        STAFF,
        _per_county("/checks/visits/{id}/delete", "visits", "POST"),
        own=_spare("/checks/visits/{id}/delete", "spare_visits"),
    ),
    "checks.photo": scoped(STAFF, _per_county("/checks/photos/{id}", "photos")),
    # The dashboard: city and county staff.
    "stats.project": scoped(
        STAFF,
        _both(
            _per_city("/dashboard/projects/{p}"),
            _per_county("/dashboard/projects/{p}?county={id}", "regions"),
        ),
    ),
    "stats.county": scoped(STAFF, _per_county("/dashboard/projects/{p}/counties/{id}", "regions")),
    "stats.site": scoped(STAFF, _per_county("/dashboard/sites/{id}", "sites")),
    "stats.comments": scoped(
        STAFF,
        _both(
            _per_city("/dashboard/projects/{p}/comments"),
            _per_county("/dashboard/projects/{p}/comments?county={id}", "regions"),
        ),
    ),
    "stats.summary_export": scoped(
        STAFF,
        _both(
            _per_city("/dashboard/projects/{p}/summary.csv?group=site"),
            _per_city("/dashboard/projects/{p}/summary.xlsx?group=county"),
            _per_county("/dashboard/projects/{p}/summary.csv?group=site&county={id}", "regions"),
        ),
    ),
    "stats.responses_export": scoped(
        STAFF,
        _both(
            _per_city("/dashboard/projects/{p}/responses.csv"),
            _per_city("/dashboard/projects/{p}/responses.xlsx"),
        ),
    ),
    "stats.report": scoped(STAFF, _per_city("/dashboard/projects/{p}/report")),
    "stats.report_pdf": scoped(STAFF, _per_city("/dashboard/projects/{p}/report.pdf")),
    "stats.flagged_answers": scoped(
        STAFF,
        _both(
            _per_city("/dashboard/projects/{p}/flagged"),
            _per_city("/dashboard/projects/{p}/flagged?state=pending&page=1"),
        ),
    ),
    "stats.review_flagged": scoped(("city",), _per_city("/dashboard/projects/{p}/flagged", "POST")),
    # The JSON API.
    "api.project": scoped(("admin", "city", "county"), _per_city("/api/v1/projects/{p}")),
    "api.project_sites": scoped(
        ("admin", "city", "county"), _per_city("/api/v1/projects/{p}/sites")
    ),
    "api_lists.answers": scoped(STAFF, _per_city("/api/v1/projects/{p}/answers")),
    "api_lists.alerts": scoped(STAFF, _per_city("/api/v1/projects/{p}/alerts?month=2026-11")),
    "api_lists.calls": scoped(STAFF, _per_city("/api/v1/projects/{p}/calls")),
    "api_lists.cases": scoped(STAFF, _per_city("/api/v1/projects/{p}/cases")),
    "api_lists.progress": scoped(STAFF, _per_city("/api/v1/projects/{p}/progress")),
    "api_lists.case": scoped(STAFF, _per_county("/api/v1/cases/{id}", "cases")),
    "api_lists.visits": scoped(STAFF, _per_city("/api/v1/projects/{p}/visits?limit=1")),
    "api_lists.site_links": scoped(
        ("admin", "city", "county"), _per_city("/api/v1/projects/{p}/site-links")
    ),
    "api.project_stats": scoped(
        STAFF,
        _both(
            _per_city("/api/v1/projects/{p}/stats?group=site"),
            # A county outside the reader's regions filters nothing in: no 404 here, but
            # the reply must name nothing of it.
            lambda w: [
                Probe(city_of(k), "GET", _fill(STATS_BY_COUNTY, w, k, w.regions[k]))
                for k in COUNTIES
            ],
        ),
    ),
}
