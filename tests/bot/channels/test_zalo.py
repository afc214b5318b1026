"""Zalo Bot and Zalo OA through their fakes: secrets, signatures, tokens, windows, events."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from sqlalchemy import func, select

from bot.channels.zalo_oa import TokenError, TokenStore, ZaloOAChannel
from bot.core.channel import OutOfWindow
from bot.core.platform import Platform
from bot.core.types import Reply
from bot.db import Database
from bot.models import InboundUpdate, Resident
from bot.runtime import ZALO_BOT_WEBHOOK_PATH, ZALO_OA_WEBHOOK_PATH
from tests.harness import (
    ZALO_BOT_SECRET,
    Stack,
    ZaloBotResident,
    ZaloOAResident,
    run_dialogue,
    running_stack,
)

USER = "6142494823000000000"


def _tokens(stack: Stack) -> TokenStore:
    return stack.runtime.channel(Platform.ZALO_OA, ZaloOAChannel).client.tokens


async def _count(stack: Stack, model: type) -> int:
    async with stack.runtime.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


def _bot_update(message_id: str, text: str = "/start", chat: str = "0a1b2c3d4e5f60718293") -> dict:  # type: ignore[type-arg]
    return {
        "event_name": "message.text.received",
        "message": {
            "message_id": message_id,
            "date": 1750316131602,
            "from": {"id": chat, "display_name": "A", "is_bot": False},
            "chat": {"id": chat, "chat_type": "PRIVATE"},
            "text": text,
        },
    }


async def test_zalo_bot_webhook_refuses_wrong_secrets_and_bad_bodies(database_url: str) -> None:
    async with running_stack(database_url, zalo=True) as stack, httpx.AsyncClient() as client:
        url = stack.runtime.url + ZALO_BOT_WEBHOOK_PATH
        body = json.dumps(_bot_update("a" * 20))
        for headers in ({}, {"X-Bot-Api-Secret-Token": "wrong-secret-value"}):
            response = await client.post(url, content=body, headers=headers)
            assert response.status_code == 403
        assert await _count(stack, InboundUpdate) == 0 and await _count(stack, Resident) == 0
        good = {"X-Bot-Api-Secret-Token": ZALO_BOT_SECRET}
        assert (await client.post(url, content=b"", headers=good)).status_code == 200  # probe
        assert (await client.post(url, content=b"{bad", headers=good)).status_code == 400
        assert (await client.post(url, content=b'{"x": 1}', headers=good)).status_code == 400
        big = json.dumps(_bot_update("b" * 20, "x" * (1024 * 1024)))
        assert (await client.post(url, content=big, headers=good)).status_code == 413
        test_ping = {"event_name": "webhook.test", "message": {"message_id": "webhook-test"}}
        response = await client.post(url, content=json.dumps(test_ping), headers=good)
        assert response.status_code == 200
        # the same update twice (flat, then wrapped as the docs show it): handled once
        stack.zalo_bot.add_chat("0a1b2c3d4e5f60718293")  # type: ignore[union-attr]
        update = _bot_update("c" * 20)
        for wrapped in (update, {"ok": True, "result": update}):
            response = await client.post(url, content=json.dumps(wrapped), headers=good)
            assert response.status_code == 200
        await stack.runtime.outbox.flush()
        assert await _count(stack, InboundUpdate) == 1
        assert len(stack.zalo_bot.sent("0a1b2c3d4e5f60718293")) == 1  # type: ignore[union-attr]


async def test_zalo_bot_unsupported_content_gets_a_polite_answer(database_url: str) -> None:
    async with running_stack(database_url, zalo=True) as stack:
        resident = ZaloBotResident(stack, "f00dfeedf00dfeedf00d")
        await run_dialogue(resident, [("/start", "Chọn ngôn ngữ"), ("1", "xã/phường nào")])
        assert stack.zalo_bot is not None
        result = await stack.zalo_bot.inject_and_wait(chat_id=resident.chat_id, unsupported=True)
        assert result["status"] == 200
        await stack.runtime.outbox.flush()
        assert "chỉ đọc được tin nhắn chữ" in stack.zalo_bot.sent(resident.chat_id)[-1]["text"]
        await run_dialogue(resident, [("quy nhon nam", "Phường Quy Nhơn Nam")])  # still there


@pytest.mark.parametrize("variant", ["bad", "missing"])
async def test_zalo_oa_bad_signature_is_refused_and_nothing_stored(
    database_url: str, variant: str
) -> None:
    async with running_stack(database_url, zalo=True) as stack:
        assert stack.zalo_oa is not None
        result = await stack.zalo_oa.inject_and_wait(
            {"user_id": USER, "text": "/start"}, signature=variant
        )
        assert result["status"] == 403
        assert await _count(stack, InboundUpdate) == 0 and await _count(stack, Resident) == 0


async def test_zalo_oa_app_secret_signature_variant_is_accepted(database_url: str) -> None:
    async with running_stack(database_url, zalo=True) as stack:
        assert stack.zalo_oa is not None
        result = await stack.zalo_oa.inject_and_wait(
            {"user_id": USER, "text": "/start"}, signature="app_secret"
        )
        assert result["status"] == 200


def _oa_text_event(timestamp: int, msg_id: str) -> dict[str, object]:
    return {
        "event_name": "user_send_text",
        "timestamp": str(timestamp),
        "sender": {"id": USER},
        "message": {"msg_id": msg_id, "text": "/start"},
    }


async def test_zalo_oa_signed_events_outside_the_time_window_are_ignored(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A year-old signed event (replayed once its dedup record is gone), or one stamped well
    ahead of our clock: answered 200 so Zalo does not retry, and nothing is handled."""
    async with running_stack(database_url, zalo=True) as stack:
        assert stack.zalo_oa is not None
        now_ms = int(time.time() * 1000)
        for n, stamp in enumerate((now_ms - 365 * 86_400_000, now_ms + 3_600_000)):
            result = await stack.zalo_oa.inject_and_wait(_oa_text_event(stamp, f"{n:020d}"))
            assert result["status"] == 200
        await stack.runtime.outbox.flush()
        assert await _count(stack, InboundUpdate) == 0 and await _count(stack, Resident) == 0
        assert stack.zalo_oa.sent(USER) == []
        refused = [r.getMessage() for r in caplog.records if "time window" in r.getMessage()]
        assert len(refused) == 2 and not any(USER in line for line in refused)
        # a current one is handled as ever
        result = await stack.zalo_oa.inject_and_wait(_oa_text_event(now_ms, "2" * 20))
        assert result["status"] == 200 and await _count(stack, Resident) == 1


