"""Request parsing, parameter coercion and rate limiting for the fake Telegram Bot API.

Private helper of :mod:`bot.fakes.telegram`. Bot API clients send parameters in three ways:
a JSON body (typed values), ``application/x-www-form-urlencoded`` (python-telegram-bot and
aiogram without files; non-string values JSON-encoded) and ``multipart/form-data`` (uploads).
:class:`Params` coerces each parameter to the type the method expects, like Telegram does.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import math
import struct
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import BodyPartReader, MultipartReader, web

from bot.fakes._telegram_markup import ApiError, bad_request, decode_json_param


@dataclass(slots=True)
class Upload:
    """A file sent in a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


async def read_request_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query) if request.query_string else {}
    if not request.body_exists:
        return params
    ctype = request.content_type
    if ctype == "multipart/form-data":
        params.update(await _read_multipart(await request.multipart()))
        return params
    body = await request.read()
    if not body:
        return params
    params.update(parse_body(ctype, body))
    return params


def parse_body(ctype: str, body: bytes, full_content_type: str = "") -> dict[str, Any]:
    """Parse a complete request/response body (JSON, urlencoded or multipart)."""
    if ctype == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            raise bad_request("can't parse JSON encoded request body") from None
        if not isinstance(data, dict):
            raise bad_request("request body must be a JSON object")
        return data
    if ctype == "multipart/form-data":
        return _parse_multipart_bytes(full_content_type, body)
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        raise bad_request("request body is not valid UTF-8") from None


async def _read_multipart(reader: MultipartReader) -> dict[str, Any]:
    out: dict[str, Any] = {}
    while True:
        part = await reader.next()
        if part is None:
            return out
        if not isinstance(part, BodyPartReader):  # nested multipart: not used by the Bot API
            continue
        name = part.name
        data = await part.read(decode=True)
        if name is None:
            continue
        if part.filename is not None:
            out[name] = Upload(part.filename, part.headers.get("Content-Type"), bytes(data))
        else:
            out[name] = bytes(data).decode(part.get_charset("utf-8"))


def _parse_multipart_bytes(content_type: str, body: bytes) -> dict[str, Any]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    out: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            out[name] = Upload(filename, part.get_content_type(), data)
        else:
            out[name] = data.decode(part.get_content_charset() or "utf-8")
    return out


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


class Params:
    """Typed access to one request's parameters (values may be JSON-encoded strings)."""

    __slots__ = ("raw",)

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def has(self, name: str) -> bool:
        value = self.raw.get(name)
        return value is not None and value != ""

    def get_str(self, name: str) -> str | None:
        value = self.raw.get(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return repr(value)
        if isinstance(value, Upload):
            raise bad_request(f"{name} must be a string")
        return json.dumps(value, ensure_ascii=False)

    def get_int(self, name: str, *, error: str | None = None) -> int | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise bad_request(error or f"wrong parameter {name} specified")

    def get_float(self, name: str, *, error: str | None = None) -> float | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                result = float(value.strip())
            except ValueError:
                pass
            else:
                if math.isfinite(result):
                    return result
        raise bad_request(error or f"wrong parameter {name} specified")

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self.raw.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return bool(value)
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
        raise bad_request(f"wrong parameter {name} specified")

    def get_json(self, name: str, what: str | None = None) -> Any:
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        return decode_json_param(value, what or name)

    def get_file(self, name: str) -> str | Upload | None:
        """A file parameter: file_id/URL string, an upload, or ``attach://<part>``."""
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, Upload):
            return value
        if not isinstance(value, str):
            raise bad_request("wrong file identifier/HTTP URL specified")
        if value.startswith("attach://"):
            attached = self.raw.get(value.removeprefix("attach://"))
            if not isinstance(attached, Upload):
                raise bad_request("wrong file identifier/HTTP URL specified")
            return attached
        return value


class TokenBucket:
    """Classic token bucket: ``rate`` tokens per second, at most ``capacity`` stored."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, capacity)
        self.tokens = self.capacity
        self.stamp = now

    def refill(self, now: float) -> float:
        """Refill; return seconds until one token is available (0 when one is)."""
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
        if self.tokens >= 1:
            return 0.0
        if self.rate <= 0:
            return math.inf
        return (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


def too_many_requests(wait: float) -> ApiError:
    retry_after = max(1, math.ceil(wait)) if math.isfinite(wait) else 3600
    return ApiError(
        429,
        f"Too Many Requests: retry after {retry_after}",
        {"retry_after": retry_after},
    )


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG, GIF or JPEG; (512, 512) when unknown."""
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
            width, height = struct.unpack(">II", data[16:24])
            return int(width), int(height)
        if data[:6] in (b"GIF87a", b"GIF89a"):
            width, height = struct.unpack("<HH", data[6:10])
            return int(width), int(height)
        if data[:2] == b"\xff\xd8":
            i = 2
            while i + 9 < len(data):
                if data[i] != 0xFF:
                    i += 1
                    continue
                marker = data[i + 1]
                if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD):
                    height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                    return int(width), int(height)
                (length,) = struct.unpack(">H", data[i + 2 : i + 4])
                i += 2 + length
    except struct.error:
        pass
    return 512, 512


__all__ = [
    "ApiError",
    "Params",
    "TokenBucket",
    "Upload",
    "image_size",
    "parse_body",
    "read_request_params",
    "too_many_requests",
]
