"""`pulse db roles`: create or correct Pulse's PostgreSQL logins, schemas and grants (shared.db_roles).

Run it as an administrator of the database (DATABASE_URL: a superuser, or a role with CREATEROLE that owns
the database) before the services first start, and again after an upgrade; it is idempotent. Passwords come
from the environment, never the command line (which `ps` shows): PULSE_DB_PASSWORD_OWNER,
PULSE_DB_PASSWORD_SNAPSHOTTER, PULSE_DB_PASSWORD_RETURNS, PULSE_DB_PASSWORD_AGGREGATOR,
PULSE_DB_PASSWORD_ALERTER, PULSE_DB_PASSWORD_GATEWAY. A login without one keeps its password.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from shared.db_roles import RolePlan, provision
from shared.settings import get_settings

PASSWORD_VARIABLE = "PULSE_DB_PASSWORD_{}"  # noqa: S105  # the name of a variable, not a password


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("db", help="PostgreSQL administration")
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    roles = actions.add_parser(
        "roles",
        help="create or correct the logins, schemas and grants (as an administrator of DATABASE_URL)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    defaults = RolePlan()
    roles.add_argument("--role-prefix", default=defaults.prefix, help="prefix of the role names (%(default)s)")
    roles.add_argument(
        "--statement-timeout",
        default=defaults.service_statement_timeout,
        help="the services' server-side statement_timeout (%(default)s)",
    )
    roles.add_argument(
        "--gateway-statement-timeout",
        default=defaults.reader_statement_timeout,
        help="the gateway's server-side statement_timeout (%(default)s)",
    )
    roles.set_defaults(func=run_roles)


def passwords_from(environ: dict[str, str], plan: RolePlan) -> dict[str, str]:
    named = {name: environ.get(PASSWORD_VARIABLE.format(name.upper())) for name in plan.names()}
    return {name: password for name, password in named.items() if password}


async def as_administrator(command: str, work: Callable[[asyncpg.Connection], Awaitable[object]]) -> int:
    """Run `work` on a connection to DATABASE_URL (an administrator's); 1, with the reason on standard error,
    when the database cannot be reached or refuses."""
    try:
        conn = await asyncpg.connect(get_settings().database_url)
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"{command}: cannot connect to DATABASE_URL: {exc}", file=sys.stderr)
        return 1
    try:
        await work(conn)
    except asyncpg.PostgresError as exc:
        print(f"{command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        await conn.close()
    return 0


async def run_roles(args: argparse.Namespace) -> int:
    plan = RolePlan(args.role_prefix, args.statement_timeout, args.gateway_statement_timeout)
    passwords = passwords_from(dict(os.environ), plan)
    if await as_administrator("pulse db roles", lambda conn: provision(conn, plan, passwords)):
        return 1
    for name in plan.names():
        print(f"{plan.login(name)}: {'password set' if name in passwords else 'password unchanged'}")
    return 0
