"""Questions read aloud (issue 14, part 4): staff upload or record a question per region,
the server re-encodes it small (AAC, mono, at most 64 kbit/s) or refuses it in Chinese with
nothing stored; a site plays its county's recording, else its city's; recordings are served
cached for good and in ranges."""

import io
import re

import pytest
from sqlalchemy import func

from survey.accounts.models import AuditEntry
from survey.db import db, write_transaction
from survey.questionnaires.defaults import DEFAULT_QUESTIONS
from survey.regions.models import Region
from survey.responses.models import Recording
from tests.audio import describe, tone
from tests.helpers import PASSWORD, csrf_of, log_in
from tests.responses.test_editor import press


def url(project_id: int) -> str:
    return f"/admin/projects/{project_id}/questionnaire/recordings"


def region_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalars(db.select(Region.id).filter_by(name=name)).one()


def upload(client, project_id, region, key="overall", data=None, name="读题.wav"):
    """Post a recording as the page's file input does; returns the reply."""
    token = csrf_of(client.get(url(project_id), query_string={"region": region}).data)
    body = {"csrf_token": token, "region": str(region), "key": key}
    if data is not None:
        body["audio"] = (io.BytesIO(data), name)
    return client.post(
        url(project_id),
        query_string={"region": region},
        data=body,
        content_type="multipart/form-data",
    )


def stored(app) -> list[Recording]:
    with app.app_context():
        return list(db.session.scalars(db.select(Recording).order_by(Recording.id)))


@pytest.fixture
def setting(app, make_site, make_user):
    """Two counties' sites of one project, and a client per staff member (by name)."""
    sites = {
        "莲都区": make_site(name="紫金街道康养联合体", county="莲都区"),
        "青田县": make_site(name="鹤城镇康养联合体", county="青田县"),
    }
    make_user("admin")
    make_user("lishui", role="city", region="丽水市")
    make_user("liandu", role="county", region="莲都区")
    make_user("qingtian", role="county", region="青田县")

    def as_user(name):
        return log_in(app.test_client(), name, PASSWORD)

    return sites, as_user


def test_an_uploaded_file_is_stored_as_small_mono_aac_and_logged(app, setting):
    sites, as_user = setting
    city = region_id(app, "丽水市")
    reply = upload(as_user("lishui"), sites["莲都区"].project_id, city, data=tone("wav", 3))
    assert reply.status_code == 303
    [found] = stored(app)
    assert (found.region_id, found.key) == (city, "overall")
    heard = describe(found.data)
    assert heard["container"].startswith("mov,mp4")
    assert heard["codec"] == "aac"
    assert heard["channels"] == 1
    assert heard["bit_rate"] <= 64_000
    assert 2.9 <= heard["seconds"] <= 3.1
    assert len(found.data) < 30_000  # the 3 s stereo WAV was 265 KB
    with app.app_context():
        [line] = db.session.scalars(db.select(AuditEntry).filter_by(action="recording_saved"))
        assert line.username == "lishui"
        assert "丽水市" in line.detail and "第1题" in line.detail


@pytest.mark.parametrize("fmt", ["webm", "ogg", "mp3"])
def test_browser_recordings_and_phone_files_are_accepted(app, setting, fmt):
    sites, as_user = setting
    client = as_user("admin")
    reply = upload(client, sites["莲都区"].project_id, region_id(app, "丽水市"), data=tone(fmt, 2))
    assert reply.status_code == 303
    [found] = stored(app)
    assert describe(found.data)["codec"] == "aac"


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, "没有收到录音文件"),
        (b"", "没有收到录音文件"),
        ("text", "无法识别这个文件"),
        ("png", "无法识别这个文件"),
        ("short", "录音太短或是空的"),
        ("long", "录音太长了，请控制在 5 秒以内"),
    ],
)
def test_a_bad_file_is_refused_in_chinese_and_nothing_is_stored(app, setting, data, message):
    sites, as_user = setting
    app.config["RECORDING_MAX_SECONDS"] = 5
    data = {
        "text": "这不是录音".encode() * 200,
        "png": _png(),
        "short": tone("wav", 0.2),
        "long": tone("wav", 5.5, rate=8000, layout="mono"),
    }.get(data, data)
    reply = upload(
        as_user("admin"), sites["莲都区"].project_id, region_id(app, "丽水市"), data=data
    )
    assert reply.status_code == 422
    assert message in reply.get_data(as_text=True)
    assert stored(app) == []
    with app.app_context():
        assert (
            db.session.scalars(db.select(AuditEntry).filter_by(action="recording_saved")).all()
            == []
        )


