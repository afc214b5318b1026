"""Platform limits as named constants, never bare numbers in the middle of code."""

from __future__ import annotations

from enum import IntEnum

from bot.core.platform import Platform


class TelegramLimit(IntEnum):
    """Telegram Bot API limits (https://core.telegram.org/bots/api, bots FAQ)."""

    MAX_TEXT_LENGTH = 4096
    MAX_CAPTION_LENGTH = 1024
    CALLBACK_DATA_BYTES = 64
    MESSAGES_PER_SECOND = 30
    MESSAGES_PER_SECOND_PER_CHAT = 1


class ZaloBotLimit(IntEnum):
    """Zalo Bot API limits (see shared/platforms/zalo.md)."""

    MAX_TEXT_LENGTH = 2000


class WebChatLimit(IntEnum):
    MAX_TEXT_LENGTH = 4000


#: The text limit of every channel, keyed by channel name. Content must fit the smallest.
CHANNEL_TEXT_LIMITS: dict[str, int] = {
    Platform.TELEGRAM: TelegramLimit.MAX_TEXT_LENGTH,
    Platform.ZALO_BOT: ZaloBotLimit.MAX_TEXT_LENGTH,
    Platform.ZALO_OA: ZaloBotLimit.MAX_TEXT_LENGTH,
    Platform.WEB: WebChatLimit.MAX_TEXT_LENGTH,
}

#: Largest webhook body we accept; anything bigger is refused with 413 before parsing.
MAX_WEBHOOK_BODY_BYTES = 1024 * 1024
