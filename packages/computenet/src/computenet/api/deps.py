"""Request dependencies: the runtime and the caller's identity (token auth)."""

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from computenet.service.runtime import Runtime
from computenet.store.repository import Principal
from computenet.store.uow import UnitOfWork

_bearer = HTTPBearer(auto_error=False, description="a tenant or administrator token")


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_principal(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing bearer token", {"WWW-Authenticate": "Bearer"}
        )
    principal = runtime.principals.get(credentials.credentials)
    if principal is None:
        with UnitOfWork(runtime.engine, read_only=True) as uow:
            principal = uow.tokens.authenticate(credentials.credentials)
        if principal is not None:
            runtime.principals.put(credentials.credentials, principal)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "unknown or revoked token", {"WWW-Authenticate": "Bearer"}
        )
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def require_admin(principal: PrincipalDep) -> Principal:
    if not principal.admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "administrators only")
    return principal


AdminDep = Annotated[Principal, Depends(require_admin)]