async def test_zalo_oa_dedup_records_hold_no_follower_id(database_url: str) -> None:
    async with running_stack(database_url, zalo=True) as stack:
        assert stack.zalo_oa is not None
        oa = stack.zalo_oa
        event = (await oa.inject_and_wait({"user_id": USER, "event": "follow"}))["event"]
        raw = json.dumps(event, separators=(",", ":")).encode()
        async with httpx.AsyncClient() as client:  # Zalo redelivers the same event
            again = await client.post(
                stack.runtime.url + ZALO_OA_WEBHOOK_PATH,
                content=raw,
                headers={"X-ZEvent-Signature": oa.signature(raw, event["timestamp"])},
            )
        assert again.status_code == 200
        await stack.runtime.outbox.flush()
        async with stack.runtime.db.session() as session:
            ids = (await session.execute(select(InboundUpdate.update_id))).scalars().all()
        assert len(ids) == 1 and USER not in ids[0] and event["timestamp"] not in ids[0]
        assert len(stack.zalo_oa.sent(USER)) == 1  # the redelivery was recognised


async def test_zalo_oa_follow_location_and_unfollow(database_url: str) -> None:
    async with running_stack(database_url, zalo=True) as stack:
        resident = ZaloOAResident(stack, USER)
        await resident.send({"event": "follow"})
        assert "Chọn ngôn ngữ" in resident._new()
        await run_dialogue(resident, [("[🇻🇳 Tiếng Việt]", "gửi vị trí")])
        await resident.send({"location": {"latitude": 13.7843, "longitude": 109.233}})
        assert "bạn ở gần Phường Quy Nhơn" in resident._new()
        await run_dialogue(resident, [("[✅ Đúng]", ["Phường Quy Nhơn", "Menu chính"])])
        await resident.send({"location": {"latitude": 21.03, "longitude": 105.85}})  # Hà Nội
        assert "không thuộc địa bàn tỉnh" in resident._new()
        await resident.send({"event": "unfollow"})
        assert resident._new() == ""  # nothing is sent to someone who left
        async with stack.runtime.db.session() as session:
            row = (await session.execute(select(Resident))).scalar_one()
        assert row.subscribed is False and row.commune_code == 21583


