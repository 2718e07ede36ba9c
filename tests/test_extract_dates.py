"""The last-resort published date (htmldate) on pages that declare no date: written-out dates are still
read, in the page's language, without dateparser's every-locale set-up that cost seconds per process."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from worker.extract.document import parse
from worker.extract.metadata import extract_metadata

URL = "https://site.example/news/story"  # no date in the URL: the fallback is all there is
PROSE = " ".join(f"<p>Sentence {i} of a story that has enough words to be the article text.</p>" for i in range(6))


def page(dateline: str, lang: str | None = None) -> str:
    lang_attr = f' lang="{lang}"' if lang else ""
    return (f"<html{lang_attr}><head><title>A story</title></head><body><div class='content'>"
            f"<h1>A story</h1><div class='x'><span>{dateline}</span></div>{PROSE}</div></body></html>")


def published(html: str) -> datetime | None:
    return extract_metadata(parse(html), URL).published


def test_a_written_out_date_in_free_text_is_the_fallback() -> None:
    assert published(page("publiziert am 25. September 2018")) == datetime(2018, 9, 25, tzinfo=timezone.utc)


def test_a_date_in_the_pages_own_language_is_read() -> None:
    assert published(page("15 августа 2016, 13:43", lang="ru")) == datetime(2016, 8, 15, tzinfo=timezone.utc)
    assert published(page("le 3 mars 2019 à 14h", lang="fr-FR")) == datetime(2019, 3, 3, tzinfo=timezone.utc)


def test_the_earliest_written_date_is_the_publication() -> None:
    html = page("Veröffentlicht: 12. Mai 2020</span><span>Aktualisiert: 14. Mai 2020", lang="de")
    assert published(html) == datetime(2020, 5, 12, tzinfo=timezone.utc)


def test_the_fallback_never_sets_up_dateparser_for_every_language() -> None:
    """htmldate's own dateparser (all ~200 locales) is what made metadata slow; a fresh interpreter
    extracting pages of several languages must not have created it."""
    script = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from tests.test_extract_dates import page, published\n"
        "for text, lang in [('15 августа 2016, 13:43', None), ('15 августа 2016', 'ru'), ('Montag 12 Uhr Termin 2019 Juli', None),"
        " ('le 3 mars 2019', 'fr'), ('Zuletzt bearbeitet am 4. 2. 2022', 'de')]:\n"
        "    published(page(text, lang))\n"
        "from htmldate.extractors import get_external_parser\n"
        "print(get_external_parser.cache_info().currsize)\n"
    )
    root = str(Path(__file__).resolve().parent.parent)
    done = subprocess.run([sys.executable, "-c", script, root], capture_output=True, text=True, check=True, cwd=root)
    assert done.stdout.strip() == "0"


def test_numeric_dates_are_day_first_except_in_english() -> None:
    head = '<meta property="article:published_time" content="{}">'
    def with_meta(value: str, lang: str) -> datetime | None:
        html = page("", lang).replace("<title>", head.format(value) + "<title>")
        return published(html)
    assert with_meta("10/05/2022 05:22 pm", "es").date().isoformat() == "2022-05-10"
    assert with_meta("10/05/2022 05:22 pm", "en-US").date().isoformat() == "2022-10-05"
    assert with_meta("2022-05-04 10:00", "es").date().isoformat() == "2022-05-04"  # year first stays as written


def test_a_dateline_written_out_in_the_pages_language() -> None:
    html = page("Accueil | Par Loïc Le Clerc | 30 septembre 2018", lang="fr").replace(
        "<div class='x'>", "<div class='byline-date'>")
    assert published(html) == datetime(2018, 9, 30, tzinfo=timezone.utc)


def test_the_dateline_that_says_published_goes_first() -> None:
    lines = ('<span class="date">Wydrukowano: 2021-05-11 22:22</span>'
             '<span class="date">Opublikowano: 2021-04-29 17:13</span>')
    html = page("", lang="pl").replace("<div class='x'><span></span></div>", lines)
    assert published(html).date().isoformat() == "2021-04-29"
