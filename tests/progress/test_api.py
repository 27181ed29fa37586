"""``GET /api/v1/projects/<id>/progress``: per county its sites, average and time progress
and warnings, per site its milestone and dates; scoped like the pages (an API token of a
county reads its county only; another city's project is 404); in the OpenAPI."""

from tests.helpers import make_token, post, staff_client
from tests.progress.conftest import record


def test_the_progress_api_gives_counties_sites_and_warnings_in_the_callers_scope(app, world):
    liandu, lishui = staff_client(app, "liandu"), staff_client(app, "lishui")
    site = world["liandu"]
    assert record(liandu, site.id, 60).status_code == 302
    assert post(lishui, "/progress/records/1/confirm").status_code == 302
    url = f"/api/v1/projects/{site.project_id}/progress"

    body = lishui.get(url).get_json()
    assert body["time_progress"] == 10 / 12 * 100 and body["day"] == "2026-10-26"
    assert body["average_progress"] == 15.0  # 60 over the 4 sites the counties must build
    assert [m["percent"] for m in body["milestones"]] == [20, 40, 60, 80, 100]
    counties = {c["name"]: c for c in body["counties"]}
    assert set(counties) == {"莲都区", "青田县"}
    liandu_county = counties["莲都区"]
    assert liandu_county["average_progress"] == 30.0 and liandu_county["counted_sites"] == 2
    assert liandu_county["warnings"][0] == "平均进度 30.0% 低于时间进度 83.3%"
    first = liandu_county["sites"][0]
    assert first["name"] == "紫金街道康养联合体" and first["progress"] == 60
    assert first["confirmed_on"] == "2026-10-26" and first["next_milestone"] == 80
    assert first["next_planned_on"] == "2026-09-30" and first["behind"] is True
    assert first["missed_planned_on"] == "2026-09-30"
    waiting = liandu_county["sites"][1]  # nothing confirmed: 0 %, past 20 % 40 % 60 % 80 %
    assert waiting["progress"] == 0 and waiting["confirmed_on"] is None
    assert waiting["missed_planned_on"] == "2026-04-30"

    secret = make_token(app, "青田县")
    bearer = {"Authorization": f"Bearer {secret}"}
    client = app.test_client()
    mine = client.get(url, headers=bearer).get_json()
    assert [c["name"] for c in mine["counties"]] == ["青田县"]
    assert client.get(url).status_code == 401
    assert client.get("/api/v1/projects/999999/progress", headers=bearer).status_code == 404
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/projects/{project_id}/progress" in spec["paths"]