async def test_zalo_oa_expired_token_is_refreshed_once_and_the_send_retried(
    database_url: str,
) -> None:
    async with running_stack(database_url, zalo=True) as stack:
        assert stack.zalo_oa is not None
        store = _tokens(stack)
        # a seeded pair is of unknown age: it is renewed once at start-up
        for _ in range(100):
            if store.refreshes:
                break
            await asyncio.sleep(0.05)
        before = stack.zalo_oa.stats()["refreshes"]
        resident = ZaloOAResident(stack, USER)
        await run_dialogue(resident, [("/start", "Chọn ngôn ngữ")])
        stack.zalo_oa.expire_access_tokens()
        await run_dialogue(resident, [("/help", "gõ số thứ tự")])
        stats = stack.zalo_oa.stats()
        assert stats["refreshes"] == before + 1 and stats["refresh_token_reuse"] == 0


async def test_concurrent_refreshes_never_spend_one_refresh_token_twice(
    database_url: str,
) -> None:
    async with running_stack(database_url, zalo=True) as stack:
        oa, store = stack.zalo_oa, _tokens(stack)
        assert oa is not None
        for _ in range(100):  # let the start-up renewal of the seeded pair finish
            if store.refreshes:
                break
            await asyncio.sleep(0.05)
        before = oa.stats()["refreshes"]
        spent = store.access_token
        # a second process: its own database connection and token store
        other_db = Database(database_url)
        async with httpx.AsyncClient() as http:
            other = TokenStore(
                other_db, http, oauth_base=oa.url or "", app_id=oa.app_id, app_secret=oa.app_secret
            )
            await other.load()
            tokens = await asyncio.gather(
                store.refresh(spent), store.refresh(spent), other.refresh(spent)
            )
        await other_db.dispose()
        assert len(set(tokens)) == 1
        assert oa.stats()["refreshes"] == before + 1
        assert oa.stats()["refresh_token_reuse"] == 0


async def test_zalo_oa_resident_outside_the_7_day_window_is_skipped(database_url: str) -> None:
    async with running_stack(database_url, zalo=True) as stack:
        assert stack.zalo_oa is not None
        await ZaloOAResident(stack, USER).send({"text": "/start"})
        stack.zalo_oa.set_last_interaction(USER, seconds_ago=8 * 86400)
        with pytest.raises(OutOfWindow):
            await stack.runtime.channel(Platform.ZALO_OA, ZaloOAChannel).send(
                USER, Reply("tin nhắn")
            )


