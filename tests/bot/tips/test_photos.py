"""Clean copies of tip photos: no metadata survives, hostile files are refused early."""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from collections.abc import Iterator

import pytest
from PIL import Image, ImageFile, features

from bot.tips.photos import ACCEPTED_FORMATS, CleanImage, ImageRejected, clean_image

XMP = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    b'exif:GPSLatitude="10,46.5N" exif:GPSLongitude="106,41.2E"/>'
    b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)
COMMENT = b"Chup tai nha so 12 duong Le Loi"
# Raw bytes that must not appear anywhere in a cleaned file.
FORBIDDEN = (
    b"Exif",
    b"http://ns.adobe.com/xap",
    b"adobe:ns:meta",
    b"xpacket",
    b"ICC_PROFILE",
    b"Photoshop 3.0",
    b"8BIM",
    COMMENT,
    b"Canon",
    b"SERIAL-1234",
)


# --- helpers ----------------------------------------------------------------------------------


def _icc_profile() -> bytes:
    try:
        from PIL import ImageCms

        return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    except ImportError:  # pragma: no cover - Pillow without littlecms
        return b"\x00\x00\x02\x0cfake-icc-profile" + b"\x00" * 512


def _exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Canon"  # Make
    exif[0x0110] = "Canon EOS R6"  # Model
    exif[0xA431] = "SERIAL-1234"  # BodySerialNumber (lives in the Exif IFD in real files)
    if orientation is not None:
        exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"  # GPSLatitudeRef
    gps[2] = (10.0, 46.0, 30.0)  # GPSLatitude
    gps[3] = "E"  # GPSLongitudeRef
    gps[4] = (106.0, 41.0, 12.0)  # GPSLongitude
    return exif


def _app_segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _insert_after_soi(jpeg: bytes, *segments: bytes) -> bytes:
    assert jpeg[:2] == b"\xff\xd8"
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def _iptc_segment() -> bytes:
    # Photoshop APP13 with an IPTC block: 2:80 By-line "Nguyen Van A", 2:90 City "Quang Tri".
    def dataset(number: int, value: bytes) -> bytes:
        return struct.pack(">BBBH", 0x1C, 2, number, len(value)) + value

    iptc = dataset(80, b"Nguyen Van A") + dataset(90, b"Quang Tri")
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iptc))
    resource += iptc + (b"\x00" if len(iptc) % 2 else b"")
    return _app_segment(0xED, b"Photoshop 3.0\x00" + resource)


def _jpeg_with_everything(
    size: tuple[int, int] = (100, 50), orientation: int | None = None
) -> bytes:
    image = _two_colour(size)
    buffer = io.BytesIO()
    image.save(
        buffer,
        "JPEG",
        quality=95,
        exif=_exif(orientation),
        icc_profile=_icc_profile(),
        comment=COMMENT,
        xmp=XMP,
    )
    # Belt and braces: an XMP APP1 written by hand and an IPTC APP13, as editing apps do.
    xmp_app1 = _app_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + XMP)
    return _insert_after_soi(buffer.getvalue(), xmp_app1, _iptc_segment())


