"""Fixtures for the staff panel: the whole product running, with accounts in two communes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from tests.admin.panel import QN, QN_DONG, PanelClient, add_staff
from tests.harness import Stack, running_stack


@dataclass
class Panel:
    stack: Stack

    @property
    def url(self) -> str:
        return self.stack.runtime.url

    def client(self) -> PanelClient:
        return PanelClient.open(self.url)

    async def logged_in(self, username: str) -> PanelClient:
        client = self.client()
        assert await client.login(username) == 303
        return client


@pytest.fixture
async def panel(database_url: str) -> AsyncIterator[Panel]:
    """Accounts: `admin`; `canbo_dong` works Phường Quy Nhơn Đông; `canbo_qn` works Phường
    Quy Nhơn; `tuyentruyen` is propaganda staff."""
    async with running_stack(database_url, known_chats=[777001, 990001]) as stack:
        db = stack.runtime.db
        await add_staff(db, "admin", "admin")
        await add_staff(db, "canbo_dong", "officer", [QN_DONG])
        await add_staff(db, "canbo_qn", "officer", [QN])
        await add_staff(db, "tuyentruyen", "propaganda")
        yield Panel(stack)
