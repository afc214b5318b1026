"""Text formatting and keyboard validation for the fake Telegram Bot API.

Private helper of :mod:`bot.fakes.telegram`: parses ``parse_mode`` (HTML, MarkdownV2, Markdown)
into plain text plus entities the way Telegram does, and validates reply markup structurally.
Errors are raised as :class:`ApiError` carrying Telegram's real descriptions.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any


class ApiError(Exception):
    """A Bot API error: HTTP status, Telegram's description, optional ``parameters``."""

    def __init__(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(what: str) -> ApiError:
    return ApiError(400, f"Bad Request: {what}")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _entity_error(what: str) -> ApiError:
    return bad_request(f"can't parse entities: {what}")


# --------------------------------------------------------------------------- HTML

_HTML_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


class _HtmlToEntities(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.chunks: list[str] = []
        self.utf16_pos = 0  # UTF-16 units emitted so far
        self.stack: list[tuple[str, dict[str, Any]]] = []
        self.entities: list[dict[str, Any]] = []

    def _where(self) -> int:
        line, col = self.getpos()
        lines = self.source.split("\n")
        index = sum(len(x) + 1 for x in lines[: line - 1]) + col
        return _byte_offset(self.source, index)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kind = _HTML_TAGS.get(tag)
        attributes = dict(attrs)
        if kind is None or (tag == "span" and attributes.get("class") != "tg-spoiler"):
            raise _entity_error(f'Unsupported start tag "{tag}" at byte offset {self._where()}')
        entity: dict[str, Any] = {"type": kind, "offset": self.utf16_pos}
        if tag == "a":
            href = attributes.get("href") or ""
            if href.startswith("tg://user?id="):
                entity["type"] = "text_mention"
            entity["url"] = href
        elif tag == "blockquote" and "expandable" in attributes:
            entity["type"] = "expandable_blockquote"
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = attributes.get("emoji-id") or ""
        elif tag == "code" and self.stack and self.stack[-1][0] == "pre":
            language = (attributes.get("class") or "").removeprefix("language-")
            if language:
                self.stack[-1][1]["language"] = language
            entity["type"] = "_nested_code"
        self.stack.append((tag, entity))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            expected = self.stack[-1][0] if self.stack else None
            if expected is None:
                raise _entity_error(f"Unexpected end tag at byte offset {self._where()}")
            raise _entity_error(f'Can\'t find end tag corresponding to start tag "{expected}"')
        _tag, entity = self.stack.pop()
        length = self.utf16_pos - entity["offset"]
        if length > 0 and entity["type"] != "_nested_code":
            entity["length"] = length
            self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)
        self.utf16_pos += utf16_len(data)

    def handle_comment(self, data: str) -> None:
        raise _entity_error(f"Unsupported comment at byte offset {self._where()}")


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    parser = _HtmlToEntities(text)
    parser.feed(text)
    if parser.rawdata.lstrip().startswith("<") and not parser.rawdata.startswith("< "):
        # an unterminated "<tag" left in the buffer
        raise _entity_error(f"Unclosed start tag at byte offset {_byte_offset(text, len(text))}")
    parser.close()
    if parser.stack:
        raise _entity_error(
            f'Can\'t find end tag corresponding to start tag "{parser.stack[-1][0]}"'
        )
    parser.entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(parser.chunks), parser.entities


# --------------------------------------------------------------------------- Markdown

_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "*": "bold",
    "_": "italic",
    "__": "underline",
    "~": "strikethrough",
    "||": "spoiler",
}
_MD_NAMES = {"*": "bold", "_": "italic"}
_ENTITY_TITLES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
}


