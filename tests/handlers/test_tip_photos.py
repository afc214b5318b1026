"""Photos in the tip flow: fetched before the transaction, stored without any metadata,
refused kindly (too big, not a picture, a decompression bomb, a fourth one) without losing
the report, and gone when the report is cancelled."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from PIL import Image
from sqlalchemy import func, select

from bot.i18n import gettext, translations
from bot.models import Tip, TipPhoto, TipPhotoDraft
from tests.harness import Stack, TelegramResident, run_dialogue, running_stack

DESCRIPTION = "Có nhóm người mua bán ma túy tối nay, đi xe máy biển 77A-123.45 ở hẻm sau chợ."
#: Up to the photo step (the prompt is matched by its translation, whatever the catalog holds).
TO_PHOTOS = [
    ("/start", "Chọn ngôn ngữ"),
    ("[🇻🇳 Tiếng Việt]", "xã/phường nào"),
    ("[Bỏ qua]", "Menu chính"),
    ("[🚨 Tố giác tội phạm]", "ẩn danh"),
    ("[Tiếp tục]", "loại nào"),
    ("[Ma túy]", "đang xảy ra"),
    ("[Không]", "xã/phường nào"),
    ("[Không rõ]", "Cụ thể ở đâu"),
    ("[Bỏ qua]", "khi nào"),
    ("[Hôm nay]", "Chuyện gì đã xảy ra"),
]


def vi(msgid: str) -> str:
    """What residents read for the message starting with `msgid`, up to its first
    placeholder."""
    catalog: dict[object, str] = translations("vi")._catalog  # type: ignore[attr-defined]
    full = next(k for k in catalog if isinstance(k, str) and k and k.startswith(msgid))
    return gettext("vi", full).split("{")[0]


ASK = vi("Do you have photos? Send up to {max} photos, or {press}.")
GOT = vi("You have attached {count} of {max} photos. Send another, or {press}.")
FULL = vi("You have attached {max} photos, the most a report can carry. To continue, {press}.")
KEPT = vi("What you wrote so far is kept.")
DONE = f"[{vi('Done')}]"


def gps_jpeg() -> bytes:
    """A phone photo: EXIF with a GPS position and a camera serial, and an XMP packet."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0xA431] = "SERIAL-123456"  # BodySerialNumber
    exif[0x8825] = {1: "N", 2: (13.0, 46.0, 12.5), 3: "E", 4: (109.0, 13.0, 5.0)}
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>GPSLatitude 13,46</rdf:RDF></x:xmpmeta>'
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG", exif=exif, xmp=xmp)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # it does carry GPS
    return data


def png(size: tuple[int, int] = (20, 10)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (0, 90, 0, 128)).save(out, "PNG")
    return out.getvalue()


