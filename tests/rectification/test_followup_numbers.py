"""The number a resident may leave at the end of the QR form for 回访: optional, checked
like a roster's, encrypted at rest, shown only to the county calling back (audited), never
exported, purged with the roster and moved to a new field key with it."""

import io

import openpyxl
from cryptography.fernet import InvalidToken
from sqlalchemy import select, text

from survey.accounts.models import AuditEntry
from survey.checks.key_rotation import rotate_field_key
from survey.db import db, write_transaction
from survey.field_cipher import FieldCipher, new_key
from survey.rectification.sweep import sweep_cases
from survey.responses.models import Response, ResponseContact
from tests.helpers import FIELD_KEY, open_form, staff_client
from tests.rectification.test_cases import _cases, _post


def _send(client, token: str, overall="1", **fields):
    data = {"nonce": open_form(client, token), "q.overall": overall} | fields
    return client.post(f"/s/{token}", data=data)


def _as_text(data: bytes) -> str:
    """A CSV's text, or every cell of an XLSX's first sheet."""
    if data.startswith(b"PK"):
        sheet = openpyxl.load_workbook(io.BytesIO(data)).active
        return "\n".join(str(cell.value) for row in sheet.iter_rows() for cell in row)
    return data.decode("utf-8-sig")


def _contacts(app) -> dict[int, str]:
    with app.app_context():
        rows = db.session.execute(select(ResponseContact.response_id, ResponseContact.phone_token))
        return dict(rows.all())


def test_a_number_left_on_the_form_is_kept_encrypted_beside_the_answer(app, client, world):
    token = world["liandu"].token
    page = client.get(f"/s/{token}").get_data(as_text=True)
    assert 'type="tel"' in page and "只用于回访您反映的问题" in page and "（可不填）" in page

    assert _send(client, token, comment="饭菜凉", phone="138 1234-5678").status_code == 303
    assert _send(app.test_client(), token, overall="5").status_code == 303  # left none
    (stored,) = _contacts(app).items()
    response_id, phone_token = stored
    assert "13812345678" not in phone_token
    assert FieldCipher(FIELD_KEY).decrypt(phone_token) == "13812345678"
    with app.app_context():
        assert db.session.get(Response, response_id).comment == "饭菜凉"


def test_a_number_that_is_not_one_is_refused_with_its_reason_and_nothing_stored(
    app, client, world, count
):
    token = world["liandu"].token
    for wrong, reason in (
        ("1381234567", "手机号应为 1 开头的 11 位数字"),
        ("2123456", "固定电话请带区号"),
        ("电话13812345678", "电话里有数字以外的字符"),
    ):
        refused = _send(client, token, phone=wrong, comment="留言还在")
        page = refused.get_data(as_text=True)
        assert refused.status_code == 400 and reason in page and "或者不填" in page, wrong
        assert 'id="phone-err"' in page and f'value="{wrong}"' in page and "留言还在" in page
    assert count(Response) == 0 and count(ResponseContact) == 0


def test_the_api_takes_the_number_too(app, client, world):
    token = world["liandu"].token
    form = client.get(f"/api/v1/sites/{token}").get_json()
    body = {"answers": {"overall": 2}, "nonce": form["nonce"], "phone": "0578-2123456"}
    reply = client.post(f"/api/v1/sites/{token}/responses", json=body)
    assert reply.status_code == 201, reply.get_json()
    (phone_token,) = _contacts(app).values()
    assert FieldCipher(FIELD_KEY).decrypt(phone_token) == "0578-2123456"
    body = {"answers": {"overall": 2}, "nonce": form["nonce"], "phone": "12"}
    refused = client.post(f"/api/v1/sites/{token}/responses", json=body)
    assert refused.status_code == 422 and "phone" in refused.get_json()["errors"]["json"]


def test_the_county_calls_back_on_the_number_left_and_closes_the_case(app, client, world):
    _send(client, world["liandu"].token, comment="饭菜是凉的", phone="13812345678")
    (answer_id,) = _contacts(app)
    sweep_cases(app)
    (case,) = _cases(app)
    liandu = staff_client(app, "liandu")
    _post(liandu, f"/cases/{case.id}/verify", {"finding": "属实"})
    _post(liandu, f"/cases/{case.id}/rectify", {"done": "更换保温餐车"})
    page = liandu.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "显示回访电话" in page and "13812345678" not in page
    shown = _post(liandu, f"/cases/{case.id}/reveal", {}).get_data(as_text=True)
    assert "13812345678" in shown
    with app.app_context():
        audit = db.session.scalars(select(AuditEntry.detail).filter_by(action="phone_revealed"))
        assert list(audit) == [f"整改单 {case.id} 回访（评价 {answer_id} 留下的电话）"]
    # With a number, the case is not closed as having none.
    refused = _post(liandu, f"/cases/{case.id}/unreachable", {})
    assert refused.status_code == 422 and "有回访电话" in refused.get_data(as_text=True)
    reached = {"outcome": "reached", "score": "4", "solved": "1", "note": "已解决"}
    assert _post(liandu, f"/cases/{case.id}/followup", reached).status_code == 302
    (case,) = _cases(app)
    assert (case.state, case.outcome, case.followup_score) == ("closed", "done", 4)
    # Another county neither sees the case nor reveals its number.
    assert _post(staff_client(app, "qingtian"), f"/cases/{case.id}/reveal", {}).status_code == 404


