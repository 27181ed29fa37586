"""The field key: required with a database server, rotated without downtime, and a key that
does not match the stored data answered with a page that says so."""

import logging

import pytest
from cryptography.fernet import InvalidToken
from sqlalchemy import select

import survey
from survey import MissingKeys, create_app
from survey.accounts.models import AuditEntry
from survey.checks import roster
from survey.checks.models import Resident, RosterImport
from survey.db import db
from survey.field_cipher import FieldCipher, new_key
from tests.checks.conftest import import_roster, phone, roster_csv, upload
from tests.helpers import FIELD_KEY, BufferedClient, app_settings, post, staff_client

OLD, NEW = FIELD_KEY, new_key()
SERVER = "postgresql+psycopg://nobody@127.0.0.1:9/none"


@pytest.mark.parametrize(
    ("keys", "named", "not_named"),
    [
        (
            {"SECRET_KEY": "", "FIELD_ENCRYPTION_KEY": ""},
            ["SECRET_KEY", "FIELD_ENCRYPTION_KEY"],
            [],
        ),
        ({"SECRET_KEY": ""}, ["SECRET_KEY", "secrets.token_hex"], ["FIELD_ENCRYPTION_KEY"]),
        ({"FIELD_ENCRYPTION_KEY": ""}, ["FIELD_ENCRYPTION_KEY", "generate_key"], ["SECRET_KEY"]),
    ],
)
def test_a_database_server_refuses_to_start_without_its_keys(keys, named, not_named, tmp_path):
    for url in (SERVER, "postgres://nobody@127.0.0.1:9/none"):
        with pytest.raises(MissingKeys) as refused:
            create_app(app_settings(url) | keys)
        message = str(refused.value)
        assert all(name in message for name in named)
        assert not any(name in message for name in not_named)
    assert not list(tmp_path.iterdir())


def test_a_database_server_without_redis_warns_that_logins_are_counted_per_process(caplog):
    create_app(app_settings(SERVER) | {"REDIS_URL": ""})
    assert "REDIS_URL is not set" in caplog.text
    caplog.clear()
    create_app(app_settings(SERVER) | {"REDIS_URL": "redis://127.0.0.1:6379/7"})
    assert "REDIS_URL" not in caplog.text


def test_the_embedded_database_generates_its_keys_into_instance(tmp_path, monkeypatch):
    for shared in ("templates", "static"):
        (tmp_path / shared).symlink_to(survey.ROOT / shared)
    monkeypatch.setattr(survey, "ROOT", tmp_path)
    app = create_app(app_settings("") | {"SECRET_KEY": "", "FIELD_ENCRYPTION_KEY": ""})
    field_key = (tmp_path / "instance" / "field_key").read_text()
    assert app.config["SECRET_KEY"] == (tmp_path / "instance" / "secret_key").read_text()
    cipher = app.extensions["field_cipher"]
    assert FieldCipher(field_key).decrypt(cipher.encrypt("13812345678")) == "13812345678"


def test_several_keys_write_with_the_first_and_read_with_any():
    old = FieldCipher(OLD)
    both = FieldCipher(f"{NEW}, {OLD}")
    token = old.encrypt("13812345678")
    assert both.decrypt(token) == "13812345678" and not both.is_current(token)
    rotated = both.rotate(token)
    assert both.is_current(rotated) and FieldCipher(NEW).decrypt(rotated) == "13812345678"
    assert both.digest("13812345678") == FieldCipher(NEW).digest("13812345678")
    assert both.digests("13812345678") == [both.digest("13812345678"), old.digest("13812345678")]
    with pytest.raises(InvalidToken):
        FieldCipher(OLD).decrypt(both.encrypt("x"))
    with pytest.raises(ValueError, match="FIELD_ENCRYPTION_KEY"):
        FieldCipher(f"{NEW},not a key")


@pytest.fixture
def keyed(app, database_url):
    """keyed(FIELD_ENCRYPTION_KEY) → another app on the test database with that key, as a
    second machine would run it."""
    made = []

    def make(keys):
        other = create_app(app_settings(database_url) | {"FIELD_ENCRYPTION_KEY": keys})
        other.test_client_class = BufferedClient
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


def _roster_url(world):
    return f"/checks/projects/{world.project_id}/roster"


def _rows(world, numbers):
    return roster_csv([(f"张{i}", phone(i), world.liandu.token, f"备注{i}") for i in numbers])


def _report(client, world, numbers):
    """The check of an upload of these numbers (left staged)."""
    reply = upload(client, world.project_id, _rows(world, numbers))
    return client.get(reply.headers["Location"]).get_data(as_text=True)


def _stored(app):
    with app.app_context():
        return db.session.execute(
            select(Resident.name_token, Resident.phone_token, Resident.note_token)
        ).all()


