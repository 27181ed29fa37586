"""One JSON log line per request, without personal data or codes, and Prometheus metrics at
/metrics for the staff network only."""

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from survey import create_app
from survey.db import db
from survey.observability import request_log
from tests.helpers import answer, app_settings, open_form


def _lines(captured: str) -> list[dict]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


def _samples(reply) -> dict:
    """``{(metric name, frozenset of labels): value}`` of a /metrics reply."""
    found = {}
    for family in text_string_to_metric_families(reply.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def _value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def logged(app):
    """The app with its request log on (the tests' settings turn it off)."""
    logging_app = create_app(app_settings(app.config["DATABASE_URL"]) | {"REQUEST_LOG": True})
    yield logging_app
    with logging_app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_every_request_is_one_json_line_naming_its_route_not_its_path(logged, make_site, capfd):
    client = logged.test_client()
    site = make_site()
    request_log().flush()
    capfd.readouterr()
    nonce = open_form(client, site.token)
    assert answer(client, site.token, nonce, overall="5", comment="很好").status_code == 303
    assert client.get("/no-such-page?phone=13900000000").status_code == 404
    request_log().flush()
    captured = capfd.readouterr().err
    lines = _lines(captured)
    assert [(line["method"], line["route"], line["status"]) for line in lines] == [
        ("GET", "/s/<token>", 200),
        ("POST", "/s/<token>", 303),
        ("GET", "<unmatched>", 404),
    ]
    assert all(line["ms"] >= 0 and line["time"].endswith("Z") for line in lines)
    # Neither the site's code, nor the query, nor the answer, nor the client is in the log.
    for secret in (site.token, "13900000000", "很好", "127.0.0.1", nonce):
        assert secret not in captured


def test_the_request_log_can_be_turned_off(client, capfd):
    request_log().flush()
    capfd.readouterr()
    client.get("/healthz")  # the tests' settings turn it off
    request_log().flush()
    assert _lines(capfd.readouterr().err) == []


def test_metrics_count_requests_by_route_and_answers_by_outcome(client, make_site):
    site = make_site()
    before = _samples(client.get("/metrics"))
    nonce = open_form(client, site.token)
    answer(client, site.token, nonce, overall="4")
    answer(client, site.token, nonce, overall="4")  # the same nonce again: a duplicate
    reply = client.get("/metrics")
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("text/plain")
    after = _samples(reply)

    def grew(name, **labels):
        return _value(after, name, **labels) - _value(before, name, **labels)

    client.open("/healthz", method="BREW")  # a made-up method is counted as OTHER
    after_brew = _samples(client.get("/metrics"))
    assert (
        _value(
            after_brew,
            "survey_request_seconds_count",
            method="OTHER",
            route="<unmatched>",
            status="405",
        )
        >= 1
    )
    route = {"method": "POST", "route": "/s/<token>", "status": "303"}
    assert grew("survey_request_seconds_count", **route) == 2
    assert grew("survey_answers_total", outcome="created") == 1
    assert grew("survey_answers_total", outcome="duplicate") == 1
    assert site.token not in reply.get_data(as_text=True)


def test_metrics_answer_only_the_allowed_networks(app, client):
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", environ_base=outside).status_code == 404
    allowed = create_app(
        app_settings(app.config["DATABASE_URL"]) | {"METRICS_ALLOW": " 203.0.113.0/24, "}
    )
    try:
        assert allowed.test_client().get("/metrics", environ_base=outside).status_code == 200
        assert allowed.test_client().get("/metrics").status_code == 404  # loopback not listed
    finally:
        with allowed.app_context():
            db.engine.dispose()


@pytest.mark.parametrize("setting", ["10.0.0.0/8,intranet", "10.0.0.0/33", "300.1.1.1"])
def test_a_malformed_metrics_network_stops_the_app_from_starting(app, setting):
    with pytest.raises(ValueError, match="METRICS_ALLOW"):
        create_app(app_settings(app.config["DATABASE_URL"]) | {"METRICS_ALLOW": setting})
