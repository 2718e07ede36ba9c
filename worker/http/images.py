"""What a fetched partner image is, read from its bytes (never from what the partner says it is).

Why sniff: the Content-Type is the partner's claim, and a hostile or broken partner serves HTML, SVG or a
script as `image/png`. Only the raster formats every outlet's readers show are kept: JPEG, PNG, GIF and
WebP, each recognised by its signature and then read by Pillow as that format and no other. SVG is
refused whatever it is labelled: it is an XML document that can carry script and load other resources.

Why read the size without decoding: a decompression bomb is a small file that declares a huge picture
(a 1x1 PNG saying 50000x50000 is 2.5 gigapixels, some 7.5 GB once decoded). Pillow's `Image.open` parses
the header only and decodes nothing until asked; the declared width times height is checked against
SYNDICATION_MAX_IMAGE_PIXELS here, and nothing in the worker ever decodes the pixels. The outlets hand
the bytes on as they came; a reader's browser decodes them, and never one that declares more than the cap.

No I/O here: the client (worker/http/client.py `SourceClient.image`) fetches under its gates and size cap,
then asks `inspect_image` what it got.
"""
from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass, field

from PIL import Image as PILImage

from worker.errors import ImageBombError, NotAnImageError

#: media type → (Pillow's format name, the file extension outlets write it under)
FORMATS: dict[str, tuple[str, str]] = {
    "image/jpeg": ("JPEG", ".jpg"),
    "image/png": ("PNG", ".png"),
    "image/gif": ("GIF", ".gif"),
    "image/webp": ("WEBP", ".webp"),
}
#: what an image request asks for: the formats kept, never SVG
IMAGE_ACCEPT = "image/webp,image/png,image/jpeg,image/gif;q=0.9,*/*;q=0.1"


def sniff_type(data: bytes) -> str | None:
    """The media type the file's signature says (one of FORMATS), or None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _what_it_looks_like(data: bytes) -> str:
    head = data[:512].lstrip().lower()
    if b"<svg" in head or (head.startswith(b"<?xml") and b"svg" in data[:4096].lower()):
        return "an SVG document (refused: it can carry script)"
    if head.startswith((b"<!doctype html", b"<html")) or b"<head" in head or b"<body" in head:
        return "an HTML page"
    if not data:
        return "an empty file"
    return "not a JPEG, PNG, GIF or WebP file"


@dataclass(frozen=True)
class ImageFacts:
    """What the bytes are: their media type (sniffed), declared size, length and content hash."""

    content_type: str
    width: int
    height: int
    byte_size: int
    #: hex SHA-256 of the bytes: the key images are deduplicated by
    sha256: str

    @property
    def extension(self) -> str:
        return FORMATS[self.content_type][1]


def inspect_image(data: bytes, url: str, max_pixels: int, claimed_type: str = "") -> ImageFacts:
    """The facts of an image the worker may keep; NotAnImageError or ImageBombError, naming `url`, else."""
    sniffed = sniff_type(data)
    claimed = f" (the partner called it {claimed_type!r})" if claimed_type else ""
    if sniffed is None:
        raise NotAnImageError(f"{url}: {_what_it_looks_like(data)}{claimed}")
    pillow_format = FORMATS[sniffed][0]
    try:
        with warnings.catch_warnings():
            # Pillow warns past its own default limit; ours is checked below, on the header alone
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data), formats=[pillow_format]) as opened:
                width, height = opened.size
    except PILImage.DecompressionBombError as exc:
        # Pillow's own guard fires on the header too, past twice its MAX_IMAGE_PIXELS (some 179 million,
        # above the highest SYNDICATION_MAX_IMAGE_PIXELS allowed), so this is always over our limit as well
        raise ImageBombError(
            f"{url}: the {pillow_format} header declares a picture over the {max_pixels}-pixel limit "
            f"(SYNDICATION_MAX_IMAGE_PIXELS; Pillow: {exc}); refused without decoding it") from None
    except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds for a damaged header; each means "unreadable"
        raise NotAnImageError(f"{url}: starts like a {pillow_format} file but its header cannot be read "
                              f"({type(exc).__name__}: {exc}){claimed}") from None
    if width <= 0 or height <= 0:
        raise NotAnImageError(f"{url}: the {pillow_format} header declares {width}x{height} pixels")
    if width * height > max_pixels:
        raise ImageBombError(
            f"{url}: the {pillow_format} header declares {width}x{height} = {width * height} pixels, over the "
            f"{max_pixels}-pixel limit (SYNDICATION_MAX_IMAGE_PIXELS); refused without decoding it "
            f"({len(data)} bytes that would decode to about {width * height * 4 // 2**20} MiB)")
    return ImageFacts(sniffed, width, height, len(data), hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class FetchedImage:
    """An image as `SourceClient.image` returns it: the bytes, where they came from, and their facts."""

    requested_url: str
    #: after redirects
    url: str
    data: bytes = field(repr=False)
    facts: ImageFacts
