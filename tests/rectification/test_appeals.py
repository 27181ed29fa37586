"""申诉: a county appeals answers of its case it believes malicious, with evidence; only a
city user decides. Upheld, the answers leave the satisfaction rate, which says so in its
footnote, and the case closes once none is left to act on; rejected, the case goes back to
its step. The answer itself is never deleted; every appeal and decision is audited."""

import csv
import io
import os
from datetime import UTC, date, datetime

import pypdfium2
from PIL import Image

from survey.accounts.models import AuditEntry
from survey.db import db
from survey.rectification.metrics import case_counts
from survey.rectification.sweep import sweep_cases
from survey.regions.scope import EVERYTHING
from survey.responses.models import Response
from survey.sites.models import Project
from survey.stats.flagged import left_out
from survey.stats.summaries import Filters
from tests.helpers import staff_client
from tests.rectification.test_cases import _answered, _cases, _post, _steps
from tests.responses.test_stuffing import counted


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "gray").save(out, "JPEG")
    return out.getvalue()


def _flag_of(app, response_id: int) -> str | None:
    with app.app_context():
        return db.session.get(Response, response_id).flag


def _audit(app, action: str) -> list[str]:
    with app.app_context():
        query = db.select(AuditEntry.detail).filter_by(action=action).order_by(AuditEntry.id)
        return list(db.session.scalars(query))


def _case_of(app, world, *scores):
    """A case for 莲都区's site opened by answers of ``scores``; (case id, answer ids)."""
    ids = [_answered(app, world["liandu"], score, comment=f"差评{score}") for score in scores]
    sweep_cases(app)
    (case,) = _cases(app)
    return case.id, ids


def test_an_appeal_upheld_by_the_city_leaves_the_answer_out_of_the_rate_and_says_so(app, world):
    case_id, (answer_id,) = _case_of(app, world, "1")
    site_id = world["liandu"].id
    assert counted(app, site_id) == 1
    liandu, city = staff_client(app, "liandu"), staff_client(app, "lishui")

    reply = _post(
        liandu,
        f"/cases/{case_id}/appeal",
        {"answers": str(answer_id), "reason": "该号码从未到过本中心，系恶意评价"},
        {"photos": (_jpeg(), "evidence.jpg")},
    )
    assert reply.status_code == 302, reply.get_data(as_text=True)[:500]
    (case,) = _cases(app)
    assert (case.state, case.appeal_from) == ("appealing", "verifying")
    assert case.due is None  # no deadline runs while the city decides
    page = liandu.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "申诉中" in page and "等待市级审核" in page and "恶意评价" in page
    assert "提交审核意见" not in page  # the county does not decide its own appeal
    assert counted(app, site_id) == 1  # counted until the city decides

    assert "提交审核意见" in city.get(f"/cases/{case_id}").get_data(as_text=True)
    reply = _post(city, f"/cases/{case_id}/decide", {"decision": "upheld", "note": "核查属实"})
    assert reply.status_code == 302
    (case,) = _cases(app)
    assert (case.state, case.outcome, case.appeal_from) == ("closed", "appeal_upheld", None)
    assert _flag_of(app, answer_id) == "appealed"  # kept, never deleted
    assert counted(app, site_id) == 0
    assert [kind for kind, _ in _steps(app, case_id)] == ["opened", "appealed", "appeal_upheld"]
    assert _audit(app, "case_appealed") == [f"整改单 {case_id}：申诉评价 {answer_id}"]
    assert _audit(app, "case_appeal_decided") == [f"整改单 {case_id}：申诉成立（评价 {answer_id}）"]

    # The rate's footnote counts it, apart from suspected stuffing; the review list of
    # suspected stuffing does not list it.
    project_id = world["liandu"].project_id
    dashboard = city.get(f"/dashboard/projects/{project_id}").get_data(as_text=True)
    assert "另有 1 份申诉成立未计入" in dashboard and "疑似刷评未计入" not in dashboard
    site_page = city.get(f"/dashboard/sites/{site_id}").get_data(as_text=True)
    assert "另有 1 份评价经申诉成立未计入" in site_page
    api = city.get(f"/api/v1/projects/{project_id}/stats?group=site").get_json()
    rows = {row["name"]: (row["left_out"], row["appealed"]) for row in api["rows"]}
    assert rows[world["liandu"].name] == (0, 1)
    flagged = city.get(f"/dashboard/projects/{project_id}/flagged").get_data(as_text=True)
    for state in ("待审核（0）", "已恢复计入（0）", "确认刷评（0）"):
        assert state in flagged
    detail = city.get(f"/api/v1/cases/{case_id}").get_json()
    assert (detail["state"], detail["outcome"], detail["excluded_answers"]) == (
        "closed",
        "appeal_upheld",
        1,
    )
    assert [step["kind"] for step in detail["steps"]][-2:] == ["appealed", "appeal_upheld"]
    summary = city.get(f"/dashboard/projects/{project_id}/summary.csv?group=county")
    lines = list(csv.reader(io.StringIO(summary.data.decode("utf-8-sig"))))
    liandu = dict(zip(lines[0], next(line for line in lines if line[0] == "莲都区"), strict=True))
    assert (liandu["申诉成立未计入"], liandu["申诉成立"], liandu["疑似刷评未计入"]) == (
        "1",
        "1",
        "0",
    )
    report = city.get(f"/dashboard/projects/{project_id}/report?month=2026-09")
    text = report.get_data(as_text=True)
    assert "另有 1 份申诉成立未计入" in text and "<th>申诉成立</th>" in text
    pdf = pypdfium2.PdfDocument(
        city.get(f"/dashboard/projects/{project_id}/report.pdf?month=2026-09").data
    )
    try:
        words = "".join(page.get_textpage().get_text_range() for page in pdf)
    finally:
        pdf.close()
    assert "另有 1 份申诉成立未计入" in words and "申诉成立" in words
    details = city.get(f"/dashboard/projects/{project_id}/responses.csv")
    assert "申诉成立，不计入" in details.data.decode("utf-8-sig")
    with app.app_context():
        found = left_out(db.session, EVERYTHING, [project_id], Filters())
        assert found.by("site") == {} and found.by("site", "appealed") == {site_id: 1}


