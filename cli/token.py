"""`pulse token --role R [--officer-id X | --branch-id X | --client-id X] [--sub S] [--ttl-hours N] [--url]`.

Prints one HS256 JWT signed with `PULSE_JWT_SECRET`, and nothing else, so `TOKEN=$(pulse token ...)` works.
`--sub` names the person (the access log says who read what); outside development mode it is required.
With `--url` it prints the dashboard's sign-in URL instead (`<gateway>/?token=<link>`, CONTRACT §6): a link
that signs that person in once, within PULSE_SIGNIN_LINK_MINUTES, for a session of PULSE_SESSION_HOURS
(`services/gateway/signin.py`). The gateway is `PULSE_GATEWAY_PUBLIC_URL`, else
`http://PULSE_GATEWAY_HOST:PORT`.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from shared.auth import API_AUDIENCE, SCOPE_CLAIM, SIGNIN_AUDIENCE, Role, issue_token
from shared.settings import Settings, get_settings

# Option that carries each role's scope id.
_SCOPE_OPTION = {
    Role.TEAM_LEADER: "--branch-id",
    Role.LOAN_OFFICER: "--officer-id",
    Role.CLIENT: "--client-id",
}


def _positive_hours(text: str) -> float:
    try:
        hours = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not hours > 0 or hours == float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number of hours")
    return hours


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "token",
        help="print a JWT for the gateway",
        description=(
            "Print a JWT for the gateway, signed with PULSE_JWT_SECRET. team_leader needs --branch-id, "
            "loan_officer --officer-id, client --client-id."
        ),
    )
    parser.add_argument("--role", required=True, choices=[role.value for role in Role])
    parser.add_argument("--branch-id", help="scope of a team_leader")
    parser.add_argument("--officer-id", help="scope of a loan_officer")
    parser.add_argument("--client-id", help="scope of a client")
    parser.add_argument("--sub", help="the person (required outside development mode)")
    parser.add_argument("--ttl-hours", type=_positive_hours, default=12.0, help="validity in hours (default 12)")
    parser.add_argument(
        "--url", action="store_true", help="print a one-time sign-in URL of the dashboard instead (minutes long)"
    )
    parser.set_defaults(func=run, _parser=parser)


def run(args: argparse.Namespace) -> int:
    parser: argparse.ArgumentParser = args._parser
    role = Role(args.role)
    claim = SCOPE_CLAIM.get(role)
    if claim is not None and not getattr(args, claim):
        parser.error(f"role {role.value} requires {_SCOPE_OPTION[role]}")  # exits 2
    settings = get_settings()
    keys = settings.jwt_keys()
    if keys is None:
        parser.error("PULSE_JWT_SECRET is not set (PULSE_DEV_MODE=true uses the development secret)")
    scope_id = getattr(args, claim) if claim is not None else None
    sub = args.sub or (dev_subject(role, scope_id) if settings.dev_mode else None)
    if not sub:
        parser.error("--sub is required: the person the token is for (e.g. their email address)")
    if args.url:  # a one-time link, redeemed for a session by the gateway
        ttl, audience = dt.timedelta(minutes=settings.signin_link_minutes), SIGNIN_AUDIENCE
    else:
        ttl, audience = dt.timedelta(hours=args.ttl_hours), API_AUDIENCE
    if ttl > dt.timedelta(hours=settings.jwt_max_lifetime_hours):
        parser.error(f"--ttl-hours is longer than PULSE_JWT_MAX_LIFETIME_HOURS ({settings.jwt_max_lifetime_hours:g})")
    try:
        token = issue_token(
            role,
            sub=sub,
            branch_id=args.branch_id,
            officer_id=args.officer_id,
            client_id=args.client_id,
            ttl=ttl,
            secret=keys,
            audience=audience,
        )
    except ValueError as exc:  # e.g. an id with characters an identifier may not have
        parser.error(_first_line(exc))
    print(f"{gateway_url(settings)}/?token={token}" if args.url else token)
    return 0


def dev_subject(role: Role, scope_id: str | None) -> str:
    """In development mode only: a made-up person for a role (`dev:team_leader:BR-NORTH`)."""
    return f"dev:{role.value}" + (f":{scope_id}" if scope_id else "")


def gateway_url(settings: Settings) -> str:
    """Where people open the dashboard (a listening address of 0.0.0.0 is reached at 127.0.0.1)."""
    if settings.gateway_public_url:
        return settings.gateway_public_url.rstrip("/")
    host = "127.0.0.1" if settings.gateway_host in ("0.0.0.0", "") else settings.gateway_host  # noqa: S104
    return f"http://{host}:{settings.gateway_port}"


def _first_line(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        details = [f"{'.'.join(str(p) for p in e['loc']) or 'token'}: {e['msg']}" for e in errors()]
        return "invalid token claims: " + "; ".join(details)
    return str(exc)