def test_rotation_moves_every_row_to_the_new_key_and_duplicates_are_found_throughout(
    app, staff, world, keyed, count, monkeypatch
):
    old_client = staff("liandu")
    import_roster(old_client, world.project_id, _rows(world, range(3)))
    # The staged file is sealed in several parts, one token each, as a big file is.
    monkeypatch.setattr(roster, "SEALED_PART", 16)
    staged = upload(old_client, world.project_id, _rows(world, [7])).headers["Location"]

    # Every machine now has NEW first: old rows read, a new row is written under NEW.
    rolling = keyed(f"{NEW},{OLD}")
    client = staff_client(rolling, "liandu")
    page = client.get(_roster_url(world)).get_data(as_text=True)
    assert "138****0001" in page and "张*" in page
    assert "名单中已有这个电话号码" in _report(client, world, [1])  # stored under OLD
    found = post(client, _roster_url(world) + "/search", {"phone": phone(2)})
    assert "共 1 人" in found.get_data(as_text=True)
    import_roster(client, world.project_id, _rows(world, [3]))
    assert count(Resident) == 4
    # Confirming an upload that repeats a number stored under OLD adds only the new number.
    mixed = upload(client, world.project_id, _rows(world, [1, 4])).headers["Location"]
    assert post(client, mixed + "/confirm").status_code == 302
    assert count(Resident) == 5

    result = rolling.test_cli_runner().invoke(args=["rotate-field-key"])
    assert result.exit_code == 0, result.output
    assert "重新加密 3 人（已是新密钥 2 人）" in result.output
    assert "待确认的名单文件重新加密" in result.output
    new = FieldCipher(NEW)
    with rolling.app_context():
        residents = db.session.scalars(select(Resident).order_by(Resident.id)).all()
        for resident in residents:
            number = new.decrypt(resident.phone_token)
            assert resident.phone_digest == new.digest(number)
            assert new.decrypt(resident.name_token).startswith("张")
            assert new.decrypt(resident.note_token).startswith("备注")
        payloads = db.session.scalars(
            select(RosterImport.payload).where(RosterImport.payload.is_not(None))
        )
        tokens = [token for payload in payloads for token in payload.split(b"\n")]
        assert len(tokens) > 1 and all(new.is_current(token) for token in tokens)
    assert count(AuditEntry, action="field_key_rotated") == 1

    # A second run changes nothing.
    before = _stored(app)
    again = rolling.test_cli_runner().invoke(args=["rotate-field-key"])
    assert again.exit_code == 0 and "重新加密 0 人（已是新密钥 5 人）" in again.output
    assert _stored(app) == before

    # The old key removed: everything reads, a duplicate is still found, the staged file
    # (encrypted under OLD when uploaded) still imports.
    done = keyed(NEW)
    client = staff_client(done, "liandu")
    page = client.get(_roster_url(world)).get_data(as_text=True)
    assert "138****0000" in page and "138****0003" in page
    assert "名单中已有这个电话号码" in _report(client, world, [0])
    assert post(client, staged + "/confirm").status_code == 302
    assert count(Resident) == 6


def test_rotation_names_rows_it_cannot_read_or_would_double(app, staff, world, keyed, count):
    import_roster(staff("liandu"), world.project_id, _rows(world, [1, 2]))
    # A machine that had only NEW saw no duplicate of number 1 and added it again.
    import_roster(staff_client(keyed(NEW), "liandu"), world.project_id, _rows(world, [1]))
    # And rows under a key nobody configures any more.
    import_roster(staff_client(keyed(new_key()), "liandu"), world.project_id, _rows(world, [5]))
    with app.app_context():
        ids = dict(db.session.execute(select(Resident.phone_token, Resident.id)).all())
    old_one = next(i for t, i in ids.items() if _reads(OLD, t) == phone(1))
    lost = next(i for t, i in ids.items() if _reads(OLD, t) is None and _reads(NEW, t) is None)

    result = keyed(f"{NEW},{OLD}").test_cli_runner().invoke(args=["rotate-field-key"])
    assert result.exit_code == 1
    assert f"residents.id={lost}" in result.output and f"residents.id {old_one}" in result.output
    assert "重新加密 1 人" in result.output  # number 2 moved; the others wait
    assert count(Resident) == 4


def _reads(key, token):
    try:
        return FieldCipher(key).decrypt(token)
    except InvalidToken:
        return None


def test_a_key_that_does_not_match_the_stored_data_gets_a_page_and_one_log_line(
    staff, world, keyed, caplog
):
    import_roster(staff("liandu"), world.project_id, _rows(world, [4]))
    stranger = keyed(new_key())
    client = staff_client(stranger, "liandu")
    with caplog.at_level(logging.ERROR):
        reply = client.get(_roster_url(world))
    page = reply.get_data(as_text=True)
    assert reply.status_code == 503
    assert "名单数据暂时无法读取" in page and "FIELD_ENCRYPTION_KEY" in page
    assert "Traceback" not in page and "InvalidToken" not in page
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(lines) == 1 and "field key does not match the stored data" in lines[0]
    assert phone(4) not in lines[0] and not caplog.records[-1].exc_info

    api = keyed(new_key())

    @api.get("/api/v1/decrypting")
    def decrypting():
        raise InvalidToken

    reply = api.test_client().get("/api/v1/decrypting")
    assert reply.status_code == 503 and reply.get_json()["code"] == 503
    assert "FIELD_ENCRYPTION_KEY" in reply.get_json()["message"]