def test_a_rejected_appeal_sends_the_case_back_with_its_deadlines_moved_on(app, world):
    case_id, (answer_id,) = _case_of(app, world, "2")
    (case,) = _cases(app)
    # Arrived Wednesday Sep 30: 核实 due Oct 8, 整改 Oct 13 (National Day, Oct 10 worked).
    assert (case.verify_due, case.rectify_due) == (date(2026, 10, 8), date(2026, 10, 13))
    liandu, city = staff_client(app, "liandu"), staff_client(app, "lishui")
    app.extensions["clock"].now = datetime(2026, 10, 8, 2, tzinfo=UTC)  # appealed Oct 8
    _post(liandu, f"/cases/{case_id}/appeal", {"answers": str(answer_id), "reason": "恶意"})
    app.extensions["clock"].now = datetime(2026, 10, 12, 2, tzinfo=UTC)  # decided Monday
    assert sweep_cases(app) == (0, 0, 0)  # not overdue while the city decides
    reply = _post(city, f"/cases/{case_id}/decide", {"decision": "rejected", "note": "证据不足"})
    assert reply.status_code == 302
    (case,) = _cases(app)
    assert (case.state, case.appeal_from, case.outcome) == ("verifying", None, None)
    # The appeal took Oct 9, Saturday Oct 10 (worked) and Oct 12: three working days on.
    assert (case.verify_due, case.rectify_due) == (date(2026, 10, 12), date(2026, 10, 16))
    assert not case.overdue
    assert _flag_of(app, answer_id) is None and counted(app, world["liandu"].id) == 1
    page = liandu.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "申诉驳回" in page and "证据不足" in page and "核实完毕" in page
    # An answer is appealed once: a rejected one is not offered again, nor taken.
    assert "提交申诉" not in page
    again = _post(liandu, f"/cases/{case_id}/appeal", {"answers": str(answer_id), "reason": "再诉"})
    assert again.status_code == 422 and "只能申诉一次" in again.get_data(as_text=True)


def test_an_appeal_of_some_answers_keeps_the_case_open_for_the_rest(app, world):
    case_id, (first, second) = _case_of(app, world, "1", "2")
    liandu, city = staff_client(app, "liandu"), staff_client(app, "lishui")
    _post(liandu, f"/cases/{case_id}/appeal", {"answers": str(first), "reason": "辱骂"})
    _post(city, f"/cases/{case_id}/decide", {"decision": "upheld", "note": "属实"})
    (case,) = _cases(app)
    assert case.state == "verifying"  # the second answer still wants 核实
    assert (_flag_of(app, first), _flag_of(app, second)) == ("appealed", None)
    page = liandu.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "申诉成立，不计入满意率" in page
    # The upheld answer is not offered again; naming it is refused.
    refused = _post(liandu, f"/cases/{case_id}/appeal", {"answers": str(first), "reason": "再诉"})
    assert refused.status_code == 422 and "尚未申诉过的评价" in refused.get_data(as_text=True)
    # 申诉成立 counts the answer left out; the case, still open, is in 整改率's denominator.
    with app.app_context():
        project = db.session.get(Project, world["liandu"].project_id)
        counts = case_counts(db.session, EVERYTHING, project, None, None)
    assert (counts.appeals_upheld, counts.closed_by_appeal, counts.cases) == (1, 0, 1)


