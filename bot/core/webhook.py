"""What every platform webhook does the same way: check the secret in constant time, hand
the parsed update to the core, and answer bad input with a clear 4xx."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.core.dispatch import Core
from bot.core.types import Inbound

__all__ = ["Handler", "deliver", "require_secret"]

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def require_secret(
    request: web.Request,
    header: str,
    expected: str,
    refuse: type[web.HTTPClientError],
    platform: str,
) -> None:
    """Refuse the request (401 or 403, as the platform's docs do) unless `header` carries the
    configured secret. An empty configured secret refuses everything."""
    given = request.headers.get(header, "").encode()
    if not expected or not hmac.compare_digest(given, expected.encode()):
        log.warning("%s webhook: wrong or missing secret from %s", platform, request.remote)
        raise refuse(text="wrong secret")


async def deliver(
    core: Core, data: object, parse: Callable[[dict[str, Any]], Inbound | None], platform: str
) -> Inbound | None:
    """Parse a webhook body and handle it (committed when this returns). None: nothing in the
    update is for us (it is logged and should be answered 200 so it is not redelivered)."""
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    try:
        inbound = parse(data)
    except ValueError as exc:
        log.warning("%s webhook: %s", platform, exc)
        raise web.HTTPBadRequest(text=f"not a {platform} update") from exc
    if inbound is None:
        log.info("%s webhook: update of an unhandled type ignored", platform)
        return None
    await core.handle(inbound)
    return inbound
