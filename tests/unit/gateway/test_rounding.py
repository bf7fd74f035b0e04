"""Rounding and exact-decimal JSON of the gateway (CONTRACT §4): half-up, 2/4/2 places, numbers not floats."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from services.gateway.presenters.loans import (
    ROUNDING,
    SUMMARY_FIELDS,
    LoanSummary,
    officer_payload,
    summaries_csv,
    summary_payload,
)
from services.gateway.rounding import (
    DecimalJSONResponse,
    decimal_text,
    render_json,
    round_half_up,
    round_money,
    round_percent,
    round_score,
)
from shared.settings import Settings

pytestmark = pytest.mark.unit

D = Decimal


@pytest.mark.parametrize(
    ("raw", "rounded"),
    [
        ("168000.005", "168000.01"),
        ("2.345", "2.35"),
        ("2.344999999", "2.34"),
        ("2.355", "2.36"),
        ("-2.345", "-2.35"),  # half-up: ties away from zero
        ("-0.004", "0.00"),  # never -0.00
        ("0", "0.00"),
        ("5", "5.00"),
        ("999999999999999.995", "1000000000000000.00"),
        ("0.1" + "0" * 60 + "5", "0.10"),
    ],
)
def test_money_is_rounded_half_up_to_two_places(raw: str, rounded: str) -> None:
    result = round_money(D(raw))
    assert decimal_text(result) == rounded


@pytest.mark.parametrize(
    ("raw", "rounded"),
    [
        ("13.392857142857142857", "13.3929"),
        ("1.00005", "1.0001"),
        ("1.000049999", "1.0000"),
        ("100", "100.0000"),
        ("-2.00005", "-2.0001"),
        ("-0.00004", "0.0000"),
        ("33.333333333333333333333333333333333333", "33.3333"),
    ],
)
def test_percents_are_rounded_half_up_to_four_places(raw: str, rounded: str) -> None:
    assert decimal_text(round_percent(D(raw))) == rounded


@pytest.mark.parametrize(
    ("raw", "rounded"),
    [("49.995", "50.00"), ("49.994999", "49.99"), ("79.9949", "79.99"), ("100", "100.00")],
)
def test_health_score_is_rounded_half_up_to_two_places(raw: str, rounded: str) -> None:
    assert decimal_text(round_score(D(raw))) == rounded


def test_integers_round_too() -> None:
    assert decimal_text(round_money(7)) == "7.00"
    assert decimal_text(round_half_up(D("1.5"), 0)) == "2"


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_non_finite_numbers_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        round_money(D(raw))


def test_decimal_text_is_positional() -> None:
    assert decimal_text(D("1E+3")) == "1000"
    assert decimal_text(D("1E-7")) == "0.0000001"
    assert decimal_text(D("-12.3400")) == "-12.3400"
    with pytest.raises(ValueError, match="finite"):
        decimal_text(D("NaN"))


def test_render_json_writes_decimals_as_exact_numbers() -> None:
    value = {
        "money": D("168000.01"),
        "percent": D("13.3929"),
        "zero": D("0.0000"),
        "tiny": D("1E-7"),
        "big": D("12345678901234567890.12"),
        "count": 3,
        "flag": True,
        "off": False,
        "none": None,
        "day": dt.date(2025, 3, 3),
        "text": 'quote " backslash \\ é',
        "list": [D("1.10"), 2, "x", [], {}],
    }
    text = render_json(value)
    assert text == (
        '{"money":168000.01,"percent":13.3929,"zero":0.0000,"tiny":0.0000001,'
        '"big":12345678901234567890.12,"count":3,"flag":true,"off":false,"none":null,'
        '"day":"2025-03-03","text":"quote \\" backslash \\\\ é","list":[1.10,2,"x",[],{}]}'
    )
    parsed = json.loads(text, parse_float=D)
    assert parsed["money"] == D("168000.01")
    assert parsed["big"] == D("12345678901234567890.12")
    assert json.loads(text)["percent"] == 13.3929  # an ordinary client reads a number


@pytest.mark.parametrize("bad", [1.5, {1: "x"}, object(), D("NaN")])
def test_render_json_refuses_what_it_cannot_write_exactly(bad: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        render_json({"x": bad})


def test_decimal_json_response() -> None:
    response = DecimalJSONResponse({"a": D("2.35")}, status_code=200)
    assert response.body == b'{"a":2.35}'
    assert response.headers["content-type"] == "application/json"


def _row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "scope": "officer:O1",
        "business_date": dt.date(2025, 3, 3),
        "kind": "officer",
        "branch_id": "B1",
        "officer_id": "O1",
        "officer_name": "Ada",
        "revision": 3,
        "total_clients": 10,
        "active_clients": 8,
        "total_loans": 12,
        "active_loans": 9,
        "total_disbursed": D("2.345"),
        "total_outstanding": D("168000.005"),
        "total_collected": D("1234.5649"),
        "par_30": D("13.392857142857142857"),
        "par_60": D("1.00005"),
        "par_90": D("0"),
        "default_rate": D("0.123449999"),
        "collection_rate": D("100"),
        "portfolio_yield": D("25.55555"),
        "growth_rate": D("-2.00005"),
        "new_clients_30d": 2,
        "exited_clients_30d": 1,
        "health_score": D("49.995"),
        "health_category": "critical",
    }
    row.update(overrides)
    return row


def test_summary_payload_rounds_each_kind_of_figure() -> None:
    payload = summary_payload(_row())
    assert list(payload) == list(SUMMARY_FIELDS)
    assert list(payload) == list(LoanSummary.model_fields)
    assert render_json(payload) == (
        '{"scope":"officer:O1","as_of":"2025-03-03","revision":3,"total_clients":10,"active_clients":8,'
        '"total_loans":12,"active_loans":9,"total_disbursed":2.35,"total_outstanding":168000.01,'
        '"total_collected":1234.56,"par_30":13.3929,"par_60":1.0001,"par_90":0.0000,"default_rate":0.1234,'
        '"collection_rate":100.0000,"portfolio_yield":25.5556,"growth_rate":-2.0001,"new_clients_30d":2,'
        '"exited_clients_30d":1,"health_score":50.00,"health_category":"critical"}'
    )


def test_every_decimal_field_has_a_rounding() -> None:
    decimal_fields = {name for name, field in LoanSummary.model_fields.items() if field.annotation is Decimal}
    assert decimal_fields == set(ROUNDING)


def test_officer_payload_leads_with_who_the_officer_is() -> None:
    payload = officer_payload(_row())
    assert list(payload)[:4] == ["officer_id", "name", "branch_id", "scope"]
    assert (payload["officer_id"], payload["name"], payload["branch_id"]) == ("O1", "Ada", "B1")


def test_summaries_csv() -> None:
    text = summaries_csv([_row(), _row(business_date=dt.date(2025, 3, 4), health_category="good")])
    lines = text.split("\r\n")
    assert lines[0] == ",".join(SUMMARY_FIELDS)
    assert lines[1] == (
        "officer:O1,2025-03-03,3,10,8,12,9,2.35,168000.01,1234.56,13.3929,1.0001,0.0000,0.1234,"
        "100.0000,25.5556,-2.0001,2,1,50.00,critical"
    )
    assert lines[2].startswith("officer:O1,2025-03-04,")
    assert lines[2].endswith(",good")
    assert lines[3:] == [""]
    assert summaries_csv([]) == ",".join(SUMMARY_FIELDS) + "\r\n"


def test_openapi_declares_rounded_figures_as_numbers() -> None:
    app = create_app(Settings(database_url="postgresql://x:y@127.0.0.1:1/z", dev_mode=True))
    with TestClient(app) as client:
        document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    for model in ("LoanSummary", "OfficerSummary"):
        properties = schemas[model]["properties"]
        for name in ROUNDING:
            assert properties[name]["type"] == "number", (model, name)
        assert properties["total_clients"]["type"] == "integer"
    assert set(schemas["OfficerSummary"]["properties"]) >= {"officer_id", "name", "branch_id"}
    paths = document["paths"]
    assert paths["/v1/loans/summary"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/LoanSummary"
    }
    assert "text/csv" in paths["/v1/loans/export.csv"]["get"]["responses"]["200"]["content"]
    assert "requestBody" in paths["/v1/snapshots/requests"]["post"]
