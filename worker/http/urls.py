"""Links as found in feeds, sitemaps and listing pages → the one form discovery compares and stores.

The same article reaches us as `…/story?utm_source=rss#comments`, `…/story?fbclid=…` and `…/story`. If
those counted as three URLs the poller would ingest the article three times, so discovery strips what
only tracks the reader (never what selects content: other query parameters stay, in their order, with
their original percent-encoding, because `?id=7&page=2` may be the article itself).
"""
from __future__ import annotations

from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

#: Query parameters removed as pure click/campaign tracking (matched case-insensitively). Deliberately
#: conservative: a name like `ref` or `source` is left alone because some CMSs route on it.
TRACKING_PARAMS: frozenset[str] = frozenset({
    "fbclid",  # Facebook
    "gclid", "dclid", "gbraid", "wbraid", "gclsrc",  # Google Ads
    "msclkid",  # Microsoft Ads
    "yclid",  # Yandex
    "twclid", "ref_src", "ref_url",  # Twitter / X embeds
    "igshid", "igsh",  # Instagram
    "mc_cid", "mc_eid",  # Mailchimp
    "_ga", "_gl",  # Google Analytics cross-domain linker
    "_hsenc", "_hsmi", "__hssc", "__hstc", "__hsfp", "hsctatracking",  # HubSpot
    "mkt_tok",  # Marketo
    "vero_id", "vero_conv",  # Vero
    "oly_anon_id", "oly_enc_id",  # Omeda
    "rb_clickid", "s_cid", "wt.mc_id",  # Adobe / Webtrends campaign ids
})
#: Parameter-name prefixes removed: Google's utm_*, Piwik/Matomo pk_*/mtm_*, AT Internet at_*.
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "pk_", "mtm_", "at_medium", "at_campaign")

_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking_param(name: str) -> bool:
    key = unquote(name).strip().lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def strip_tracking(query: str) -> str:
    """The query without tracking parameters. Works on the raw string, not parse_qsl/urlencode, so the
    parameters that stay keep their exact encoding (`%20` stays `%20`, not `+`) and their order."""
    if not query:
        return ""
    kept = [pair for pair in query.split("&") if pair and not is_tracking_param(pair.split("=", 1)[0])]
    return "&".join(kept)


def is_http(url: str) -> bool:
    """True for an absolute http(s) URL with a host: the only links that can be articles."""
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed IPv6 bracket
        return False
    return parts.scheme in _DEFAULT_PORTS and bool(parts.netloc)


def join_http(base: str, href: str | None) -> str | None:
    """`href` resolved against `base` when that gives an http(s) URL with a host that urllib can take
    apart (port a number in range, IPv6 literal closed); None otherwise. Never raises: partner markup is
    full of broken links (`http://[::1`, `:99999`), and one of them must not cost the whole page."""
    if not href or not href.strip():
        return None
    try:
        absolute = urljoin(base, href.strip())
        parts = urlsplit(absolute)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0-65535
    except ValueError:
        return None
    return absolute if parts.scheme.lower() in _DEFAULT_PORTS and parts.hostname else None


def normalize_link(url: str, base: str | None = None) -> str:
    """Absolute URL, fragment dropped, tracking parameters dropped, scheme and host lowercased, default
    port dropped, empty path as `/`. Raises ValueError for a URL that cannot be parsed (bad port, bad
    IPv6 literal) so callers can skip that one link.

    Agrees with worker.schema.normalize_url on every part they share (user info is dropped there too),
    so a discovered URL maps to the same article id as the canonical URL the extractor finds.
    """
    absolute = urljoin(base, url.strip()) if base else url.strip()
    parts = urlsplit(absolute)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        # mailto:, javascript:, data: … are not articles; returned as-is (minus fragment) for the filter to drop
        return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
    host = parts.hostname or ""
    if ":" in host:  # hostname strips an IPv6 literal's brackets; the URL needs them back
        host = f"[{host}]"
    port = parts.port  # ValueError for a non-numeric or out-of-range port
    if port and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    return urlunsplit((scheme, host, parts.path or "/", strip_tracking(parts.query), ""))
