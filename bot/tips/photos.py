"""Clean copies of the photos residents attach to tips.

A photo taken on a phone carries far more than pixels: EXIF with the GPS position and the
device's serial number, XMP/IPTC written by editing apps, an ICC profile, comments and an
embedded thumbnail (which may still show what was cropped away). A tip is anonymous, so
none of that may reach the officer. `clean_image` decodes the picture and re-encodes the
pixels alone into a fresh JPEG:

* the type is decided by the content (Pillow's detection), never by a file name or MIME type;
  only JPEG, PNG, WebP and GIF (first frame) are accepted;
* everything that can be refused cheaply is refused before the pixels are decoded: the byte
  size, then the pixel count read from the header (decompression bombs);
* the EXIF orientation is applied so the picture is upright, transparency is flattened onto
  white, and the longest side is capped at ``max_side``;
* the output carries no metadata at all (no EXIF/GPS, XMP, IPTC, ICC profile, comment,
  thumbnail), only the JFIF header every JPEG has, and is the same bytes for the same input.

Failures raise `ImageRejected` with a short machine code (see `RejectReason`) that the bot
maps to a message for the resident.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass, field
from typing import Final, Literal

from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = [
    "ACCEPTED_FORMATS",
    "MAX_BYTES",
    "MAX_PIXELS",
    "CleanImage",
    "ImageRejected",
    "RejectReason",
    "clean_image",
]

RejectReason = Literal[
    "too_large",  # more bytes than max_bytes
    "not_an_image",  # empty, random bytes, a PDF or other document
    "unsupported_type",  # an image, but not one we decode (HEIC, AVIF, SVG, TIFF, BMP, ...)
    "too_many_pixels",  # width * height over max_pixels (or a Pillow decompression bomb)
    "corrupt",  # recognised as an accepted type but truncated or damaged
]

#: Pillow format names we decode (a multi-picture JPEG, "MPO", counts as JPEG: its first
#: picture is used). HEIC needs a plugin (pillow-heif) and is not accepted.
ACCEPTED_FORMATS: Final = ("JPEG", "PNG", "WEBP", "GIF")

#: Default limits of `clean_image`: bytes of the upload, and width x height from its header.
MAX_BYTES: Final = 10 * 1024 * 1024
MAX_PIXELS: Final = 40_000_000

_JPEG_QUALITY: Final = 85
_WHITE: Final = (255, 255, 255)

# Signatures of images we recognise but do not decode, so the resident can be told "send it
# as a normal photo" instead of "that is not a picture". Checked only after Pillow (restricted
# to ACCEPTED_FORMATS) has failed to identify the data; the other Pillow plugins never see it.
_OTHER_IMAGE_MAGIC: Final = (
    b"II*\x00",  # TIFF, little endian (also many camera RAW files)
    b"MM\x00*",  # TIFF, big endian
    b"\x00\x00\x01\x00",  # ICO
    b"8BPS",  # Photoshop
    b"\x00\x00\x00\x0cjP  \r\n\x87\n",  # JPEG 2000
    b"\xff\x4f\xff\x51",  # JPEG 2000 codestream
    b"\xff\x0a",  # JPEG XL codestream
    b"\x00\x00\x00\x0cJXL \r\n\x87\n",  # JPEG XL container
    b"qoif",  # QOI
)
# ISO-BMFF brands of HEIF/HEIC/AVIF files (bytes 8..12, after the "ftyp" box type).
_FTYP_IMAGE_BRANDS: Final = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
)

_BMP_HEADER_SIZES: Final = frozenset(
    size.to_bytes(4, "little") for size in (12, 40, 52, 56, 64, 108, 124)
)


@dataclass(frozen=True)
class CleanImage:
    """A re-encoded photo: `content` is a metadata-free JPEG of `width` x `height` pixels."""

    content: bytes = field(repr=False)
    mime: str
    width: int
    height: int


class ImageRejected(ValueError):
    """The upload cannot be turned into a clean photo; `reason` is a `RejectReason` code."""

    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        super().__init__(reason)
        self.reason: RejectReason = reason
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}" if self.detail else self.reason


def clean_image(
    data: bytes,
    *,
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
    max_side: int = 2560,
) -> CleanImage:
    """Decode `data` and return an upright, metadata-free JPEG copy of its pixels.

    Raises `ImageRejected` with reason ``too_large`` (over `max_bytes`), ``not_an_image``,
    ``unsupported_type`` (an image format other than JPEG/PNG/WebP/GIF), ``too_many_pixels``
    (header claims more than `max_pixels`; nothing is decoded) or ``corrupt``.

    Pillow's own decompression-bomb guard (`Image.MAX_IMAGE_PIXELS`, a process-wide setting)
    is left alone; its warning is turned into a rejection for the duration of the call. A
    `max_pixels` above Pillow's limit is therefore capped by it.
    """
    if max_bytes <= 0 or max_pixels <= 0 or max_side <= 0:
        raise ValueError("max_bytes, max_pixels and max_side must be positive")
    if len(data) > max_bytes:
        raise ImageRejected("too_large", f"{len(data)} bytes > {max_bytes}")
    if not data:
        raise ImageRejected("not_an_image", "empty")

    with warnings.catch_warnings():
        # Inside this block the only warning that matters is the decompression-bomb one, which
        # becomes an exception; the rest are Pillow's remarks about metadata we throw away.
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = _open(data, max_pixels=max_pixels)
            with image:
                pixels = _decode(image, max_side=max_side)
        except ImageRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageRejected("too_many_pixels", str(exc)) from None
        except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
            # Truncated or damaged data; Pillow reports it with any of these.
            raise ImageRejected("corrupt", f"{type(exc).__name__}: {exc}") from None

    return _encode(pixels)


def _open(data: bytes, *, max_pixels: int) -> Image.Image:
    """Identify `data` (header only) and check its size; nothing is decoded yet."""
    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except UnidentifiedImageError:
        if _looks_like_other_image(data):
            raise ImageRejected("unsupported_type") from None
        raise ImageRejected("not_an_image") from None
    # "MPO" is Pillow's name for a JPEG that carries extra pictures after the first (phones
    # that store a depth map or a second lens); the first picture is a plain JPEG.
    if image.format not in (*ACCEPTED_FORMATS, "MPO"):
        image.close()
        raise ImageRejected("unsupported_type", str(image.format))
    width, height = image.size
    if width <= 0 or height <= 0:
        image.close()
        raise ImageRejected("corrupt", f"size {width}x{height}")
    if width * height > max_pixels:
        image.close()
        raise ImageRejected("too_many_pixels", f"{width}x{height} > {max_pixels} pixels")
    return image


def _looks_like_other_image(data: bytes) -> bool:
    """True for image formats we know but do not accept (HEIC, AVIF, SVG, TIFF, BMP, ...)."""
    if data.startswith(_OTHER_IMAGE_MAGIC):
        return True
    if data[4:8] == b"ftyp" and data[8:12] in _FTYP_IMAGE_BRANDS:
        return True
    if data[:2] == b"BM" and data[14:18] in _BMP_HEADER_SIZES:  # not just any text "BM..."
        return True
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<svg", b"<?xml", b"<!doctype svg")) and b"<svg" in head


def _decode(image: Image.Image, *, max_side: int) -> Image.Image:
    """Load the first frame, make it upright RGB on white, at most `max_side` pixels long."""
    width, height = image.size
    scale = min(1.0, max_side / max(width, height))
    if image.format in ("JPEG", "MPO") and scale < 1.0:
        # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when that is still at least the target
        # size: much less memory for big camera photos, same result after the final resize.
        image.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
    image.seek(0)
    image.load()

    upright = _exif_transpose(image)
    rgb = _flatten_to_rgb(upright)

    longest = max(rgb.size)
    if longest > max_side:
        factor = max_side / longest
        size = (max(1, round(rgb.width * factor)), max(1, round(rgb.height * factor)))
        rgb = rgb.resize(size, Image.Resampling.LANCZOS)
    return rgb


def _exif_transpose(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a picture with unreadable EXIF is kept as stored."""
    try:
        transposed = ImageOps.exif_transpose(image)
    except Exception:  # malformed EXIF must not cost the resident their photo
        return image.copy()
    return transposed if transposed is not None else image


def _flatten_to_rgb(image: Image.Image) -> Image.Image:
    """RGB copy of `image`; any transparency is composited onto white."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit greyscale (PNG): scale to 8 bits rather than clipping everything to white.
        image = image.convert("I").point(lambda value: value / 256).convert("L")
        mode = "L"
    elif mode == "F":
        image = image.convert("L")
        mode = "L"

    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, _WHITE)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if mode != "RGB":
        return image.convert("RGB")
    return image


def _encode(pixels: Image.Image) -> CleanImage:
    """Save the pixels, and nothing else, as a baseline JPEG."""
    # A brand-new image with an empty `info`: Pillow's JPEG writer copies some keys (e.g. the
    # comment) from `info` when they are not given explicitly, so we never save the decoded one.
    fresh = Image.frombytes("RGB", pixels.size, pixels.tobytes())
    out = io.BytesIO()
    fresh.save(out, format="JPEG", quality=_JPEG_QUALITY, optimize=True)
    return CleanImage(
        content=out.getvalue(), mime="image/jpeg", width=fresh.width, height=fresh.height
    )
