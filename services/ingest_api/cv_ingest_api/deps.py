"""FastAPI dependencies, declared once as Annotated aliases."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cv_ingest_api.sender import OutboxSender

# auto_error=False: the 401 (with WWW-Authenticate) is ours, the same for every way to fail.
_bearer = HTTPBearer(
    auto_error=False, description="One of the keys in INGEST_API_KEYS / INGEST_API_KEYS_FILE."
)


def get_sender(request: Request) -> OutboxSender:
    sender: OutboxSender = request.app.state.sender
    return sender


def require_api_key(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Only known writers: the bearer key must be one of the configured keys."""
    presented = credentials.credentials.encode() if credentials else b""
    # Compare against every key, so the time taken says nothing about which (or whether) one matched.
    matched = False
    for key in request.app.state.api_keys:
        matched |= hmac.compare_digest(presented, key)
    if not (credentials and matched):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing or unknown API key: send Authorization: Bearer <key>",
            headers={"WWW-Authenticate": "Bearer"},
        )


SenderDep = Annotated[OutboxSender, Depends(get_sender)]
ApiKeyDep = Depends(require_api_key)
