"""Reading untrusted request bodies: size-capped before parsing, clear 4xx on garbage."""

from __future__ import annotations

import json
import re

from aiohttp import web

from bot.core.limits import MAX_WEBHOOK_BODY_BYTES

__all__ = ["parse_json", "read_json_body", "read_raw_body"]


async def read_raw_body(request: web.Request, limit: int = MAX_WEBHOOK_BODY_BYTES) -> bytes:
    """The request body, refusing bodies over `limit` (413) without reading them whole."""
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    body = bytearray()
    while len(body) <= limit:  # read(n) returns what has arrived so far, not n bytes
        chunk = await request.content.read(limit + 1 - len(body))
        if not chunk:
            break
        body += chunk
    if len(body) > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=len(body))
    return bytes(body)


# A NUL or a surrogate, escaped or decoded (json.loads lets raw surrogates through). Only a
# body with one of them is walked for a string that no database column can store.
_SUSPECT = re.compile(r"\\u(?:0000|[dD][89a-fA-F])|[\ud800-\udfff]")
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


def _holds_non_text(value: object) -> bool:
    """True if a string (key or value) anywhere in `value` has a NUL or a lone surrogate."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _NOT_TEXT.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def parse_json(body: bytes) -> object:
    """JSON from untrusted bytes; 400 for anything that is not valid JSON, nests absurdly,
    has a number too long to convert, or has a string with a NUL or an unpaired surrogate
    (no platform sends those, and neither SQLite nor PostgreSQL can store them)."""
    try:
        text = body.decode(json.detect_encoding(body), "surrogatepass")
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # ValueError: bad UTF-8, JSON or a huge int
        raise web.HTTPBadRequest(text="malformed JSON") from exc
    if _SUSPECT.search(text) and _holds_non_text(data):
        raise web.HTTPBadRequest(text="a string holds a NUL or an unpaired surrogate")
    return data


async def read_json_body(request: web.Request, limit: int = MAX_WEBHOOK_BODY_BYTES) -> object:
    """The request's JSON, refusing bodies over `limit` without reading them whole."""
    return parse_json(await read_raw_body(request, limit))
