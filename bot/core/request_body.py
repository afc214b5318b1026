"""Reading untrusted request bodies: size-capped before parsing, clear 4xx on garbage."""

from __future__ import annotations

import json

from aiohttp import web

from bot.core.limits import MAX_WEBHOOK_BODY_BYTES

__all__ = ["parse_json", "read_json_body", "read_raw_body"]


async def read_raw_body(request: web.Request, limit: int = MAX_WEBHOOK_BODY_BYTES) -> bytes:
    """The request body, refusing bodies over `limit` (413) without reading them whole."""
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    body = await request.content.read(limit + 1)
    if len(body) > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=len(body))
    return body


def parse_json(body: bytes) -> object:
    """JSON from untrusted bytes; 400 for anything that is not valid JSON (or nests absurdly)."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise web.HTTPBadRequest(text="malformed JSON") from exc


async def read_json_body(request: web.Request, limit: int = MAX_WEBHOOK_BODY_BYTES) -> object:
    """The request's JSON, refusing bodies over `limit` without reading them whole."""
    return parse_json(await read_raw_body(request, limit))
