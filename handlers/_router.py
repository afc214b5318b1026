"""Routes an update to a flow: commands, button payloads ("topic:arg:arg"), then state."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from bot.core.context import Context

__all__ = ["PayloadHandler", "Router", "StateHandler"]

PayloadHandler = Callable[..., Awaitable[None]]
StateHandler = Callable[[Context], Awaitable[None]]


class Router:
    def __init__(self) -> None:
        self.commands: dict[str, StateHandler] = {}
        self.payloads: dict[str, PayloadHandler] = {}
        self._max_args: dict[str, int] = {}
        self.states: dict[str, StateHandler] = {}
        #: States whose handler also takes photos and files (others answer "unsupported").
        self.media_states: set[str] = set()
        #: States whose handler takes a shared location (elsewhere it sets the home commune).
        self.location_states: set[str] = set()

    def command(self, *names: str) -> Callable[[StateHandler], StateHandler]:
        def register(fn: StateHandler) -> StateHandler:
            for name in names:
                self.commands[name] = fn
            return fn

        return register

    def payload(self, prefix: str) -> Callable[[PayloadHandler], PayloadHandler]:
        """Register for payloads "prefix" and "prefix:a:b" (called as fn(ctx, "a", "b"))."""

        def register(fn: PayloadHandler) -> PayloadHandler:
            self.payloads[prefix] = fn
            self._max_args[prefix] = len(inspect.signature(fn).parameters) - 1
            return fn

        return register

    def state(
        self, name: str, *, media: bool = False, location: bool = False
    ) -> Callable[[StateHandler], StateHandler]:
        def register(fn: StateHandler) -> StateHandler:
            self.states[name] = fn
            if media:
                self.media_states.add(name)
            if location:
                self.location_states.add(name)
            return fn

        return register

    async def run_payload(self, ctx: Context, payload: str) -> bool:
        prefix, *args = payload.split(":")
        handler = self.payloads.get(prefix)
        # Payloads can come from anyone (the web chat posts them): extra fields mean "unknown".
        if handler is None or len(args) > self._max_args[prefix]:
            return False
        extra: list[Any] = list(args)
        await handler(ctx, *extra)
        return True


router = Router()