def test_the_number_is_in_no_export(app, client, world):
    _send(client, world["liandu"].token, comment="饭菜凉", phone="13812345678")
    city = staff_client(app, "lishui")
    project = f"/dashboard/projects/{world['liandu'].project_id}"
    for url in (f"{project}/responses.csv", f"{project}/responses.xlsx"):
        reply = city.get(url)
        assert reply.status_code == 200, url
        body = _as_text(reply.data)
        assert "饭菜凉" in body and "13812345678" not in body and "1381234" not in body, url


def test_purge_and_key_rotation_take_the_numbers_with_the_roster(app, client, world, runner):
    _send(client, world["liandu"].token, phone="13812345678")
    _send(app.test_client(), world["liandu"].token, phone="13900001111")
    with app.app_context(), write_transaction(db.session):
        oldest = db.session.scalar(select(db.func.min(ResponseContact.response_id)))
        db.session.execute(
            text(
                "UPDATE response_contacts SET created_at = '2020-01-01 00:00:00'"
                " WHERE response_id = :id"
            ),
            {"id": oldest},
        )
    result = runner.invoke(args=["purge-roster", "--days", "730"])
    assert result.exit_code == 0 and "回访电话 1 个" in result.output
    (kept,) = _contacts(app)

    new = new_key()
    with app.app_context():
        done = rotate_field_key(db.session, FieldCipher(f"{new},{FIELD_KEY}"))
    assert done.alone["response_contacts"] == 1 and "回访电话重新加密 1 个" in done.summary
    (phone_token,) = _contacts(app).values()
    assert FieldCipher(new).decrypt(phone_token) == "13900001111"
    try:
        FieldCipher(FIELD_KEY).decrypt(phone_token)
    except InvalidToken:
        pass
    else:
        raise AssertionError("still readable under the old key alone")
    with app.app_context():
        again = rotate_field_key(db.session, FieldCipher(f"{new},{FIELD_KEY}"))
    assert again.alone["response_contacts"] == 0 and kept == next(iter(_contacts(app)))


def test_a_number_is_kept_only_where_there_may_be_a_call_back_and_can_be_taken_back(
    app, client, world
):
    token = world["liandu"].token
    _send(app.test_client(), token, overall="5", phone="13900000001")  # satisfied, no words
    _send(app.test_client(), token, overall="5", comment="希望多开几天", phone="13900000002")
    assert [FieldCipher(FIELD_KEY).decrypt(t) for t in _contacts(app).values()] == ["13900000002"]
    # The same phone answers again (it replaces its answer): a new number replaces the
    # old one; none takes it away.
    _send(client, token, comment="饭菜凉", phone="13900000003")
    (mine,) = set(_contacts(app)) - {next(iter(_contacts(app)))}
    _send(client, token, comment="饭菜凉", phone="13900000004")
    assert FieldCipher(FIELD_KEY).decrypt(_contacts(app)[mine]) == "13900000004"
    _send(client, token, comment="饭菜凉")
    assert mine not in _contacts(app) and len(_contacts(app)) == 1


def test_the_resident_whose_rating_an_appeal_left_out_is_not_called_back(app, world):
    token = world["liandu"].token
    _send(app.test_client(), token, comment="骂人的话", phone="13812345678")
    _send(app.test_client(), token, overall="2", comment="饭菜凉")
    sweep_cases(app)
    (case,) = _cases(app)
    (abusive,) = _contacts(app)
    liandu, city = staff_client(app, "liandu"), staff_client(app, "lishui")
    _post(liandu, f"/cases/{case.id}/appeal", {"answers": str(abusive), "reason": "辱骂"})
    _post(city, f"/cases/{case.id}/decide", {"decision": "upheld", "note": "属实"})
    _post(liandu, f"/cases/{case.id}/verify", {"finding": "属实"})
    _post(liandu, f"/cases/{case.id}/rectify", {"done": "已整改"})
    page = liandu.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "待回访" in page and "没有留下联系电话" in page and "显示回访电话" not in page
