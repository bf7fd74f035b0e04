"""`GET /v1/whoami`: who the bearer token says the caller is."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.gateway.access import Access
from shared.auth import Role

router = APIRouter(prefix="/v1", tags=["session"])


class Permissions(BaseModel):
    loans_scope: str | None
    wealth_client: str | None
    request_snapshots: bool


class WhoAmI(BaseModel):
    sub: str
    role: Role
    branch_id: str | None
    officer_id: str | None
    client_id: str | None
    expires_at: dt.datetime
    permissions: Permissions | None = None


@router.get("/whoami")
async def whoami(
    access: Access,
    verbose: Annotated[bool, Query(description="Also describe what the caller may read.")] = False,
) -> WhoAmI:
    """The caller's claims (role, subject, scope ids); with `verbose=true` also its permissions."""
    claims = access.claims
    permissions = None
    if verbose:
        permissions = Permissions(
            loans_scope=str(access.reach) if access.reach is not None else None,
            wealth_client=access.wealth_home(),
            request_snapshots=access.may_request_snapshots,
        )
    return WhoAmI(
        sub=claims.sub,
        role=claims.role,
        branch_id=claims.branch_id,
        officer_id=claims.officer_id,
        client_id=claims.client_id,
        expires_at=claims.exp,
        permissions=permissions,
    )