async def test_a_failed_token_renewal_alerts_staff(database_url: str) -> None:
    async with running_stack(
        database_url, zalo=True, known_chats=[777], staff_alert_telegram_chat_id="777"
    ) as stack:
        oa, store = stack.zalo_oa, _tokens(stack)
        assert oa is not None
        for _ in range(100):  # the start-up renewal of the seeded pair
            if store.refreshes:
                break
            await asyncio.sleep(0.05)
        oa.reset()  # Zalo forgets our grant: the refresh token is refused
        with pytest.raises(TokenError):
            await store.refresh(store.access_token)
        await stack.fake.wait_sent(777, 1, timeout=10)
        alert = stack.fake.sent(777)[-1]["text"]
        # in the staff's language, through the catalog
        assert alert.startswith("⚠️ Zalo OA: làm mới access token thất bại (")
        assert alert.endswith("cập nhật ZALO_OA_REFRESH_TOKEN.")
        assert store.access_token not in alert


async def test_zalo_oa_duplicate_deliveries_are_handled_once(database_url: str) -> None:
    async with running_stack(database_url, zalo=True) as stack:
        assert stack.zalo_oa is not None
        for _ in range(2):  # Zalo redelivers when our 200 came too late
            result = await stack.zalo_oa.inject_and_wait(
                {"user_id": USER, "text": "/start", "msg_id": "cb31dff1c39642cc1b83"}
            )
            assert result["status"] == 200
        await stack.runtime.outbox.flush()
        assert await _count(stack, InboundUpdate) == 1
        assert len(stack.zalo_oa.sent(USER)) == 1


async def test_the_zalo_bot_token_never_reaches_logs_or_errors() -> None:
    import logging

    from bot.channels.zalo_bot import ZaloBotClient, ZaloBotError
    from bot.logging_setup import RedactTokens

    token = "1234567890:fake-zalo-bot-secret"
    client = ZaloBotClient(token, "http://127.0.0.1:9")  # nothing listens there
    try:
        with pytest.raises(ZaloBotError) as caught:
            await client.send_message("abc", "x")
    finally:
        await client.aclose()
    assert token not in str(caught.value) and "fake-zalo-bot-secret" not in repr(caught.value)
    line = f'HTTP Request: POST https://bot-api.zaloplatforms.com/bot{token}/sendMessage "200"'
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, line, None, None)
    RedactTokens().filter(record)
    assert "fake-zalo-bot-secret" not in record.getMessage()
    # and httpx's own request lines (they carry the URL) are not logged at all at INFO
    from bot.logging_setup import configure_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level, logging.getLogger("httpx").level
    try:
        configure_logging("INFO")
        assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
        assert any(isinstance(f, RedactTokens) for h in root.handlers for f in h.filters)
    finally:
        root.handlers[:], _, _ = saved
        root.setLevel(saved[1])
        logging.getLogger("httpx").setLevel(saved[2])


async def test_another_process_picks_up_the_renewed_pair(database_url: str) -> None:
    async with running_stack(database_url, zalo=True) as stack:
        oa, store = stack.zalo_oa, _tokens(stack)
        assert oa is not None
        other_db = Database(database_url)
        async with httpx.AsyncClient() as http:
            other = TokenStore(
                other_db, http, oauth_base=oa.url or "", app_id=oa.app_id, app_secret=oa.app_secret
            )
            await other.load()
            renewed = await other.refresh(other.access_token)
        await other_db.dispose()
        await store.refresh_if_due()
        assert store.access_token == renewed


async def test_two_instances_seeding_the_oa_tokens_at_once_both_start(db: Database) -> None:
    """Two processes started together both find no token row and both seed it: the second
    insert must not crash its process (it did, in a two-process campaign test)."""
    async with httpx.AsyncClient() as http:
        stores = [
            TokenStore(
                db,
                http,
                oauth_base="http://127.0.0.1:9",
                app_id="4242",
                app_secret="s",
                seed_access_token=f"access-{n}",
                seed_refresh_token=f"refresh-{n}",
            )
            for n in range(4)
        ]
        await asyncio.gather(*(store.load() for store in stores))
    tokens = {store.access_token for store in stores}
    assert len(tokens) == 1 and tokens <= {f"access-{n}" for n in range(4)}
