"""Sitemaps as real sites serve them: gzipped or not, XML or plain text, with or without lastmod.

The spider hands the body of a sitemap response to :func:`read_sitemap` and gets back its
entries; nothing here touches the network. What is read, and why it is read this way:

- gzip is recognised by its magic bytes, whatever the file name or content type
  (``.xml.gz`` served as ``application/octet-stream``, or gzipped twice), and decompressed
  up to the protocol's own limit of 50 MB: beyond it, the sitemap is a gzip bomb;
- each ``<url>`` (or ``<sitemap>``) entry is parsed on its own, with entities never expanded.
  An entity the parser does not know (``&eacute;``, or one declared in a DTD, as an XML bomb
  does) makes that one entry unreadable: it is counted, never stored as a URL cut off at the
  entity, and the entries after it are still read;
- a bare ``&`` in a URL (``?a=1&b=2``, a common slip) is read as the ampersand it means;
- a plain-text sitemap (one URL a line, allowed by the protocol) is read as such; anything
  else that is not a sitemap (an HTML error page) is named ``sitemap_not_xml``.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.utils import parsedate_to_datetime

from lxml import etree

MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps protocol's limit for one file, uncompressed
GZIP_MAGIC = b"\x1f\x8b"

_ROOT = re.compile(rb"<((?:[\w.-]+:)?(urlset|sitemapindex))\b[^>]*>")
_ENTRY = re.compile(rb"<((?:[\w.-]+:)?(?:url|sitemap))\b[^>]*>.*?</\1\s*>", re.S)
_BARE_AMP = re.compile(rb"&(?!#\d+;|#x[0-9a-fA-F]+;|[A-Za-z_][\w.-]*;)")
_ENTITY_DECL = re.compile(rb"<!ENTITY\s+%?\s*[\w.-]+\s+(SYSTEM|PUBLIC|[\"'][^\"']*[\"'])", re.I)
# Entities are never expanded; the parser must not fetch anything or build a huge tree either.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, recover=False, huge_tree=False)


class SitemapError(ValueError):
    """A sitemap that cannot be read at all; ``kind`` names why, for the crawl counts."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


@dataclass
class Entry:
    loc: str
    lastmod: str | None = None  # as written; :func:`parse_lastmod` reads it


@dataclass
class Sitemap:
    kind: str  # "urlset", "sitemapindex" or "text"
    entries: list[Entry] = field(default_factory=list)
    bad_entries: int = 0  # entries that could not be read (an entity, broken markup): skipped
    problems: list[str] = field(default_factory=list)  # named oddities that did not stop the reading


def gunzip_capped(data: bytes, limit: int = MAX_SITEMAP_BYTES) -> bytes:
    """``data`` decompressed while it starts with the gzip magic bytes (layer after layer), never beyond ``limit``."""
    while data[:2] == GZIP_MAGIC:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = inflater.decompress(data, limit + 1)
        except zlib.error as exc:
            raise SitemapError(f"gzip data is corrupt ({exc})", "sitemap_bad_gzip") from None
        if len(out) > limit:
            raise SitemapError(f"decompresses to more than {limit // (1024 * 1024)} MB", "sitemap_gzip_bomb")
        if not inflater.eof:
            raise SitemapError("gzip data ends before its end marker (truncated or corrupt)", "sitemap_bad_gzip")
        data = out
    return data