def test_bad_appeals_and_decisions_are_refused_with_reasons_and_store_nothing(app, world):
    case_id, (answer_id,) = _case_of(app, world, "1")
    other = _answered(app, world["qingtian"], "1")
    liandu, city = staff_client(app, "liandu"), staff_client(app, "lishui")
    url = f"/cases/{case_id}/appeal"
    for data, message in (
        ({"reason": "恶意"}, "请选择要申诉的评价"),
        ({"answers": str(answer_id), "reason": ""}, "请填写申诉理由和证据"),
        ({"answers": "abc", "reason": "恶意"}, "请选择要申诉的评价"),
        ({"answers": str(other), "reason": "恶意"}, "尚未申诉过的评价"),
    ):
        refused = _post(liandu, url, data)
        assert refused.status_code == 422 and message in refused.get_data(as_text=True), data
    refused = _post(
        liandu, url, {"answers": str(answer_id), "reason": "恶意"}, {"photos": (b"no", "x.jpg")}
    )
    assert refused.status_code == 422
    assert _cases(app)[0].state == "verifying" and _steps(app, case_id) == [("opened", False)]

    # Roles: the city does not appeal, a county does not decide; another county's is 404.
    assert _post(city, url, {"answers": str(answer_id), "reason": "恶意"}).status_code == 403
    _post(liandu, url, {"answers": str(answer_id), "reason": "恶意"})
    decide = f"/cases/{case_id}/decide"
    assert _post(liandu, decide, {"decision": "upheld", "note": "x"}).status_code == 403
    qingtian = staff_client(app, "qingtian")
    assert _post(qingtian, url, {"answers": str(answer_id), "reason": "x"}).status_code == 404
    for data, message in (
        ({"note": "属实"}, "请选择申诉成立或驳回"),
        ({"decision": "maybe", "note": "属实"}, "请选择申诉成立或驳回"),
        ({"decision": "upheld", "note": ""}, "请填写审核意见"),
    ):
        refused = _post(city, decide, data)
        assert refused.status_code == 422 and message in refused.get_data(as_text=True), data
    assert _cases(app)[0].state == "appealing" and _flag_of(app, answer_id) is None

    # A second decision (a double click) finds it decided and changes nothing.
    _post(city, decide, {"decision": "rejected", "note": "证据不足"})
    again = _post(city, decide, {"decision": "upheld", "note": "属实"})
    assert again.status_code == 302 and _flag_of(app, answer_id) is None
    assert _audit(app, "case_appeal_decided") == [f"整改单 {case_id}：申诉驳回（评价 {answer_id}）"]


def _noise_jpeg() -> bytes:
    """A photo as a phone takes it: noise does not compress, so several hundred KB."""
    out = io.BytesIO()
    Image.frombytes("RGB", (800, 600), os.urandom(800 * 600 * 3)).save(out, "JPEG")
    return out.getvalue()


def test_real_photos_are_taken_and_too_many_megabytes_come_back_with_the_reason(app, world):
    case_id, (answer_id,) = _case_of(app, world, "1")
    liandu = staff_client(app, "liandu")
    photo = _noise_jpeg()
    assert len(photo) > 200_000  # far over the 64 KB a form without photos may send
    url, fields = f"/cases/{case_id}/appeal", {"answers": str(answer_id), "reason": "恶意"}
    app.config |= {"PHOTO_MAX_BYTES": len(photo) // 4, "VISIT_MAX_PHOTOS": 2}
    refused = _post(liandu, url, fields, {"photos": (photo, "evidence.jpg")})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 413 and "超过了上限" in page and "请重新填写" in page
    # Under the appeal's photos, its form open; not under 整改照片's.
    assert page.index("超过了上限") > page.index('id="appeal-photos"')
    assert "<details open>" in page
    assert _cases(app)[0].state == "verifying"
    app.config |= {"PHOTO_MAX_BYTES": 10 * 1024 * 1024, "VISIT_MAX_PHOTOS": 6}
    reply = _post(liandu, url, fields, {"photos": (photo, "evidence.jpg")})
    assert reply.status_code == 302 and _cases(app)[0].state == "appealing"
