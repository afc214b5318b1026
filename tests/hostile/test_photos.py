"""Hostile pictures at the tip's photo step, sent as Telegram photos through the fake.

tests/handlers/test_tip_photos.py covers a PNG whose header alone claims 900 megapixels, a
few garbage bytes, a declared 48 MB file and a PDF. Here: random bytes, real JPEG, PNG, GIF
and WebP files cut short or with bytes flipped (Hypothesis), and fixed bombs that decode:
a 1-bit 30000 x 30000 PNG whose pixels really are in it (about 110 kB compressed), a GIF and
a JPEG whose headers claim 65535 x 65535, a WebP canvas of 16384 x 16384, and a PNG with a
zTXt text chunk that inflates to 200 MB.

The bot must answer every one kindly (no apology of a failed handler, nothing at ERROR),
keep the draft, and file the tip afterwards with the description the resident wrote.
"""

from __future__ import annotations

import asyncio
import io
import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from tests.handlers.test_tip_photos import (
    ASK,
    DESCRIPTION,
    DONE,
    TO_PHOTOS,
    photo,
    send,
    vi,
)
from tests.harness import TelegramResident, run_dialogue, running_stack
from tests.hostile.fuzz import Fuzz, apologies_in, error_records
from tests.hostile.strategies import hostile_settings

#: Random or damaged pictures sent per run.
PICTURES = 40


def _picture(kind: str) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (48, 32), (20, 120, 200))
    image.save(out, kind, **({"quality": 80} if kind == "JPEG" else {}))
    return out.getvalue()


REAL = {kind: _picture(kind) for kind in ("JPEG", "PNG", "GIF", "WEBP")}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb_1bit(side: int = 30000) -> bytes:
    """A real 1-bit greyscale PNG of side x side pixels: every row is there, all zeros."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    row = b"\0" * (1 + (side + 7) // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def png_text_bomb() -> bytes:
    """A tiny PNG with a compressed text chunk that inflates to 200 MB."""
    image = Image.new("L", (8, 8))
    out = io.BytesIO()
    image.save(out, "PNG")
    plain = out.getvalue()
    packer = zlib.compressobj(9)
    text = b"".join(packer.compress(b"\0" * 1_048_576) for _ in range(200)) + packer.flush()
    ztxt = _chunk(b"zTXt", b"Comment\0\0" + text)
    return plain[:33] + ztxt + plain[33:]


def gif_huge() -> bytes:
    """A GIF whose screen and image claim 65535 x 65535 pixels, with one pixel of data."""
    screen = b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    image = b"," + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0) + b"\x02\x02\x44\x01\x00"
    return screen + image + b";"


def jpeg_huge() -> bytes:
    """A real JPEG with its frame header rewritten to claim 65535 x 65535 pixels."""
    data = bytearray(REAL["JPEG"])
    at = data.index(b"\xff\xc0")
    data[at + 5 : at + 9] = struct.pack(">HH", 65535, 65535)
    return bytes(data)


def webp_huge() -> bytes:
    """A WebP (VP8X) whose canvas claims 16384 x 16384 pixels."""
    data = bytearray(REAL["WEBP"])
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\0\0\0\0" + (16383).to_bytes(3, "little") * 2
    body = bytes(data[12:])
    riff = b"WEBP" + vp8x + body
    return b"RIFF" + struct.pack("<I", len(riff)) + riff


FIXED = {
    "1-bit PNG bomb": png_bomb_1bit,
    "PNG text bomb": png_text_bomb,
    "65535 x 65535 GIF": gif_huge,
    "65535 x 65535 JPEG": jpeg_huge,
    "16384 x 16384 WebP": webp_huge,
}


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A real picture cut short, or with some bytes flipped, or random bytes after a
    picture's magic number, or just random bytes."""
    how = draw(st.sampled_from(["cut", "flip", "magic", "random"]))
    if how == "random":
        return draw(st.binary(min_size=1, max_size=4096))
    real = REAL[draw(st.sampled_from(sorted(REAL)))]
    if how == "magic":
        return real[:12] + draw(st.binary(max_size=2048))
    if how == "cut":
        return real[: draw(st.integers(1, len(real) - 1))]
    data = bytearray(real)
    for _ in range(draw(st.integers(1, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


@pytest.mark.parametrize("fixed", [False, True], ids=["random", "bombs"])
async def test_hostile_pictures_are_refused_kindly_and_the_draft_is_kept(
    database_url: str, caplog: pytest.LogCaptureFixture, fixed: bool
) -> None:
    kept = vi("What you wrote so far is kept.")
    attached = vi("You have attached {count} of {max} photos.")
    async with running_stack(database_url) as stack:
        resident = TelegramResident(stack, 8201)
        await run_dialogue(resident, [*TO_PHOTOS, (DESCRIPTION, ASK)])
        fuzz = Fuzz(asyncio.get_running_loop(), caplog)
        answers: list[str] = []

        def one(data: bytes, what: str) -> None:
            before = len(caplog.records)
            answer = fuzz.call(send(resident, photo(data)))
            answers.append(answer)
            assert answer.strip(), f"no answer to {what}"
            assert not apologies_in([answer]), f"apology for {what}"
            assert not error_records(caplog, before), what
            if fixed:  # none of these is a picture anyone can look at
                assert kept in answer or vi("Only photos") in answer, (what, answer)

        def work(fuzz: Fuzz) -> None:
            if fixed:
                for what, make in FIXED.items():
                    one(make(), what)
                return

            @hostile_settings(PICTURES)
            @given(damaged())
            def send_damaged(data: bytes) -> None:
                one(data, f"{len(data)} bytes starting {data[:16]!r}")

            send_damaged()

        await fuzz.run(work)
        accepted = sum(attached in answer for answer in answers)
        done = DONE if accepted else "[Bỏ qua]"
        await run_dialogue(
            resident,
            [(done, ["Vui lòng kiểm tra tin báo", DESCRIPTION]), ("[✅ Gửi tin báo]", "TG-")],
        )
        assert error_records(caplog) == []
