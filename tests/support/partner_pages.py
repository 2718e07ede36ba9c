"""The generated partner site's text and documents (tests/support/partner_site.py serves them).

Text is drawn word by word from a 300-word vocabulary with a per-article random generator: two articles
then share almost no word 5-shingles (MinHash similarity ~0), so near-duplicate detection must never
match different articles, while every page of one story (canonical, AMP, copies) carries the same words.
Pages follow the shape of tests/fixtures/partners/theepochtimes/*.html: JSON-LD, OpenGraph, a canonical
link, site chrome around one <article>.
"""
from __future__ import annotations

import json
import random
import re
from datetime import datetime
from email.utils import format_datetime
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.support.partner_site import PartnerSite, Story

SECTIONS = ["World News", "US News", "Business", "Science", "Health", "Culture", "Sports", "Technology"]
FIRST_NAMES = ["Henry", "Alice", "Mara", "Tomas", "Lena", "Omar", "Priya", "Jonas", "Grace", "Felix", "Nadia",
               "Victor", "Ines", "Samuel", "Ruth", "Kenji", "Olga", "Pedro", "Hana", "Lucas"]
LAST_NAMES = ["Bevington", "Castellano", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Novak", "Haddad", "Fischer",
              "Brennan", "Sato", "Kowalski", "Duarte", "Whitfield", "Aziz", "Larsen", "Petrov", "Quinn", "Reyes",
              "Yilmaz"]
VOCABULARY = ["council", "harbour", "budget", "winter", "rail", "bridge", "farmers", "export", "vaccine", "clinic", "survey", "drought", "river", "senator", "court", "ruling", "appeal", "museum", "festival", "orchestra", "league", "striker", "coach", "injury", "transfer", "satellite", "launch", "orbit", "probe", "telescope", "galaxy", "battery", "factory", "wages", "union", "strike", "tariff", "market", "shares", "investors", "bank", "lending", "inflation", "housing", "rent", "tenants", "mayor", "district", "school", "teachers", "pupils", "exam", "curriculum", "library", "archive", "manuscript", "painting", "gallery", "auction", "collector", "wildfire", "evacuation", "forest", "rangers", "coastline", "storm", "flooding", "levee", "pumps", "engineers", "tunnel", "highway", "traffic", "cyclists", "pedestrians", "airport", "runway", "airline", "pilots", "cargo", "port", "shipping", "containers", "customs", "border", "patrol", "migrants", "asylum", "shelter", "volunteers", "charity", "donors", "hospital", "nurses", "surgeons", "patients", "waiting", "treatment", "trial", "researchers", "genome", "protein", "enzyme", "cells", "mice", "dosage", "regulator", "agency", "licence", "spectrum", "network", "broadband", "rural", "villages", "mountain", "pass", "glacier", "melting", "scientists", "sensors", "data", "software", "outage", "hackers", "ransom", "police", "inquiry", "witness", "evidence", "jury", "verdict", "sentence", "prison", "reform", "parliament", "coalition", "opposition", "minister", "cabinet", "reshuffle", "election", "ballot", "turnout", "polling", "campaign", "donors", "mining", "copper", "lithium", "smelter", "emissions", "carbon", "solar", "turbines", "grid", "reactor", "uranium", "pipeline", "refinery", "diesel", "prices", "drivers", "freight", "trucks", "warehouse", "retailers", "shoppers", "discount", "supply", "chain", "shortage", "grain", "wheat", "harvest", "orchard", "vineyard", "fishermen", "quota", "trawlers", "reef", "coral", "divers", "tourists", "hotels", "beaches", "ferry", "island", "lighthouse", "volcano", "eruption", "ash", "flights", "cancelled", "travellers", "stranded", "embassy", "diplomats", "summit", "treaty", "sanctions", "negotiators", "ceasefire", "convoy", "aid", "refugees", "camp", "water", "sanitation", "engineers", "rebuilt", "stadium", "tickets", "fans", "referee", "penalty", "final", "trophy", "marathon", "runners", "record", "swimmer", "medal", "gymnast", "judges", "theatre", "premiere", "director", "actors", "script", "novel", "author", "publisher", "prize", "poetry", "reading", "translation", "language", "dialect", "teachers", "scholarship", "university", "campus", "students", "protest", "tuition", "loans", "graduates", "employers", "hiring", "startup", "founders", "venture", "funding", "valuation", "merger", "regulators", "antitrust", "lawsuit", "settlement", "damages", "insurers", "claims", "premiums", "storm", "season", "forecast", "meteorologists", "rainfall", "temperature", "heatwave", "cooling"]
CONNECTORS = ["said", "reported", "argued", "warned", "confirmed", "noted", "announced", "estimated"]


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def headline(rng: random.Random, index: int) -> str:
    words = [rng.choice(VOCABULARY) for _ in range(rng.randint(5, 8))]
    return " ".join(w.capitalize() for w in words) + f" in Region {index}"


def slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(VOCABULARY) for _ in range(rng.randint(12, 22))]
    words.insert(rng.randint(3, len(words) - 3), f"{rng.choice(CONNECTORS)} {person(rng)}")
    if rng.random() < 0.4:
        words.insert(rng.randint(1, len(words) - 1), f"{rng.randint(2, 980)}")
    sentence = " ".join(words)
    return sentence[0].upper() + sentence[1:] + "."


def paragraphs(rng: random.Random, count: int) -> list[str]:
    return [" ".join(_sentence(rng) for _ in range(rng.randint(3, 5))) for _ in range(count)]


# --- documents ---------------------------------------------------------------------------------------

def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _json_ld(story: Story, url: str, publisher: str, site: PartnerSite, section: str) -> str:
    data = {
        "@context": "https://schema.org", "@type": "NewsArticle", "mainEntityOfPage": url,
        "headline": story.headline, "description": story.description,
        "datePublished": _iso(story.published), "dateModified": _iso(story.updated),
        "author": {"@type": "Person", "name": story.byline}, "articleSection": section,
        "image": {"@type": "ImageObject", "url": site.url(f"/images/{story.slug}.jpg"), "width": 1200, "height": 800},
        "publisher": {"@type": "Organization", "name": publisher},
    }
    return '<script type="application/ld+json">' + json.dumps(data) + "</script>"


def _head(story: Story, site: PartnerSite, canonical: str, site_name: str, section: str, extra: str = "") -> str:
    return (
        f'<meta charset="utf-8"><title>{escape(story.headline)} | {escape(site_name)}</title>\n'
        f'<meta name="description" content="{escape(story.description)}">\n'
        f'<link rel="canonical" href="{escape(canonical)}">{extra}\n'
        f'<meta property="og:type" content="article"><meta property="og:site_name" content="{escape(site_name)}">\n'
        f'<meta property="og:title" content="{escape(story.headline)}"><meta property="og:url" content="{escape(canonical)}">\n'
        f'<meta property="og:image" content="{site.url(f"/images/{story.slug}.jpg")}">\n'
        f'<meta property="article:published_time" content="{_iso(story.published)}">\n'
        f'<meta property="article:modified_time" content="{_iso(story.updated)}">\n'
        f'<meta property="article:section" content="{escape(section)}"><meta name="author" content="{escape(story.byline)}">\n'
    )


def _chrome_top(site: PartnerSite, site_name: str) -> str:
    links = "".join(f'<li><a href="{site.url("/news/")}?s={slug(s)}">{escape(s)}</a></li>' for s in SECTIONS)
    return (f'<header class="site-header"><a class="logo" href="{site.url("/")}">{escape(site_name)}</a>'
            f'<nav><ul>{links}</ul></nav><a class="subscribe-btn" href="{site.url("/subscribe")}">Subscribe</a></header>')


def _chrome_bottom(site: PartnerSite, site_name: str) -> str:
    return (f'<footer class="site-footer"><p>Copyright 2024 {escape(site_name)}. All rights reserved.</p>'
            f'<ul><li><a href="{site.url("/about")}">About us</a></li><li><a href="{site.url("/privacy")}">Privacy</a>'
            "</li><li><a href=\"#top\">Back to top</a></li></ul></footer>")


def _byline(story: Story) -> str:
    return (f'<div class="byline"><span class="author-name">By {escape(story.byline)}</span> '
            f'<time class="publish" datetime="{_iso(story.published)}">{story.published:%B %d, %Y}</time></div>')


def _body(story: Story, closing: str = "") -> str:
    paras = "\n".join(f"<p>{escape(p)}</p>" for p in story.paragraphs)
    return f'<div class="post-content">\n{paras}\n{closing}</div>'


