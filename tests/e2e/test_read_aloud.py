"""Read aloud end to end (issue 14, part 4), against gunicorn: the city uploads a file for
the first question (without JavaScript's help: the plain file input), the county records
its own with the 录音 button (MediaRecorder, Chromium's fake microphone), stopped by hand or
at the length limit; a resident of that county hears the county's recording on 朗读, one of
another county the city's."""

from playwright.sync_api import expect

from tests.audio import describe, tone
from tests.browser import WECHAT_UA

#: Forms are not cached: the other worker's cached page would not have the new recording
#: for up to FORM_CACHE_SECONDS (as documented).
#: A short limit, so the 录音 button's stop at the limit is seen in seconds.
SERVER_ENVIRONMENT = {"FORM_CACHE_SECONDS": "0", "RECORDING_MAX_SECONDS": "3"}
PROJECT = "2022年建成康养联合体20家"
#: Keeps every media element the page plays, to read its state afterwards.
WATCH_PLAY = """
window.played = [];
const play = HTMLMediaElement.prototype.play;
HTMLMediaElement.prototype.play = function () { window.played.push(this); return play.call(this); };
"""


def _token(server, county: str) -> str:
    [(token,)] = server.sql(
        "SELECT t.token FROM site_tokens t JOIN sites s ON s.id = t.site_id"
        " JOIN regions r ON r.id = s.region_id JOIN projects p ON p.id = s.project_id"
        " WHERE r.name = :county AND p.name = :project AND t.retired_at IS NULL"
        " ORDER BY s.id LIMIT 1",
        county=county,
        project=PROJECT,
    )
    return token


def _recordings(server) -> dict:
    rows = server.sql(
        "SELECT r.name, c.key, c.id, c.data FROM recordings c JOIN regions r ON r.id = c.region_id"
    )
    return {(region, key): (rid, bytes(data)) for region, key, rid, data in rows}


def _resident_hears(browse, server, county: str) -> str:
    """Open a site of ``county`` on a phone, tap the first question's 朗读; the URL played."""
    page = browse(
        viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True, user_agent=WECHAT_UA
    )
    page.context.add_init_script(WATCH_PLAY)
    page.goto(f"{server.url}/s/{_token(server, county)}")
    button = page.locator("fieldset").first.locator(".aloud")
    expect(button).to_be_visible()
    button.tap()
    page.wait_for_function("() => window.played.length === 1 && window.played[0].currentTime > 0.2")
    return page.evaluate("() => new URL(window.played[0].src).pathname")


def test_the_city_uploads_the_county_records_and_residents_hear_their_countys(
    staff, browse, server, tmp_path
):
    city = staff("lishui")
    city.goto(f"{server.url}/admin/")
    city.get_by_role("link", name=PROJECT).first.click()
    city.get_by_role("link", name="编辑问卷").click()
    city.get_by_role("link", name="朗读录音").click()
    expect(city.locator("h2")).to_have_text("丽水市的录音")
    wav = tmp_path / "第一题.wav"
    wav.write_bytes(tone("wav", 2))
    first = city.locator("#rec-overall")
    first.locator("input[type=file]").set_input_files(wav)
    first.get_by_role("button", name="上传", exact=True).click()
    expect(city.locator(".flash.info")).to_have_text("第1题的录音已保存。")
    expect(city.locator("#rec-overall audio")).to_have_count(1)
    # A file that is not audio is refused with the reason, and nothing more is stored.
    bad = tmp_path / "照片.wav"
    bad.write_bytes(b"not a recording" * 100)
    thanks = city.locator("#rec-thanks")
    thanks.locator("input[type=file]").set_input_files(bad)
    thanks.get_by_role("button", name="上传", exact=True).click()
    expect(city.locator(".flash.error")).to_contain_text("无法识别这个文件")

    county = staff("liandu")
    county.context.grant_permissions(["microphone"])
    county.goto(f"{server.url}/checks/")
    county.get_by_role("link", name="朗读录音").first.click()
    expect(county.locator("h2")).to_have_text("莲都区的录音")
    overall = county.locator("#rec-overall")
    overall.get_by_role("button", name="● 录音").click()
    expect(overall.locator(".rec-status")).to_contain_text("正在录音")
    county.wait_for_timeout(1500)  # say the question (the fake microphone beeps)
    overall.get_by_role("button", name="■ 停止录音").click()
    expect(county.locator(".flash.info")).to_have_text("第1题的录音已保存。")
    expect(county.locator("#rec-overall audio")).to_have_count(1)
    # Left running, the recording stops itself before the 3 s limit and is kept.
    county.locator("#rec-thanks").get_by_role("button", name="● 录音").click()
    expect(county.locator(".flash.info")).to_have_text("感谢语的录音已保存。", timeout=10_000)

    stored = _recordings(server)
    assert set(stored) == {("丽水市", "overall"), ("莲都区", "overall"), ("莲都区", "thanks")}
    for _rid, data in stored.values():
        heard = describe(data)
        assert (heard["codec"], heard["channels"]) == ("aac", 1)
        assert heard["bit_rate"] <= 64_000
    assert 1.0 <= describe(stored["莲都区", "overall"][1])["seconds"] <= 3
    assert 2.0 <= describe(stored["莲都区", "thanks"][1])["seconds"] <= 3

    assert (
        _resident_hears(browse, server, "莲都区") == f"/audio/{stored['莲都区', 'overall'][0]}.m4a"
    )
    assert (
        _resident_hears(browse, server, "青田县") == f"/audio/{stored['丽水市', 'overall'][0]}.m4a"
    )
