"""`pulse token` through `cli.main.main` (CONTRACT §5)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

import cli.main
from cli.main import main
from shared.auth import SIGNIN_AUDIENCE, InvalidToken, Role, verify_token
from shared.settings import DEV_JWT_SECRET, get_settings

pytestmark = pytest.mark.unit

SECRET = "cli-token-test-secret-0123456789abcdef-xyz"


@pytest.fixture(autouse=True)
def jwt_secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("PULSE_JWT_SECRET", SECRET)
    monkeypatch.delenv("PULSE_DEV_MODE", raising=False)  # `make` sets it
    get_settings.cache_clear()
    yield SECRET
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("argv", "role", "scope"),
    [
        (["--role", "admin"], Role.ADMIN, {}),
        (["--role", "team_leader", "--branch-id", "B1"], Role.TEAM_LEADER, {"branch_id": "B1"}),
        (["--role", "loan_officer", "--officer-id", "O-7"], Role.LOAN_OFFICER, {"officer_id": "O-7"}),
        (["--role", "client", "--client-id", "C1"], Role.CLIENT, {"client_id": "C1"}),
    ],
)
def test_token_prints_a_verifiable_jwt(
    capsys: pytest.CaptureFixture[str], argv: list[str], role: Role, scope: dict[str, str]
) -> None:
    assert main(["token", *argv, "--sub", "ada@bank.test"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # the token only, on one line
    claims = verify_token(out.strip(), SECRET)
    assert claims.sub == "ada@bank.test"
    assert claims.role is role
    for name in ("branch_id", "officer_id", "client_id"):
        assert getattr(claims, name) == scope.get(name)


def test_token_sub_and_ttl(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--role", "admin", "--sub", "ops@example.com", "--ttl-hours", "2"]) == 0
    claims = verify_token(capsys.readouterr().out.strip(), SECRET)
    assert claims.sub == "ops@example.com"
    remaining = claims.exp - dt.datetime.now(dt.UTC)
    assert dt.timedelta(hours=1, minutes=59) < remaining <= dt.timedelta(hours=2)


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["--role", "team_leader"], "--branch-id"),
        (["--role", "loan_officer"], "--officer-id"),
        (["--role", "loan_officer", "--branch-id", "B1"], "--officer-id"),
        (["--role", "client"], "--client-id"),
    ],
)
def test_missing_scope_id_is_a_usage_error(capsys: pytest.CaptureFixture[str], argv: list[str], option: str) -> None:
    assert main(["token", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert option in captured.err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["token"],
        ["token", "--role", "superuser"],
        ["token", "--role", "admin", "--ttl-hours", "0"],
        ["token", "--role", "client", "--client-id", "has spaces"],
        ["no-such-command"],
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().out == ""


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--help"]) == 0
    assert "--officer-id" in capsys.readouterr().out


def test_coroutine_handlers_are_run(monkeypatch: pytest.MonkeyPatch) -> None:
    async def handler(args: argparse.Namespace) -> int:
        return 7

    def register(subparsers: Any) -> None:
        subparsers.add_parser("async-demo").set_defaults(func=handler)

    module = types.ModuleType("fake_async_command")
    module.register = register  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_async_command", module)
    monkeypatch.setattr(cli.main, "COMMANDS", [*cli.main.COMMANDS, "fake_async_command"])
    assert main(["async-demo"]) == 7


@pytest.mark.parametrize(
    ("env", "base"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"PULSE_GATEWAY_HOST": "0.0.0.0", "PULSE_GATEWAY_PORT": "8080"}, "http://127.0.0.1:8080"),  # noqa: S104
        ({"PULSE_GATEWAY_PUBLIC_URL": "https://pulse.example.com/"}, "https://pulse.example.com"),
    ],
)
def test_token_url_is_the_dashboards_sign_in_link(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, env: dict[str, str], base: str
) -> None:
    for name in ("PULSE_GATEWAY_HOST", "PULSE_GATEWAY_PORT", "PULSE_GATEWAY_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    assert main(["token", "--role", "team_leader", "--branch-id", "BR-NORTH", "--sub", "nia@bank.test", "--url"]) == 0
    url = capsys.readouterr().out.strip()
    prefix = f"{base}/?token="
    assert url.startswith(prefix)
    link = url.removeprefix(prefix)
    claims = verify_token(link, SECRET, audience=SIGNIN_AUDIENCE)  # a one-time link, not an API token
    assert (claims.role, claims.branch_id, claims.sub) == (Role.TEAM_LEADER, "BR-NORTH", "nia@bank.test")
    assert claims.iat is not None
    assert claims.exp - claims.iat == dt.timedelta(minutes=15)
    with pytest.raises(InvalidToken, match="wrong audience"):
        verify_token(link, SECRET)


def test_the_person_is_required_outside_development_mode(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["token", "--role", "admin"]) == 2
    assert "--sub is required" in capsys.readouterr().err
    monkeypatch.setenv("PULSE_DEV_MODE", "true")
    get_settings.cache_clear()
    assert main(["token", "--role", "loan_officer", "--officer-id", "LO-1"]) == 0
    assert verify_token(capsys.readouterr().out.strip(), SECRET).sub == "dev:loan_officer:LO-1"


def test_no_secret_no_token_outside_development_mode(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PULSE_JWT_SECRET")
    get_settings.cache_clear()
    assert main(["token", "--role", "admin", "--sub", "ops@bank.test"]) == 2
    assert "PULSE_JWT_SECRET is not set" in capsys.readouterr().err
    monkeypatch.setenv("PULSE_DEV_MODE", "true")
    get_settings.cache_clear()
    assert main(["token", "--role", "admin", "--sub", "ops@bank.test"]) == 0
    assert verify_token(capsys.readouterr().out.strip(), DEV_JWT_SECRET).sub == "ops@bank.test"


def test_a_token_cannot_outlive_the_maximum_lifetime(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--role", "admin", "--sub", "ops@bank.test", "--ttl-hours", "25"]) == 2
    assert "PULSE_JWT_MAX_LIFETIME_HOURS" in capsys.readouterr().err
