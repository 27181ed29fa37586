"""Staged uploads, one mechanism for site lists and rosters (``survey.sites.staging`` and
``staging_views``): the same races end the same way for both."""

from dataclasses import dataclass

import pytest

from survey.accounts.models import AuditEntry
from survey.checks.models import Resident, RosterImport
from survey.db import db, write_transaction
from survey.sites import staging_views
from survey.sites.models import Site, SiteImport
from tests.checks.conftest import phone, roster_csv
from tests.checks.conftest import upload as upload_roster
from tests.helpers import PASSWORD, post, post_files, staff_client
from tests.sites.site_helpers import site_csv


@dataclass
class Kind:
    model: type
    written: type  # what an import adds
    imported: str  # audit actions
    cancelled: str
    noun: str  # as the "already imported" message names the upload

    def upload(self, client, site) -> str:
        """Stage a one-row file for ``site``'s project; returns its report's URL."""
        if self.model is SiteImport:
            url = f"/admin/projects/{site.project_id}/sites/import"
            content = site_csv([("莲都区", "新的康养联合体", "", "乡镇级")])
            reply = post_files(client, url, {"file": (content, "点位.csv")})
        else:
            content = roster_csv([("张三", phone(1), site.token, "")])
            reply = upload_roster(client, site.project_id, content)
        assert reply.status_code == 302, reply.get_data(as_text=True)[:2000]
        return reply.headers["Location"]


KINDS = {
    "sites": Kind(SiteImport, Site, "sites_imported", "site_import_cancelled", "清单"),
    "rosters": Kind(RosterImport, Resident, "roster_imported", "roster_import_cancelled", "文件"),
}


@pytest.fixture(params=list(KINDS))
def kind(request):
    return KINDS[request.param]


@pytest.fixture
def staged(app, make_site, make_user, kind):
    """(client, report URL) of a one-row upload of ``kind`` by a city user, who both sets
    up sites and works on rosters."""
    site = make_site("紫金街道康养联合体", county="莲都区")
    make_user("lishui", "city", PASSWORD, region="丽水市")
    client = staff_client(app, "lishui")
    return client, kind.upload(client, site)


def _finished_elsewhere(app, monkeypatch, model, status):
    """The upload, once read as staged, is set to ``status`` by another request."""
    read = staging_views.own_import

    def read_then_finished(*args):
        upload = read(*args)
        with app.app_context(), write_transaction(db.session):
            db.session.get(model, upload.id).status = status
        return upload

    monkeypatch.setattr(staging_views, "own_import", read_then_finished)


def test_a_cancel_racing_the_import_leaves_it_imported(app, kind, staged, count, monkeypatch):
    client, report = staged
    _finished_elsewhere(app, monkeypatch, kind.model, "imported")
    assert post(client, report + "/cancel").status_code == 302
    assert count(kind.model, status="imported") == 1
    assert count(AuditEntry, action=kind.cancelled) == 0


def test_a_confirm_racing_a_cancel_imports_nothing(app, kind, staged, count, monkeypatch):
    client, report = staged
    before = count(kind.written)
    _finished_elsewhere(app, monkeypatch, kind.model, "cancelled")
    assert post(client, report + "/confirm").status_code == 302
    assert count(kind.written) == before
    assert count(kind.model, status="cancelled") == 1
    assert count(AuditEntry, action=kind.imported) == 0


def test_a_finished_upload_says_so_and_is_not_imported_again(kind, staged, count):
    client, report = staged
    post(client, report + "/confirm")
    written = count(kind.written)
    reply = post(client, report + "/confirm", follow_redirects=True)
    page = reply.get_data(as_text=True)
    assert f"这份{kind.noun}已导入，没有重复导入。" in page
    assert count(kind.written) == written
    assert count(AuditEntry, action=kind.imported) == 1


def test_cancelling_drops_what_was_staged_and_logs_the_upload(app, kind, staged, count):
    client, report = staged
    assert post(client, report + "/cancel").status_code == 302
    with app.app_context():
        upload = db.session.scalars(db.select(kind.model)).one()
        assert upload.status == "cancelled" and upload.finished_at is not None
        assert getattr(upload, upload.payload_column) == upload.payload_emptied
        (detail,) = db.session.scalars(
            db.select(AuditEntry.detail).where(AuditEntry.action == kind.cancelled)
        )
        assert detail == f"{upload.audit_label}（导入编号 {upload.id}）"