def test_a_file_over_the_size_limit_answers_413_with_the_reason(app, setting):
    sites, as_user = setting
    client = as_user("admin")
    app.config["RECORDING_MAX_BYTES"] = 100_000
    reply = upload(
        client, sites["莲都区"].project_id, region_id(app, "丽水市"), data=tone("wav", 3)
    )
    assert reply.status_code == 413
    assert "录音文件不能超过" in reply.get_data(as_text=True)
    assert stored(app) == []


def test_a_key_not_in_the_current_version_is_refused(app, setting):
    sites, as_user = setting
    reply = upload(
        as_user("admin"), sites["莲都区"].project_id, region_id(app, "丽水市"), "gone", tone()
    )
    assert reply.status_code == 422
    assert "这一题已经不在里面" in reply.get_data(as_text=True)
    assert stored(app) == []


def test_county_staff_record_for_their_county_only(app, setting):
    sites, as_user = setting
    project = sites["莲都区"].project_id
    liandu = as_user("liandu")
    page = liandu.get(url(project)).get_data(as_text=True)
    assert "莲都区的录音" in page and "全市通用" not in page
    assert upload(liandu, project, region_id(app, "莲都区"), data=tone()).status_code == 303
    # Not the city's, nor another county's.
    for other in ("丽水市", "青田县"):
        reply = liandu.post(
            url(project),
            data={
                "csrf_token": csrf_of(page.encode()),
                "region": region_id(app, other),
                "key": "overall",
            },
        )
        assert reply.status_code == 404
    assert [r.region_id for r in stored(app)] == [region_id(app, "莲都区")]
    # Nor delete another region's recording.
    upload(as_user("lishui"), project, region_id(app, "丽水市"), data=tone())
    city_recording = stored(app)[-1].id
    reply = liandu.post(
        f"{url(project)}/{city_recording}/delete", data={"csrf_token": csrf_of(page.encode())}
    )
    assert reply.status_code == 404
    assert len(stored(app)) == 2


def test_a_project_that_does_not_reach_the_user_is_a_404(app, setting, make_site, make_user):
    sites, as_user = setting
    other = make_site(name="某点位", project="温州项目", county="鹿城区")
    assert as_user("liandu").get(url(other.project_id)).status_code == 404
    # A city user of another city.
    with app.app_context(), write_transaction(db.session):
        db.session.add(Region(name="温州市", level="city"))
    make_user("wenzhou", role="city", region="温州市")
    assert as_user("wenzhou").get(url(sites["莲都区"].project_id)).status_code == 404
    # Not logged in: the login page.
    assert app.test_client().get(url(sites["莲都区"].project_id)).status_code == 302


def _audio_of(page: str) -> list[str]:
    return re.findall(r'data-audio="([^"]+)"', page)


def test_a_site_plays_its_countys_recording_else_the_citys(app, setting, client):
    sites, as_user = setting
    project = sites["莲都区"].project_id
    city, county = region_id(app, "丽水市"), region_id(app, "莲都区")
    # No recording: every button is there, hidden, with nothing to play (JavaScript off
    # shows none; the script shows them if the phone has a Chinese voice).
    page = client.get(f"/s/{sites['莲都区'].token}").get_data(as_text=True)
    assert page.count('class="aloud" type="button" hidden') == len(DEFAULT_QUESTIONS)
    assert _audio_of(page) == []
    upload(as_user("lishui"), project, city, data=tone())
    upload(as_user("lishui"), project, city, key="thanks", data=tone())
    upload(as_user("liandu"), project, county, data=tone())
    by_key = {(r.region_id, r.key): r.id for r in stored(app)}
    liandu = client.get(f"/s/{sites['莲都区'].token}").get_data(as_text=True)
    qingtian = client.get(f"/s/{sites['青田县'].token}").get_data(as_text=True)
    assert _audio_of(liandu) == [f"/audio/{by_key[county, 'overall']}.m4a"]
    assert _audio_of(qingtian) == [f"/audio/{by_key[city, 'overall']}.m4a"]
    thanks = client.get(f"/s/{sites['青田县'].token}/thanks").get_data(as_text=True)
    assert _audio_of(thanks) == [f"/audio/{by_key[city, 'thanks']}.m4a"]
    assert "<audio" not in liandu  # nothing loads before a tap


