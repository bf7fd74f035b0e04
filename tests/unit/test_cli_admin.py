"""`pulse db roles` and `pulse revoke` when the database cannot be reached, or the token cannot be read: an
exit code and a reason, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cli.main import main
from shared.settings import get_settings

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def unreachable_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", "postgresql://x:y@127.0.0.1:1/z")  # nothing listens on port 1
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("argv", "command"), [(["db", "roles"], "pulse db roles"), (["revoke", "j-1"], "pulse revoke")]
)
def test_an_unreachable_database_is_exit_1_with_the_reason(
    capsys: pytest.CaptureFixture[str], argv: list[str], command: str
) -> None:
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{command}: cannot connect to DATABASE_URL" in captured.err


def test_revoking_a_token_without_an_id_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["revoke", "not.a.jwt"]) == 2
    assert "not a token with jti and exp" in capsys.readouterr().err