def read_sitemap(body: bytes) -> Sitemap:
    """The entries of a sitemap or sitemap index (gzipped or not); raises :class:`SitemapError`."""
    data = gunzip_capped(body).lstrip(b"\xef\xbb\xbf \t\r\n")
    root = _ROOT.search(data)
    if root is None:
        return _text_sitemap(data)
    prolog = data[: root.start()]
    problems = []
    declared = _ENTITY_DECL.findall(prolog)
    if declared:
        # Never expanded, so harmless here; named, because a sitemap declaring entities is
        # either an XML bomb (entities built from entities) or an XXE attempt (SYSTEM/PUBLIC).
        nested = any(d.upper() in (b"SYSTEM", b"PUBLIC") or b"&" in d for d in declared)
        problems.append("sitemap_xml_bomb" if nested else "sitemap_dtd_entities")
    open_tag, qname = root.group(0), root.group(1)
    close_tag = b"</" + qname + b">"
    sitemap = Sitemap(kind=root.group(2).decode(), problems=problems)
    for match in _ENTRY.finditer(data, root.end()):
        # Parsed inside the root's own start tag, so its namespace prefixes (image:, news:) are declared.
        entry = _entry(open_tag + _BARE_AMP.sub(b"&amp;", match.group(0)) + close_tag)
        if entry is None:
            sitemap.bad_entries += 1
        else:
            sitemap.entries.append(entry)
    return sitemap


def _entry(xml: bytes) -> Entry | None:
    try:
        element = etree.fromstring(xml, _PARSER)[0]
    except (etree.XMLSyntaxError, IndexError):
        return None
    loc = lastmod = published = None
    for child in element.iter():
        if not isinstance(child.tag, str):  # comments, processing instructions
            continue
        name = etree.QName(child).localname
        if name == "loc" and loc is None and child.getparent() is element:
            loc = (child.text or "").strip()
        elif name == "lastmod" and child.getparent() is element:
            lastmod = (child.text or "").strip() or None
        elif name == "publication_date":  # Google News sitemaps date the article here
            published = (child.text or "").strip() or None
    if not loc:
        return None
    return Entry(loc=loc, lastmod=lastmod or published)


def _text_sitemap(data: bytes) -> Sitemap:
    lines = [line.strip() for line in data.decode("utf-8", errors="replace").splitlines() if line.strip()]
    if lines and all(re.fullmatch(r"https?://\S+", line) for line in lines):
        return Sitemap(kind="text", entries=[Entry(loc=line) for line in lines])
    start = data[:60].decode("utf-8", errors="replace").strip().replace("\n", " ")
    raise SitemapError(f"not a sitemap (starts {start!r})", "sitemap_not_xml")


def robots_sitemaps(text: str) -> list[str]:
    """The URLs of the ``Sitemap:`` lines of a robots.txt, in order, each once."""
    found = []
    for line in text.splitlines():
        key, _, value = line.partition(":")
        value = value.split("#", 1)[0].strip()
        if key.strip().lower() == "sitemap" and value and value not in found:
            found.append(value)
    return found


def parse_lastmod(text: str | None) -> datetime | None:
    """A sitemap ``lastmod`` (W3C datetime, or the RFC 822 form some sites write) as an aware datetime.

    A date without a time is midnight UTC; a time without a zone is taken as UTC.

    >>> parse_lastmod("2024-05-01T10:00:00+02:00") == parse_lastmod("2024-05-01T08:00Z")
    True
    """
    if not text:
        return None
    text = text.strip()
    value: datetime | None = None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        if m := re.fullmatch(r"(\d{4})(?:-(\d{2}))?", text):
            try:
                value = datetime(int(m.group(1)), int(m.group(2) or 1), 1)
            except ValueError:
                return None
        else:
            try:
                value = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


_PATH_DATE = re.compile(r"/((?:19|20)\d{2})[/-](0[1-9]|1[0-2])(?:[/-](0[1-9]|[12]\d|3[01]))?(?=[/_.-]|$)")


def date_in_path(path: str) -> datetime | None:
    """The latest moment a dated URL path (``/2023/05/``, ``/2023-05-12/``) can stand for, or None.

    A month alone stands for its last day, so an article of that month is never taken for older than it is.

    >>> date_in_path("/research/2023/05/some-title")
    datetime.datetime(2023, 5, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)
    """
    m = _PATH_DATE.search(path)
    if not m:
        return None
    year, month = int(m.group(1)), int(m.group(2))
    try:
        if m.group(3):
            day = date(year, month, int(m.group(3)))
        else:
            day = (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)
    except ValueError:
        return None
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