def test_a_recording_is_served_cached_for_good_and_in_ranges(app, setting, client):
    sites, as_user = setting
    upload(as_user("admin"), sites["莲都区"].project_id, region_id(app, "丽水市"), data=tone())
    [found] = stored(app)
    reply = client.get(f"/audio/{found.id}.m4a")
    assert reply.status_code == 200
    assert reply.mimetype == "audio/mp4"
    assert reply.data == found.data
    assert reply.headers["Accept-Ranges"] == "bytes"
    cache = reply.headers["Cache-Control"]
    assert "public" in cache and "immutable" in cache and "max-age=31536000" in cache
    part = client.get(f"/audio/{found.id}.m4a", headers={"Range": "bytes=0-1"})
    assert part.status_code == 206
    assert part.data == found.data[:2]
    assert part.headers["Content-Range"] == f"bytes 0-1/{len(found.data)}"
    assert client.get(f"/audio/{found.id + 1}.m4a").status_code == 404
    assert client.get("/audio/99999999999.m4a").status_code == 404


def test_a_new_recording_replaces_the_old_under_a_new_url_and_delete_removes_it(
    app, setting, client
):
    sites, as_user = setting
    lishui = as_user("lishui")
    project, city = sites["莲都区"].project_id, region_id(app, "丽水市")
    upload(lishui, project, city, data=tone())
    [first] = stored(app)
    site_page = f"/s/{sites['莲都区'].token}"
    assert _audio_of(client.get(site_page).get_data(as_text=True)) == [f"/audio/{first.id}.m4a"]
    upload(lishui, project, city, data=tone("wav", 2))
    [second] = stored(app)
    assert second.id != first.id
    assert client.get(f"/audio/{first.id}.m4a").status_code == 404
    # The cached form page went with the change.
    assert _audio_of(client.get(site_page).get_data(as_text=True)) == [f"/audio/{second.id}.m4a"]
    page = lishui.get(url(project)).get_data(as_text=True)
    assert f"/audio/{second.id}.m4a" in page
    reply = lishui.post(
        f"{url(project)}/{second.id}/delete", data={"csrf_token": csrf_of(page.encode())}
    )
    assert reply.status_code == 303
    assert stored(app) == []
    assert _audio_of(client.get(site_page).get_data(as_text=True)) == []
    with app.app_context():
        actions = db.session.scalars(db.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions.count("recording_saved") == 2 and actions[-1] == "recording_deleted"


def test_a_new_version_keeps_the_recordings_of_what_still_reads_the_same(app, setting, client):
    sites, as_user = setting
    lishui = as_user("lishui")
    project, city, county = (
        sites["莲都区"].project_id,
        region_id(app, "丽水市"),
        region_id(app, "莲都区"),
    )
    for key in ("overall", "attitude", "thanks"):
        upload(lishui, project, city, key, tone())
    upload(as_user("liandu"), project, county, "overall", tone())
    # The second question (attitude) is reworded; the others stay as they were.
    assert press(lishui, project, "save", questions_1_prompt="工作人员热情吗？").status_code == 303
    with app.app_context():
        newest = db.session.scalar(db.select(func.max(Recording.version_id)))
        carried = db.session.execute(
            db.select(Recording.region_id, Recording.key).filter_by(version_id=newest)
        ).all()
        [line] = db.session.scalars(
            db.select(AuditEntry.detail).filter_by(action="questionnaire_published")
        )
    assert sorted(carried) == sorted([(city, "overall"), (city, "thanks"), (county, "overall")])
    assert "沿用朗读录音3段" in line
    page = client.get(f"/s/{sites['莲都区'].token}").get_data(as_text=True)
    assert len(_audio_of(page)) == 1  # the reworded question has none: the voice reads it