def article_page(site: PartnerSite, story: Story, linked: bool = False) -> str:
    canonical = site.article_url(story.index)
    return (
        f'<!DOCTYPE html>\n<html lang="en-US">\n<head>\n{_head(story, site, canonical, site.name, story.section)}'
        f'{_json_ld(story, canonical, site.name, site, story.section)}\n</head>\n<body class="single">\n{_chrome_top(site, site.name)}\n'
        f'<main><article class="post">\n<div class="post-meta-top"><span class="category">{escape(story.section)}</span></div>\n'
        f'<h1 class="post-title">{escape(story.headline)}</h1>\n{_byline(story)}\n{_body(story)}\n</article>\n'
        f'<aside class="newsletter"><h3>Get the morning briefing</h3><p>Sign up for our newsletter.</p></aside></main>\n'
        f"{_chrome_bottom(site, site.name)}\n</body>\n</html>\n"
    )


def amp_page(site: PartnerSite, story: Story, linked: bool = False) -> str:
    """Google AMP: the same story, stripped-down chrome, canonical link to the article page."""
    canonical = site.article_url(story.index)
    return (
        f'<!doctype html>\n<html amp lang="en">\n<head>\n{_head(story, site, canonical, site.name, story.section)}'
        '<meta name="viewport" content="width=device-width"><script async src="https://cdn.ampproject.org/v0.js"></script>\n'
        f'{_json_ld(story, canonical, site.name, site, story.section)}\n</head>\n<body>\n'
        f'<header class="amp-header"><a href="{site.url("/")}">{escape(site.name)}</a></header>\n'
        f'<article class="amp-article">\n<h1>{escape(story.headline)}</h1>\n{_byline(story)}\n{_body(story)}\n</article>\n'
        f"{_chrome_bottom(site, site.name)}\n</body>\n</html>\n"
    )


def copy_page(site: PartnerSite, story: Story, linked: bool = False) -> str:
    """Another outlet's re-syndicated copy: its own chrome and section, the story's text, and the closing
    "From <partner>" line; `linked` points its canonical link at the original."""
    from tests.support.partner_site import WIRE_NAME

    own = site.copy_url(story.index, canonical_to_original=linked)
    canonical = site.article_url(story.index) if linked else own
    closing = f"<p>From {escape(site.name)}</p>\n"
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n{_head(story, site, canonical, WIRE_NAME, "Syndicated")}'
        f'{_json_ld(story, canonical, WIRE_NAME, site, "Syndicated")}\n</head>\n<body>\n{_chrome_top(site, WIRE_NAME)}\n'
        f'<main><article class="wire-story">\n<h1>{escape(story.headline)}</h1>\n{_byline(story)}\n'
        f"{_body(story, closing)}\n</article></main>\n{_chrome_bottom(site, WIRE_NAME)}\n</body>\n</html>\n"
    )


def rss(site: PartnerSite, stories: list[Story]) -> str:
    items = []
    for story in sorted(stories, key=lambda s: s.published, reverse=True):
        items.append(
            f"<item><title>{escape(story.headline)}</title><link>{site.article_url(story.index)}</link>"
            f'<guid isPermaLink="false">{story.slug}</guid><dc:creator>{escape(story.byline)}</dc:creator>'
            f"<pubDate>{format_datetime(story.published, usegmt=True)}</pubDate>"
            f"<atom:updated>{_iso(story.updated)}</atom:updated><category>{escape(story.section)}</category>"
            f"<description>{escape(story.description)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:atom="http://www.w3.org/2005/Atom">\n'
        f"<channel><title>{escape(site.name)}</title><link>{site.listing_url}</link>"
        f"<description>News from {escape(site.name)}</description>\n" + "\n".join(items) + "\n</channel></rss>\n"
    )


def sitemap(site: PartnerSite, stories: list[Story]) -> str:
    urls = "\n".join(f"<url><loc>{site.article_url(s.index)}</loc><lastmod>{_iso(s.updated)}</lastmod></url>"
                     for s in stories)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{urls}\n</urlset>\n")


def listing(site: PartnerSite, stories: list[Story], page: int, next_path: str | None) -> str:
    cards = "\n".join(
        f'<li class="card"><a class="story-link" href="{site.article_path(s.index)}">{escape(s.headline)}</a>'
        f'<p class="teaser">{escape(s.description)}</p></li>' for s in stories
    )
    pager = f'<a class="next" rel="next" href="{next_path}">Next page</a>' if next_path else ""
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>News, page {page} | {escape(site.name)}'
        f"</title></head>\n<body>{_chrome_top(site, site.name)}\n<main><h1>Latest news</h1>\n"
        f'<ul class="stories">\n{cards}\n</ul>\n{pager}</main>\n'
        f'<aside class="trending">Trending now, edition {site.listing_generation}</aside>\n'
        f"{_chrome_bottom(site, site.name)}</body></html>\n"
    )
