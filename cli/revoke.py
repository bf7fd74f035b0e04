"""`pulse revoke TOKEN_OR_JTI [--reason R]`: the gateway refuses that token from now on (within
PULSE_REVOCATIONS_REFRESH_SECONDS), though it has not expired.

Give the token itself, or its id (`jti`: the gateway's access log names it beside the person). It is written
to `gateway.revoked_tokens` through DATABASE_URL, which must be a login allowed to write there (an
administrator, or the schema owner `pulse_owner`): the gateway itself may only read it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys
from typing import Any

import jwt

from cli.db import as_administrator
from shared.settings import get_settings

_REVOKE = """
INSERT INTO gateway.revoked_tokens (jti, expires_at, revoked_by, reason) VALUES ($1, $2, $3, $4)
ON CONFLICT (jti) DO UPDATE SET expires_at = greatest(revoked_tokens.expires_at, EXCLUDED.expires_at)
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("revoke", help="refuse a token before it expires", description=__doc__)
    parser.add_argument("token", metavar="TOKEN_OR_JTI", help="the token, or its id (jti)")
    parser.add_argument("--reason", help="why, for the record")
    parser.set_defaults(func=run)


def identify(token_or_jti: str, max_lifetime: dt.timedelta) -> tuple[str, dt.datetime]:
    """The id to refuse and until when it matters: the token's own expiry, or (for a bare id) the longest
    any token may still live."""
    if token_or_jti.count(".") == 2:
        payload = jwt.decode(token_or_jti, options={"verify_signature": False})
        return str(payload["jti"]), dt.datetime.fromtimestamp(int(payload["exp"]), dt.UTC)
    return token_or_jti, dt.datetime.now(dt.UTC) + max_lifetime


async def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    try:
        jti, until = identify(args.token.strip(), dt.timedelta(hours=settings.jwt_max_lifetime_hours))
    except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
        print(f"pulse revoke: not a token with jti and exp: {exc}", file=sys.stderr)
        return 2
    revoked_by = f"cli:{getpass.getuser()}"
    if await as_administrator("pulse revoke", lambda conn: conn.execute(_REVOKE, jti, until, revoked_by, args.reason)):
        return 1
    print(f"revoked {jti} (kept until {until.isoformat()})")
    return 0