def bomb_png() -> bytes:
    """A PNG whose header claims 30000 x 30000 pixels (900 megapixels): nothing else needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0"))


async def send(resident: TelegramResident, body: dict[str, Any]) -> str:
    await resident.inject(body)
    return "\n".join(m.get("text") or "" for m in resident._new_messages())


def photo(data: bytes) -> dict[str, Any]:
    return {"photo_base64": base64.b64encode(data).decode()}


def document(data: bytes, name: str, mime: str) -> dict[str, Any]:
    return {
        "document_base64": base64.b64encode(data).decode(),
        "file_name": name,
        "mime_type": mime,
    }


async def count(stack: Stack, table: type[TipPhoto] | type[TipPhotoDraft]) -> int:
    async with stack.runtime.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


def assert_clean(content: bytes) -> None:
    image = Image.open(io.BytesIO(content))
    assert image.format == "JPEG"
    assert not image.getexif() and not image.getexif().get_ifd(0x8825)
    assert not {"exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment"} & set(image.info)
    assert b"GPS" not in content and b"SERIAL" not in content and b"xmpmeta" not in content


async def test_a_gps_photo_and_an_image_file_are_stored_without_metadata(
    database_url: str,
) -> None:
    async with running_stack(database_url) as stack:
        resident = TelegramResident(stack, 8101)
        await run_dialogue(resident, [*TO_PHOTOS, (DESCRIPTION, ASK)])
        assert GOT in await send(resident, photo(gps_jpeg()))
        assert GOT in await send(resident, document(png(), "map.png", "image/png"))
        await run_dialogue(
            resident,
            [
                (DONE, ["Vui lòng kiểm tra tin báo", "2"]),
                ("[✅ Gửi tin báo]", "Mã tin báo: TG-"),
            ],
        )
        async with stack.runtime.db.session() as session:
            tip = (await session.execute(select(Tip))).scalar_one()
            photos = (await session.execute(select(TipPhoto).order_by(TipPhoto.id))).scalars().all()
        assert [(p.tip_id, p.mime, p.width, p.height) for p in photos] == [
            (tip.id, "image/jpeg", 64, 48),
            (tip.id, "image/jpeg", 20, 10),
        ]
        for stored in photos:
            assert_clean(stored.content)
        assert await count(stack, TipPhotoDraft) == 0  # moved, not copied


async def test_refusals_are_kind_and_lose_nothing(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        resident = TelegramResident(stack, 8102)
        await run_dialogue(resident, [*TO_PHOTOS, (DESCRIPTION, ASK)])
        big = {
            "message": {
                "from": {"id": 8102, "first_name": "An"},
                "chat": {"id": 8102, "type": "private", "first_name": "An"},
                "document": {
                    "file_id": "BQACAgUAAxkBAAIBnot-on-the-server",
                    "file_unique_id": "AgADbig",
                    "file_name": "video-still.jpg",
                    "mime_type": "image/jpeg",
                    "file_size": 48 * 1024 * 1024,
                },
            }
        }
        answer = await send(resident, big)
        assert vi("This photo is too large (more than {mb} MB).") in answer and KEPT in answer
        answer = await send(resident, document(b"%PDF-1.7 report", "report.pdf", "application/pdf"))
        assert vi("Only photos (JPEG, PNG or WebP) can be attached") in answer
        assert stack.fake.downloads == []  # both refused from what Telegram said about them
        answer = await send(resident, photo(bomb_png()))
        assert vi("This picture is too large to open safely.") in answer and KEPT in answer
        answer = await send(resident, photo(b"\x00garbage, not a picture at all" * 10))
        assert vi("Only photos (JPEG, PNG or WebP)") in answer
        assert vi("Please send a photo, or {press}.") in await send(
            resident, {"text": "ảnh đây"}
        )
        assert await count(stack, TipPhotoDraft) == 0
        await run_dialogue(
            resident,
            [
                ("[Bỏ qua]", ["Vui lòng kiểm tra tin báo", DESCRIPTION, "0"]),
                ("[✅ Gửi tin báo]", "Mã tin báo: TG-"),
            ],
        )


async def test_a_fourth_photo_is_refused_unfetched(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        resident = TelegramResident(stack, 8103)
        await run_dialogue(resident, [*TO_PHOTOS, (DESCRIPTION, ASK)])
        for _ in range(2):
            assert GOT in await send(resident, photo(gps_jpeg()))
        assert FULL in await send(resident, photo(gps_jpeg()))
        answer = await send(resident, photo(gps_jpeg()))
        assert vi("A report can carry at most {max} photos") in answer
        assert len(stack.fake.downloads) == 3
        assert await count(stack, TipPhotoDraft) == 3
        await run_dialogue(resident, [(DONE, "Vui lòng kiểm tra tin báo")])
        await run_dialogue(resident, [("[✅ Gửi tin báo]", "Mã tin báo: TG-")])
        assert await count(stack, TipPhoto) == 3


async def test_cancelling_deletes_the_draft_photos(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        resident = TelegramResident(stack, 8104)
        await run_dialogue(resident, [*TO_PHOTOS, (DESCRIPTION, ASK)])
        assert GOT in await send(resident, photo(gps_jpeg()))
        assert await count(stack, TipPhotoDraft) == 1
        await run_dialogue(resident, [("[Huỷ]", "Menu chính")])
        assert await count(stack, TipPhotoDraft) == 0
        assert await count(stack, TipPhoto) == 0


async def test_photos_outside_the_photo_step_are_not_downloaded(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        resident = TelegramResident(stack, 8105)
        await run_dialogue(resident, TO_PHOTOS[:3])
        await send(resident, photo(gps_jpeg()))
        await run_dialogue(resident, TO_PHOTOS[3:])
        await send(resident, photo(gps_jpeg()))  # at the description step
        assert stack.fake.downloads == []


@asynccontextmanager
async def zalo_cdn(files: dict[str, bytes]) -> AsyncIterator[str]:
    """A stand-in for Zalo's image CDN (photo-stal-*.zdn.vn): plain GETs of the image URL."""

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=files[request.match_info["name"]], content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/{name}", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("channel", ["zalo_bot", "zalo_oa"])
async def test_zalo_photos_are_stored_without_metadata(database_url: str, channel: str) -> None:
    from tests.harness import ZaloBotResident, ZaloOAResident

    async with (
        running_stack(database_url, zalo=True) as stack,
        zalo_cdn({"gps.jpg": gps_jpeg(), "big.jpg": b"\xff\xd8" + bytes(11 * 1024 * 1024)}) as cdn,
    ):
        if channel == "zalo_bot":
            bot = ZaloBotResident(stack, "0a1b2c3d4e5f60718299")
            resident: ZaloBotResident | ZaloOAResident = bot

            async def send_photo(url: str) -> str:
                assert stack.zalo_bot is not None
                result = await stack.zalo_bot.inject_and_wait(chat_id=bot.chat_id, photo_url=url)
                assert result["status"] == 200, result
                await stack.runtime.outbox.flush()
                sent = stack.zalo_bot.sent(bot.chat_id)
                new, bot.seen = sent[bot.seen :], len(sent)
                bot.last = [m.get("text") or "" for m in new] or bot.last
                return "\n".join(bot.last)

        else:
            oa = ZaloOAResident(stack, "6142494823000000099")
            resident = oa

            async def send_photo(url: str) -> str:
                await oa.send({"image_url": url})
                return oa._new()

        await run_dialogue(resident, [*TO_PHOTOS, (DESCRIPTION, ASK)])
        assert vi("This photo is too large") in await send_photo(f"{cdn}/big.jpg")
        assert GOT in await send_photo(f"{cdn}/gps.jpg")
        await run_dialogue(
            resident, [(DONE, "Vui lòng kiểm tra tin báo"), ("[✅ Gửi tin báo]", "TG-")]
        )
        async with stack.runtime.db.session() as session:
            [stored] = (await session.execute(select(TipPhoto))).scalars().all()
        assert_clean(stored.content)