def _two_colour(size: tuple[int, int]) -> Image.Image:
    """Left half red, right half blue: shows which way the picture was turned."""
    width, height = size
    image = Image.new("RGB", size, (255, 0, 0))
    image.paste((0, 0, 255), (width // 2, 0, width, height))
    return image


def _encoded(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _jpeg_markers(data: bytes) -> Iterator[int]:
    """Markers of the segments before the image data (SOS)."""
    assert data[:2] == b"\xff\xd8"
    position = 2
    while position < len(data):
        assert data[position] == 0xFF
        marker = data[position + 1]
        yield marker
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            return
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        position += 2 + length


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height RGB pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def _reject_reason(data: bytes, **limits: int) -> str:
    with pytest.raises(ImageRejected) as caught:
        clean_image(data, **limits)
    return caught.value.reason


def _open(result: CleanImage) -> Image.Image:
    image = Image.open(io.BytesIO(result.content))
    assert image.format == "JPEG"
    assert image.size == (result.width, result.height)
    return image


def _close(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


@pytest.fixture
def no_full_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything decodes pixels."""

    def refuse(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


# --- metadata ---------------------------------------------------------------------------------


def test_the_fixture_really_carries_metadata() -> None:
    data = _jpeg_with_everything()
    for needle in FORBIDDEN:
        assert needle in data, needle
    with Image.open(io.BytesIO(data)) as image:
        assert image.getexif().get_ifd(0x8825)
        assert image.info.get("icc_profile")
        assert image.info.get("comment") == COMMENT
        assert "xmp" in image.info


def test_clean_jpeg_has_no_metadata_at_all() -> None:
    result = clean_image(_jpeg_with_everything())
    assert result.mime == "image/jpeg"

    image = _open(result)
    assert not image.getexif()
    assert not image.getexif().get_ifd(0x8825)
    assert "exif" not in image.info
    assert "icc_profile" not in image.info
    assert "xmp" not in image.info
    assert "comment" not in image.info
    assert [name for name, _ in getattr(image, "applist", [])] == ["APP0"]
    for needle in FORBIDDEN:
        assert needle not in result.content, needle

    # Segment by segment: SOI, the JFIF APP0, tables and frame; no APP1-APP15, no COM.
    markers = list(_jpeg_markers(result.content))
    assert markers[0] == 0xE0
    assert not [m for m in markers[1:] if 0xE0 <= m <= 0xEF or m == 0xFE]


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_metadata_is_dropped_from_png_and_webp(fmt: str) -> None:
    if fmt == "WEBP" and not features.check("webp"):
        pytest.skip("Pillow built without WebP")
    data = _encoded(
        _two_colour((60, 40)),
        fmt,
        exif=_exif(),
        icc_profile=_icc_profile(),
        **({"xmp": XMP} if fmt == "WEBP" else {}),
    )
    assert b"Canon" in data
    result = clean_image(data)
    image = _open(result)
    assert not image.getexif()
    assert set(image.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density"}
    for needle in FORBIDDEN:
        assert needle not in result.content, needle


def test_output_is_deterministic() -> None:
    data = _jpeg_with_everything(orientation=6)
    assert clean_image(data) == clean_image(data)
    assert clean_image(data).content == clean_image(data).content


# --- orientation, colour, size ----------------------------------------------------------------


def test_exif_orientation_is_applied() -> None:
    result = clean_image(_jpeg_with_everything((100, 50), orientation=6))
    assert (result.width, result.height) == (50, 100)
    image = _open(result).convert("RGB")
    # Orientation 6: the stored picture must be turned 90° clockwise, so its left (red) half
    # ends up on top and its right (blue) half at the bottom.
    assert _close(image.getpixel((25, 10)), (255, 0, 0))  # type: ignore[arg-type]
    assert _close(image.getpixel((25, 90)), (0, 0, 255))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("orientation", "size"), [(1, (100, 50)), (3, (100, 50)), (6, (50, 100)), (8, (50, 100))]
)
def test_each_orientation_gives_the_upright_size(orientation: int, size: tuple[int, int]) -> None:
    result = clean_image(_jpeg_with_everything((100, 50), orientation=orientation))
    assert (result.width, result.height) == size


def test_png_alpha_is_flattened_onto_white() -> None:
    image = Image.new("RGBA", (40, 20), (0, 0, 0, 0))  # fully transparent black
    image.paste((0, 128, 0, 255), (20, 0, 40, 20))  # right half opaque green
    result = clean_image(_encoded(image, "PNG"))
    out = _open(result)
    assert out.mode == "RGB"
    assert _close(out.getpixel((5, 10)), (255, 255, 255), 8)  # type: ignore[arg-type]
    assert _close(out.getpixel((35, 10)), (0, 128, 0))  # type: ignore[arg-type]


def test_palette_png_with_transparency_is_flattened_onto_white() -> None:
    image = Image.new("P", (20, 20), 0)
    image.putpalette([0, 0, 0, 200, 0, 0] + [0] * (256 * 3 - 6))
    image.paste(1, (10, 0, 20, 20))
    result = clean_image(_encoded(image, "PNG", transparency=0))
    out = _open(result)
    assert _close(out.getpixel((2, 10)), (255, 255, 255), 8)  # type: ignore[arg-type]
    assert _close(out.getpixel((15, 10)), (200, 0, 0))  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["L", "1", "CMYK", "I;16", "LA", "P"])
def test_other_modes_come_out_rgb(mode: str) -> None:
    image = Image.new(mode, (30, 30))
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    result = clean_image(_encoded(image, fmt))
    assert _open(result).mode == "RGB"
    assert (result.width, result.height) == (30, 30)


def test_gif_keeps_the_first_frame() -> None:
    frames = [Image.new("RGB", (30, 30), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100)
    out = _open(clean_image(buffer.getvalue())).convert("RGB")
    assert _close(out.getpixel((15, 15)), (255, 0, 0))  # type: ignore[arg-type]


def test_multi_picture_jpeg_keeps_the_first_picture() -> None:
    # Phones write MPO files (a JPEG followed by a depth map or a second lens's picture).
    first = _two_colour((64, 32))
    second = Image.new("RGB", (64, 32), (0, 255, 0))
    buffer = io.BytesIO()
    first.save(buffer, "MPO", save_all=True, append_images=[second], exif=_exif(6))
    with Image.open(io.BytesIO(buffer.getvalue())) as check:
        assert check.format == "MPO"
    result = clean_image(buffer.getvalue())
    assert (result.width, result.height) == (32, 64)
    out = _open(result).convert("RGB")
    assert _close(out.getpixel((16, 5)), (255, 0, 0))  # type: ignore[arg-type]
    assert _close(out.getpixel((16, 58)), (0, 0, 255))  # type: ignore[arg-type]
    for needle in (b"Exif", b"MPF", b"Canon"):
        assert needle not in result.content


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((4000, 1000), (2560, 640)),
        ((1000, 4000), (640, 2560)),
        ((3000, 2000), (2560, 1707)),
        ((2560, 100), (2560, 100)),
        ((800, 600), (800, 600)),
    ],
)
def test_downscaling_keeps_the_aspect_ratio(
    size: tuple[int, int], expected: tuple[int, int]
) -> None:
    result = clean_image(_encoded(Image.new("RGB", size, (10, 20, 30)), "PNG"))
    assert (result.width, result.height) == expected


def test_large_jpeg_is_downscaled_with_orientation() -> None:
    data = _encoded(_two_colour((6000, 3000)), "JPEG", exif=_exif(6))
    result = clean_image(data, max_side=1000)
    assert (result.width, result.height) == (500, 1000)
    out = _open(result).convert("RGB")
    assert _close(out.getpixel((250, 100)), (255, 0, 0))  # type: ignore[arg-type]
    assert _close(out.getpixel((250, 900)), (0, 0, 255))  # type: ignore[arg-type]


# --- refusals ---------------------------------------------------------------------------------


def test_rejections_are_value_errors_with_a_code() -> None:
    with pytest.raises(ValueError) as caught:
        clean_image(b"not an image")
    assert isinstance(caught.value, ImageRejected)
    assert caught.value.reason == "not_an_image"


def test_too_large_is_refused_before_anything_else(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _jpeg_with_everything()
    assert clean_image(data, max_bytes=len(data)).width == 100

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the data was parsed")

    monkeypatch.setattr(Image, "open", refuse)
    assert _reject_reason(data, max_bytes=len(data) - 1) == "too_large"
    assert _reject_reason(b"\x00" * 2000, max_bytes=1000) == "too_large"


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (60_000, 60_000),  # far past Pillow's own limit: DecompressionBombError at open
        (10_000, 10_000),  # past Pillow's warning threshold: DecompressionBombWarning
        (7_000, 7_000),  # under Pillow's limits, over ours
    ],
)
def test_decompression_bomb_is_refused_without_decoding(
    no_full_decode: None, width: int, height: int
) -> None:
    data = _png_claiming(width, height)
    assert len(data) < 200
    assert _reject_reason(data) == "too_many_pixels"


def test_pixel_limit_is_configurable(no_full_decode: None) -> None:
    data = _encoded(Image.new("RGB", (20, 20)), "PNG")
    assert _reject_reason(data, max_pixels=399) == "too_many_pixels"


def test_no_global_pillow_or_warning_state_is_changed() -> None:
    before_limit = Image.MAX_IMAGE_PIXELS
    before_filters = list(warnings.filters)
    with pytest.raises(ImageRejected):
        clean_image(_png_claiming(10_000, 10_000))
    clean_image(_jpeg_with_everything())
    assert before_limit == Image.MAX_IMAGE_PIXELS
    assert warnings.filters == before_filters


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_file_is_corrupt(fmt: str) -> None:
    noise = Image.effect_noise((300, 300), 64).convert("RGB")
    data = _encoded(noise, fmt)
    assert _reject_reason(data[: len(data) // 2]) == "corrupt"


def test_damaged_png_is_corrupt() -> None:
    data = bytearray(_encoded(Image.effect_noise((64, 64), 64), "PNG"))
    data[-40:-20] = b"\x00" * 20  # inside IDAT: bad CRC / broken stream
    assert _reject_reason(bytes(data)) == "corrupt"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "not_an_image"),
        (bytes(range(256)) * 8, "not_an_image"),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", "not_an_image"),
        (b"PK\x03\x04" + b"\x00" * 100, "not_an_image"),  # zip / docx
        (b"Xin chao, day la van ban", "not_an_image"),
        (b"BMW 77A-123.45 chay vao hem", "not_an_image"),
        (
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" '
            b'height="10"><rect width="10" height="10"/></svg>',
            "unsupported_type",
        ),
        (b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "unsupported_type"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64, "unsupported_type"),
        (
            b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 64,
            "unsupported_type",
        ),
    ],
)
def test_non_images_and_unsupported_types(data: bytes, reason: str) -> None:
    assert _reject_reason(data) == reason


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "ICO"])
def test_images_pillow_could_open_are_still_unsupported(fmt: str) -> None:
    assert fmt not in ACCEPTED_FORMATS
    assert _reject_reason(_encoded(Image.new("RGB", (16, 16)), fmt)) == "unsupported_type"


def test_a_jpeg_named_anything_is_judged_by_content() -> None:
    # There is no filename or MIME argument; a PNG declared as JPEG elsewhere is still a PNG.
    png = _encoded(Image.new("RGB", (10, 10), (1, 2, 3)), "PNG")
    assert clean_image(png).mime == "image/jpeg"


def test_bad_limits_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="positive"):
        clean_image(b"x", max_side=0)
