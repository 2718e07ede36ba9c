"""Draws the sample article's lead image: a schematic locator map, made here so its origin is ours.

Why a drawing and not a photo: the demo ships a picture with the package, so it must be one nobody else
owns. Run once with Pillow (not a dependency of the worker; any Pillow 10.1+ will do):
`python worker/local/demo_site/draw_lead_image.py`. The text is set in Pillow's bundled default font
(Aileron, CC0). The outline is approximate on purpose (the caption's credit says "schematic").
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).parent / "theepochtimes" / "assets" / "2017" / "09" / "iraq-huwayjah-anbar-map-600x400.png"
WIDTH, HEIGHT = 600, 400
WEST, EAST, SOUTH, NORTH = 38.5, 48.8, 28.8, 37.6

# (longitude, latitude), clockwise from the Syria–Turkey–Iraq corner; a simplification, not a survey
IRAQ = [(42.4, 37.1), (44.8, 37.2), (45.5, 35.9), (46.1, 35.1), (45.4, 34.0), (46.1, 33.0), (47.4, 32.4),
        (47.9, 31.0), (48.0, 30.4), (48.5, 30.0), (47.9, 29.9), (47.7, 29.4), (46.5, 29.1), (44.7, 29.2),
        (42.0, 31.1), (40.4, 31.9), (39.2, 32.2), (38.8, 33.4), (41.0, 34.4), (41.2, 35.6), (41.4, 36.5)]
# roughly Anbar west of the Euphrates bend at Haditha
WESTERN_ANBAR = [(38.8, 33.4), (41.0, 34.4), (42.3, 34.2), (42.3, 31.0), (42.0, 31.1), (40.4, 31.9), (39.2, 32.2)]
PLACES = {"Mosul": (43.13, 36.34), "Huwayjah": (43.77, 35.32), "Baghdad": (44.36, 33.31)}
MARKED = {"Huwayjah"}  # held by ISIS: ringed in its colour

LAND, IRAQ_FILL, HELD, INK = "#efe9dc", "#f8f4ea", "#e3a36b", "#2b2b2b"


def to_pixels(lon: float, lat: float) -> tuple[float, float]:
    """Equirectangular, squeezed east–west for latitude ~33° so the country keeps its shape."""
    scale = (HEIGHT - 20) / (NORTH - SOUTH)  # pixels per degree of latitude
    return 10 + (lon - WEST) * scale * 0.84, 10 + (NORTH - lat) * scale


def draw() -> Image.Image:
    image = Image.new("RGB", (WIDTH, HEIGHT), LAND)
    pen = ImageDraw.Draw(image)
    pen.polygon([to_pixels(*p) for p in IRAQ], fill=IRAQ_FILL, outline=INK, width=2)
    pen.polygon([to_pixels(*p) for p in WESTERN_ANBAR], fill=HELD)
    pen.line([to_pixels(*p) for p in IRAQ + IRAQ[:1]], fill=INK, width=2)
    small, large = ImageFont.load_default(size=15), ImageFont.load_default(size=24)
    for name, (lon, lat) in PLACES.items():
        x, y = to_pixels(lon, lat)
        if name in MARKED:
            pen.ellipse((x - 12, y - 12, x + 12, y + 12), fill=HELD)
        pen.ellipse((x - 4, y - 4, x + 4, y + 4), fill=INK)
        # a label that would cross the eastern border goes to the left of its dot
        label_x = x - 16 - pen.textlength(name, font=small) if name in MARKED else x + 10
        pen.text((label_x, y - 9), name, fill=INK, font=small)
    x, y = to_pixels(40.0, 32.9)
    pen.text((x, y), "western\nAnbar", fill=INK, font=small)
    left = 405
    pen.text((left, 30), "Iraq\nSeptember 2017", fill=INK, font=large, spacing=8)
    pen.rectangle((left, 110, left + 18, 128), fill=HELD)
    pen.text((left + 26, 110), "still held by ISIS", fill=INK, font=small)
    pen.text((left, HEIGHT - 40), "schematic, not to scale", fill=INK, font=small)
    return image


if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    # a palette PNG: flat colours and text stay sharp and the file stays a few KB
    draw().convert("P", palette=Image.Palette.ADAPTIVE, colors=32).save(OUT, optimize=True)
    print(f"{OUT} ({OUT.stat().st_size} bytes)")