def parse_markdown(text: str, *, v2: bool) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's MarkdownV2 (``v2=True``) or legacy Markdown, to plain text plus entities."""
    out: list[str] = []
    offset = 0
    entities: list[dict[str, Any]] = []
    open_: list[tuple[str, int, int]] = []  # (marker, utf16 offset, source index)
    i = 0
    n = len(text)

    def emit(s: str) -> None:
        nonlocal offset
        out.append(s)
        offset += utf16_len(s)

    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and (v2 or text[i + 1] in "_*`["):
            emit(text[i + 1])
            i += 2
            continue
        if c == "`":
            is_pre = text.startswith("```", i)
            fence = "```" if is_pre else "`"
            end = text.find(fence, i + len(fence))
            if end < 0:
                name = "Pre" if is_pre else "Code"
                if v2:
                    raise _entity_error(
                        f"Can't find end of {name} entity at byte offset {_byte_offset(text, i)}"
                    )
                raise _entity_error(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}"
                )
            body = text[i + len(fence) : end]
            entity: dict[str, Any] = {"type": "pre" if is_pre else "code", "offset": offset}
            if is_pre and "\n" in body:
                first, rest = body.split("\n", 1)
                if first and " " not in first:
                    entity["language"] = first
                    body = rest
            if v2:
                body = body.replace("\\`", "`").replace("\\\\", "\\")
            emit(body)
            entity["length"] = offset - entity["offset"]
            if entity["length"]:
                entities.append(entity)
            i = end + len(fence)
            continue
        if c == "[":
            close = text.find("](", i)
            end = text.find(")", close + 2) if close >= 0 else -1
            if close < 0 or end < 0:
                if v2:
                    raise _entity_error(
                        "Character '[' is reserved and must be escaped with the preceding '\\'"
                    )
                emit(c)
                i += 1
                continue
            label = text[i + 1 : close]
            if v2:
                label_text, label_entities = parse_markdown(label, v2=True)
            else:
                label_text, label_entities = label, []
            start = offset
            for e in label_entities:
                e["offset"] += start
            emit(label_text)
            entities.extend(label_entities)
            url = text[close + 2 : end]
            if utf16_len(label_text):
                entities.append(
                    {"type": "text_link", "offset": start, "length": offset - start, "url": url}
                )
            i = end + 1
            continue
        marker = ""
        if v2 and text.startswith("__", i):
            marker = "__"
        elif v2 and text.startswith("||", i):
            marker = "||"
        elif (v2 and c in "*_~") or (not v2 and c in "*_"):
            marker = c
        if marker:
            if open_ and open_[-1][0] == marker:
                _m, start, _src = open_.pop()
                if offset > start:
                    names = _MDV2_NAMES if v2 else _MD_NAMES
                    entities.append(
                        {"type": names[marker], "offset": start, "length": offset - start}
                    )
            elif any(m == marker for m, _o, _s in open_):
                raise _entity_error(
                    f"Can't find end of {_ENTITY_TITLES[_MDV2_NAMES[open_[-1][0]]]} entity "
                    f"at byte offset {_byte_offset(text, open_[-1][2])}"
                )
            else:
                open_.append((marker, offset, i))
            i += len(marker)
            continue
        if v2 and c in _MDV2_RESERVED:
            raise _entity_error(
                f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
            )
        emit(c)
        i += 1
    if open_:
        marker, _o, src = open_[-1]
        if v2:
            title = _ENTITY_TITLES[_MDV2_NAMES[marker]]
            raise _entity_error(
                f"Can't find end of {title} entity at byte offset {_byte_offset(text, src)}"
            )
        raise _entity_error(
            f"Can't find end of the entity starting at byte offset {_byte_offset(text, src)}"
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def format_text(
    text: str, parse_mode: str | None, entities: Any
) -> tuple[str, list[dict[str, Any]] | None]:
    """Apply ``parse_mode`` or explicit ``entities``; return (plain text, entities or None)."""
    if entities is not None:
        if not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities):
            raise bad_request("can't parse entities JSON object")
        return text, entities or None
    if not parse_mode:
        return text, None
    mode = parse_mode.lower()
    if mode == "html":
        plain, found = parse_html(text)
    elif mode == "markdownv2":
        plain, found = parse_markdown(text, v2=True)
    elif mode == "markdown":
        plain, found = parse_markdown(text, v2=False)
    else:
        raise bad_request(f"unsupported parse_mode {parse_mode}")
    return plain, found or None


def command_entities(text: str) -> list[dict[str, Any]] | None:
    """The ``bot_command`` entity Telegram attaches to a message starting with ``/``."""
    if not text.startswith("/") or len(text) < 2 or text[1].isspace():
        return None
    token = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(token)}]


# --------------------------------------------------------------------------- keyboards

_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_URL_PREFIXES = ("http://", "https://", "tg://")


def decode_json_param(value: Any, what: str) -> Any:
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {what} JSON object") from None
    return value


def validate_reply_markup(raw: Any) -> dict[str, Any] | None:
    """Return the decoded markup; raise Telegram's errors for malformed keyboards."""
    if raw is None or raw == "":
        return None
    markup = decode_json_param(raw, "reply keyboard markup")
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array'
            )
        for row in rows:
            if not isinstance(row, list):
                raise bad_request(
                    'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
                )
            for button in row:
                _validate_inline_button(button)
        if sum(len(row) for row in rows) > 100:
            raise bad_request("reply markup is too long")
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array')
        for row in rows:
            for button in row:
                text = button.get("text") if isinstance(button, dict) else button
                if not isinstance(text, str) or not text:
                    raise bad_request("can't parse keyboard button: Text must be non-empty")
    elif "remove_keyboard" in markup:
        if markup["remove_keyboard"] is not True:
            raise bad_request("can't parse reply keyboard markup: remove_keyboard must be true")
    elif "force_reply" in markup:
        if markup["force_reply"] is not True:
            raise bad_request("can't parse reply keyboard markup: force_reply must be true")
    else:
        raise bad_request('can\'t find field "inline_keyboard"')
    return markup


def _validate_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    text = button.get("text")
    if not isinstance(text, str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    if not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = [key for key in _INLINE_ACTIONS if key in button]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise bad_request(
            "can't parse inline keyboard button: only one of the optional fields must be used"
        )
    data = button.get("callback_data")
    if "callback_data" in button and (
        not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64
    ):
        raise bad_request("BUTTON_DATA_INVALID")
    url = button.get("url")
    if "url" in button and (not isinstance(url, str) or not url.startswith(_URL_PREFIXES)):
        raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
