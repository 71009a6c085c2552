"""Turn a fetched page (HTML or PDF) into title, authors, publication date and body text.

The page is parsed once; the tree goes to our structured-data readers, to trafilatura (the
body) and to htmldate (the date). Title and authors: per-source CSS overrides if configured,
then JSON-LD (``Article``, ``NewsArticle``, ``Report``...), then ``<meta>``/OpenGraph and
``citation_*`` tags, then the visible text (a byline, an authors field, the heading). Date: the
override, a visible microdata ``datePublished``, the dateline under the headline, then
htmldate, with our own JSON-LD/meta/``<time>``/visible reading where htmldate has none. The body
keeps one paragraph per line; boilerplate stays out. ``bench/extract_eval.py`` measures all
this on real pages.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time

from lxml import html as lxml_html

from policytrends.corpus.dates import EARLIEST, parse_date, plausible
from policytrends.errors import PolicyTrendsError

# Shorter than this is a stub, an error page or a script-drawn shell ("You need to enable
# JavaScript to run this app.": 9 words); a short real blog post has 18.
MIN_BODY_WORDS = 15
# A page with fewer words of its own than this and a link to a PDF in its content introduces
# the PDF (a publications page): the PDF is the article, the page is not stored.
PDF_PAGE_WORDS = 60
MAX_PDF_PAGES = 300  # reports are rarely longer; a hostile PDF with 100,000 pages would take hours to lay out
ARTICLE_TYPES = {
    "article", "newsarticle", "report", "blogposting", "scholarlyarticle", "analysisnewsarticle",
    "opinionnewsarticle", "reportagenewsarticle", "techarticle", "webpage",
}


# UTF-8 read as cp1252/latin-1 leaves these pairs behind ("â€™" for "’", "Ã©" for "é").
_MOJIBAKE = re.compile("[\u00c2\u00c3\u00e2][\u0080-\u00bf\u20ac\u2018-\u201e\u2122\u0152\u0153\u0160\u0161\u017d\u017e\u0178]")


class ExtractionError(PolicyTrendsError, ValueError):
    """The page has no usable article: the message says what is missing, ``kind`` names it for counts."""

    def __init__(self, message: str, kind: str = "unusable"):
        super().__init__(message)
        self.kind = kind


@dataclass
class Extracted:
    title: str
    authors: list[str]
    published: date | None
    body: str
    method: str  # which evidence gave the body and metadata, e.g. "json-ld+trafilatura"
    canonical_url: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def paragraphs(self) -> list[str]:
        return [p for p in self.body.split("\n") if p.strip()]

    def to_dict(self) -> dict:
        return {
            "title": self.title,
            "authors": self.authors,
            "published": self.published.isoformat() if self.published else None,
            "paragraphs": self.paragraphs,
            "method": self.method,
        }


# --------------------------------------------------------------------------- HTML
def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _jsonld_objects(tree) -> list[dict]:
    objs: list[dict] = []

    def walk(node):
        if isinstance(node, list):
            for n in node:
                walk(n)
        elif isinstance(node, dict):
            objs.append(node)
            if "@graph" in node:
                walk(node["@graph"])

    for script in tree.xpath('//script[@type="application/ld+json"]'):
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            walk(json.loads(raw))
        except json.JSONDecodeError:
            continue  # broken JSON-LD is common: fall through to meta tags
    return objs


def _types(obj: dict) -> set[str]:
    t = obj.get("@type", [])
    return {str(x).lower() for x in (t if isinstance(t, list) else [t])}


def _names(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return _names(value.get("name"))
    if isinstance(value, list):
        return [n for v in value for n in _names(v)]
    return []


def _meta(tree, *names: str) -> list[str]:
    out = []
    for name in names:
        for el in tree.xpath(f'//meta[@property="{name}" or @name="{name}" or @itemprop="{name}"]'):
            value = _clean(el.get("content"))
            if value:
                out.append(value)
    return out


def _split_people(text: str) -> list[str]:
    text = re.sub(r"^\s*by\s+", "", text, flags=re.I)
    parts = re.split(r"\s*(?:,|;|\band\b|&)\s*", text)
    return [p for p in (_clean(x) for x in parts) if p and len(p.split()) <= 5]


def _dedupe(items: list[str]) -> list[str]:
    seen: set[str] = set()
    return [x for x in items if not (x.lower() in seen or seen.add(x.lower()))]


_DATE_HINT_XPATH = "|".join(
    f'//*[contains(concat(" ", translate(@class, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"), " "), "{h}")]'
    for h in ("date", "byline", "submitted", "published", "posted", "meta", "time")
)
_BYLINE = re.compile(r"^\s*By\s+(.+?)(?:\s*[|·•]\s*|\s*$)", re.I)
# Short lines that point elsewhere ("Read more: ...", "Lea también: ...") or sell something
# (newsletter, subscription, follow us, copyright): not the article, in the languages seen.
_RELATED_LINE = re.compile(
    r"^\s*(read (more|also|next)|see also|related( (stories|articles|content|posts|reading))?|more on this|recommended"
    r"|lea (también|más|además)|lee (también|más)|lea\b|vea también|ver también|mira\b|le puede interesar|te puede interesar"
    r"|notas? relacionadas?|contenido relacionado|lesen sie (auch|mehr)|mehr zum thema|auch interessant|siehe auch"
    r"|das könnte sie (auch )?interessieren|(à )?lire aussi|voir aussi|leggi anche|lees ook|leia (também|mais))\s*[:!.\-–—]?",
    re.I)
_PROMO_LINE = re.compile(
    r"^\s*(subscribe|sign up|follow (us|the \w+|\w+) on|download|herunterladen|télécharger|to (view|read) the full|if you.re (seeing|already))\b"
    r"|^\s*(access options|get access|(purchase|buy|rent) (this|the) article)\b"
    r"|\b(newsletter|all rights reserved|subscribers?)\b|©", re.I)
# Advertising disclosures, taxonomy labels and a table of contents' heading.
_LABEL_LINE = re.compile(
    r"^\s*\*?\(?(werbung|anzeige|advertisement|sponsored( content)?|this (post|article|page) contains (affiliate|references)"
    r"|we (may )?(earn|receive) (a )?commission|we recommend the best products)\b"
    r"|^\s*(kategorie|kategorien|category|categories|tags?|schlagworte?|topics?|themen?)\s*:"
    r"|^\s*(inhaltsverzeichnis|table of contents|contents)\s*$", re.I)
BOILERPLATE_LINE_WORDS = 30  # a line this short that matches the patterns above is dropped; a paragraph is kept


def _visible_byline(tree) -> list[str]:
    for el in tree.xpath('//*[self::p or self::div or self::span][starts-with(normalize-space(.), "By ")]'):
        text = _clean(el.text_content())
        if len(text) > 200:
            continue
        m = _BYLINE.match(text)
        if m:
            names = [n for n in _split_people(m.group(1)) if not parse_date(n)]
            if names:
                return names
    return []


def _author_field_links(tree) -> list[str]:
    for field_el in tree.xpath('//*[contains(@class, "field-authors") or contains(@class, "field-author")'
                               ' or contains(@class, "field--name-field-author")]'):
        names = [_clean(a.text_content()) for a in field_el.xpath(".//a")]
        names = [n for n in names if 0 < len(n.split()) <= 5]
        if names:
            return names
    return []


def _select(tree, selector: str) -> list:
    """Elements matching a CSS selector, or an XPath expression when it starts with '/' or '('."""
    if selector.lstrip().startswith(("/", "(", "./")):
        return [el for el in tree.xpath(selector) if hasattr(el, "text_content")]
    from lxml.cssselect import CSSSelector

    return CSSSelector(selector)(tree)


def _body_from_selector(tree, selector: str) -> str:
    found = _select(tree, selector)
    if not found:
        return ""
    paras = [_clean(p.text_content()) for p in found[0].xpath(".//p")] or [_clean(found[0].text_content())]
    return "\n".join(p for p in paras if p)


def _lines(text: str | None) -> str:
    return "\n".join(_clean(line) for line in (text or "").split("\n") if _clean(line))


def _body_trafilatura(tree, url: str | None) -> str:
    """trafilatura's main text of the parsed page (it works on a copy: ours stays whole).

    Tables stay in: layout tables often hold the body text. When the default, precise reading
    finds less than an article (a page whose main block trafilatura mistakes for the site's
    slogan), it reads again favouring recall; a page with no article stays too short either way.
    """
    import trafilatura

    body = ""
    for recall in (False, True):
        doc = trafilatura.bare_extraction(tree, url=url, include_comments=False, include_tables=True,
                                          include_images=False, deduplicate=False, favor_recall=recall)
        body = _lines(doc.text if doc is not None else "")
        if count_words(body) >= MIN_BODY_WORDS:
            break
    return body


def _trafilatura_title(tree) -> str | None:
    from trafilatura.metadata import extract_title

    return extract_title(tree)


def _htmldate(tree, url: str | None, today: date) -> datetime | None:
    """htmldate's ``find_date(original_date=True)`` on the parsed page (it copies the tree),
    with the time of day it read (midnight when it read none)."""
    from htmldate import find_date

    found = find_date(tree, url=url, original_date=True, extensive_search=True, outputformat="%Y-%m-%dT%H:%M:%S",
                      min_date=EARLIEST.isoformat(), max_date=today.isoformat())
    return datetime.fromisoformat(found) if found and plausible(date.fromisoformat(found[:10]), today) else None


_URL_DATE = re.compile(r"\D((?:19|20)\d\d)[/_-](\d{1,2})[/_-](\d{1,2})(?:\D|$)")


def _url_date(url: str | None) -> date | None:
    """The date a URL is filed under (``/2019/01/01/a-post``)."""
    m = _URL_DATE.search(url or "")
    try:
        return date(*map(int, m.groups())) if m else None
    except ValueError:
        return None


def _select_text(tree, selector: str) -> str:
    found = _select(tree, selector)
    return _clean(found[0].text_content()) if found else ""


def decode_html(data: bytes, declared: str | None = None) -> str:
    """Bytes to text. Bytes that are valid UTF-8 are UTF-8 whatever the server declares (a
    wrong ``charset`` is common), and so are UTF-8 pages with a few stray single-byte
    characters (pasted from a Latin-1 source); otherwise the declared charset, then cp1252."""
    return decode_with(data, declared)[0]


_ESCAPED = re.compile("[\udc80-\udcff]")  # bytes that are not UTF-8, as surrogateescape leaves them


def _single_byte(m: re.Match) -> str:
    byte = bytes([ord(m.group()) - 0xDC00])
    try:
        return byte.decode("cp1252")
    except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
        return byte.decode("latin-1")


def _mostly_utf8(data: bytes) -> str | None:
    """The text if ``data`` is UTF-8 apart from a few stray bytes (read as cp1252), else None.

    Text in a single-byte charset is almost never valid UTF-8 beyond a few accidents, so
    many valid multi-byte sequences against few invalid bytes means UTF-8 with strays.
    """
    text = data.decode("utf-8", errors="surrogateescape")
    stray = len(_ESCAPED.findall(text))
    multibyte = sum(1 for c in text if ord(c) > 0x7F) - stray
    return _ESCAPED.sub(_single_byte, text) if multibyte >= 4 * stray else None


def decode_with(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """(text, the encoding that decoded it): see :func:`decode_html`."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    text = _mostly_utf8(data)
    if text is not None:
        return text, "utf-8"
    for enc in filter(None, [declared, "cp1252"]):
        try:
            return data.decode(enc), enc
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1"), "latin-1"  # cp1252 has five holes; latin-1 decodes every byte


def charset_corrected(declared: str | None, used: str) -> bool:
    """Whether the server declared a charset other than the one the bytes are in."""
    import codecs

    if not declared:
        return False
    try:
        return codecs.lookup(declared).name != codecs.lookup(used).name
    except LookupError:  # a charset name nobody knows: wrong by definition
        return True


def parse_html(html_text: str):
    """The page as one lxml tree, parsed as trafilatura parses it (comments and processing
    instructions dropped; a page that starts with an XML declaration is read too)."""
    from trafilatura.utils import load_html

    try:
        tree = load_html(html_text)
    except (ValueError, TypeError, lxml_html.etree.ParserError) as exc:
        raise ExtractionError(f"unparseable HTML: {exc}", "unparseable") from None
    if tree is None:
        raise ExtractionError("unparseable HTML: no HTML document in the page", "unparseable")
    return tree


def _microdata_date(tree, today: date | None) -> date | None:
    """A visible element marked ``itemprop="datePublished"``: the page's own markup says which
    date is the publication date, where meta tags and JSON-LD often carry a UTC timestamp
    (a day off the local date) or the date of a re-indexing."""
    for el in tree.xpath('//*[@itemprop="datePublished"][not(self::meta)]'):
        d = parse_date(el.get("datetime") or el.get("content") or _clean(el.text_content())[:100], today)
        if d:
            return d
    return None


# A dateline is a short line ("12 March 2021", "Updated Mar 12, 2020 @ 10:42 am", "Stand:
# 28.04.2020 18:00 Uhr") among the first text nodes after the headline; a date further down
# or inside a sentence is the article's subject, a teaser's or a comment's. On htmldate's
# 1,000 evaluation pages a dateline dates 443 and is right on 432; where it overrode the
# earlier choice (htmldate, JSON-LD, meta) it was right 28 times and wrong 5.
DATELINE_NODES = 10
DATELINE_CHARS = 100
_INLINE = {"a", "span", "strong", "b", "em", "i", "small", "time", "abbr", "font", "u", "sup", "sub", "mark", "cite", "label"}


def _headline(tree, title: str):
    """The page's headline element: the ``<h1>`` that holds most of the title; else the only
    ``<h1>``. A site's logo may be an ``<h1>`` too (its name then is a small part of the title)."""
    headings = [(h, _clean(h.text_content()).casefold()) for h in tree.iter("h1")]
    headings = [(h, text) for h, text in headings if text]
    wanted = _clean(title).casefold()
    for h, text in headings:
        if wanted and (wanted in text or (text in wanted and 2 * len(text) >= len(wanted))):
            return h
    return headings[0][0] if len(headings) == 1 else None


def _dateline_date(tree, title: str, today: date | None) -> date | None:
    """The date on the short line just under the headline, the one the reader sees. Where the
    page shows one, it is the site's own choice of date; meta tags and JSON-LD disagree with it
    when they carry a UTC timestamp (a day off), the first publication of an updated article,
    or the date of a re-indexing."""
    heading = _headline(tree, title)
    if heading is None:
        return None
    texts = heading.xpath("following::text()[normalize-space()][position() <= $n]", n=DATELINE_NODES)
    for text in texts:
        line = text.getparent()
        if text.is_tail and line is not None:  # text after an element belongs to that element's parent
            line = line.getparent()
        while line is not None and line.tag in _INLINE:  # the line is the whole block
            line = line.getparent()
        if line is None or line.tag in ("script", "style", "noscript", "template"):
            continue
        if len(_clean(line.text_content())) > DATELINE_CHARS:
            continue
        d = parse_date(text, today)
        if d:
            return d
    return None


def _structured_date(tree, ld: dict | None, today: date | None, visible: bool = True) -> tuple[date | None, str | None]:
    """Our own reading of the date: JSON-LD, meta tags, ``<time>``, then (if ``visible``,
    as it is slow) the visible text."""
    if ld:
        d = parse_date(str(ld.get("datePublished") or ""), today)
        if d:
            return d, "json-ld"
    d = parse_date(" ".join(_meta(tree, "article:published_time", "og:published_time", "citation_publication_date",
                                  "dc.date", "date", "pubdate", "datePublished")), today)
    if d:
        return d, "meta"
    d = parse_date(" ".join(t.get("datetime") or t.text_content() for t in tree.xpath("//time")), today)
    if d:
        return d, "time"
    if not visible:
        return None, None
    # Visible dates: first in elements whose class says they hold one (byline, submitted,
    # date...), so a date in a header box or a teaser does not win; then anywhere near the top.
    d = next((d for d in (parse_date(_clean(el.text_content())[:300], today) for el in tree.xpath(_DATE_HINT_XPATH)) if d), None)
    if not d:
        body_el = tree.xpath("//body")
        # itertext with spaces: minified HTML has no whitespace between elements.
        d = parse_date(_clean(" ".join(body_el[0].itertext()))[:3000] if body_el else "", today)
    return (d, "visible-date") if d else (None, None)


def _boilerplate_line(line: str) -> bool:
    return len(line.split()) <= BOILERPLATE_LINE_WORDS and bool(
        _RELATED_LINE.match(line) or _PROMO_LINE.search(line) or _LABEL_LINE.search(line))


_DOWNLOAD = re.compile(r"download|\bpdf\b|full (report|text|paper)|read the (report|paper)|herunterladen|télécharger|descargar|scarica", re.I)


def _pdf_link(tree, url: str | None) -> str | None:
    """The PDF the page's content offers as its document: a link to a .pdf file whose text,
    title or class says download or PDF (a privacy policy's PDF in a footer is not one)."""
    from urllib.parse import urljoin, urlsplit

    for a in tree.xpath('//a[@href][not(ancestor::nav or ancestor::header or ancestor::footer or ancestor::aside)]'):
        href = urljoin(url or "", a.get("href").strip())
        if not urlsplit(href).path.lower().endswith(".pdf"):
            continue
        if _DOWNLOAD.search(" ".join((a.text_content(), a.get("title") or "", a.get("class") or ""))):
            return href
    return None


def extract_html(html_text: str, url: str | None = None, selectors: dict[str, str] | None = None, today: date | None = None) -> Extracted:
    """Extract one article from an HTML page. Raises ExtractionError when there is none.

    One parse: the tree goes to our structured-data readers, to trafilatura (metadata and main
    text) and through it to htmldate (the date).
    """
    if "\x00" in html_text[:2048]:
        raise ExtractionError("binary content served as HTML", "binary")
    tree = parse_html(html_text)
    today = today or date.today()
    selectors = selectors or {}
    methods: list[str] = []

    # The article's own object: a WordPress (Yoast) graph lists the WebPage before the Article.
    found = [o for o in _jsonld_objects(tree) if _types(o) & ARTICLE_TYPES and (o.get("headline") or o.get("name"))]
    ld = next((o for o in found if _types(o) & ARTICLE_TYPES - {"webpage"}), found[0] if found else None)

    # Title: a logo's empty <h1> is no title; <title> is the last resort.
    title = _select_text(tree, selectors["title"]) if "title" in selectors else ""
    if not title and ld:
        title = _clean(str(ld.get("headline") or ld.get("name") or ""))
    if not title:
        title = next(iter(_meta(tree, "og:title", "citation_title", "twitter:title", "dc.title")), "")
    if not title:
        headings = [t for t in (_clean(h.text_content()) for h in tree.xpath("//h1")) if t]
        # Several headings (the site's name in one): trafilatura's rules pick the post's title
        # (entry-title and similar classes, then <title> without the site's name).
        title = headings[0] if len(headings) == 1 else _clean(_trafilatura_title(tree))
    if not title:
        title = _clean(tree.findtext(".//title"))

    # Authors
    authors: list[str] = []
    if "authors" in selectors:
        authors = _split_people(_select_text(tree, selectors["authors"]))
    if not authors and ld:
        authors = [_clean(n) for n in _names(ld.get("author")) if _clean(n)]
    if not authors:
        authors = [a for a in _meta(tree, "author", "article:author", "dc.creator") if not a.startswith("http")]
    if not authors:  # journals write "Surname, Given"
        authors = [" ".join(reversed(a.split(", "))) if a.count(", ") == 1 else a for a in _meta(tree, "citation_author")]
    if not authors:
        authors = _visible_byline(tree)
    if not authors:
        authors = [_clean(a.text_content()) for a in tree.xpath('//a[@rel="author"]') if 0 < len(_clean(a.text_content()).split()) <= 5]
    if not authors:  # an authors field holding links to people's pages (Drupal's field-name-field-authors)
        authors = _author_field_links(tree)
    authors = _dedupe(authors)

    # Date: the source's selector; a visible microdata datePublished; the dateline under the
    # headline; else htmldate (which weighs meta tags, JSON-LD, URL and visible dates over the
    # whole page). Our own reading names the evidence when it agrees and stands in when
    # htmldate finds nothing.
    published = parse_date(_select_text(tree, selectors["date"]), today) if "date" in selectors else None
    if not published:
        published = _microdata_date(tree, today)
        methods.append("microdata") if published else None
    if not published:
        published = _dateline_date(tree, title, today)
        if published:
            methods.append("dateline")
    if not published:
        stamp = _htmldate(tree, url, today)
        found = stamp.date() if stamp else None
        if found and (found.month, found.day) == (1, 1) and stamp.time() == time() and found != _url_date(url):
            # htmldate's last resort is a year alone, given as 1 January at midnight: wrong 8
            # times in 11 on its own evaluation pages. Our reading, or no date, is better than
            # that guess. A time of day, or the URL's own date, says 1 January was read whole.
            ours, evidence = _structured_date(tree, ld, today, visible=True)
            found = found if ours == found else None
        else:
            ours, evidence = _structured_date(tree, ld, today, visible=not found)
        published = found or ours
        if published:
            methods.append(evidence if published == ours else "htmldate")
    if not published and ld:  # modified only when nothing says when it was published
        published = parse_date(str(ld.get("dateModified") or ""), today)

    # Body
    body = _body_from_selector(tree, selectors["body"]) if "body" in selectors else ""
    if body:
        methods.append("selector")
    else:
        body = _body_trafilatura(tree, url)
        methods.append("trafilatura")
    given = _lines(ld.get("articleBody")) if ld and isinstance(ld.get("articleBody"), str) else ""
    if given and (count_words(given), given.count("\n")) > (count_words(body), body.count("\n")):
        # A headless CMS may serve the text only in its JSON-LD, the page being drawn by script
        # (trafilatura then finds it too, but as one paragraph).
        body = given
        methods[-1] = "json-ld-body"

    # Main-text extractors often keep the headline as the first line: it is not body text.
    # So do they the byline and dateline ("By A. Author | 9 April 2021").
    lines = body.split("\n")
    if lines and title and lines[0].strip().casefold() == title.casefold():
        lines = lines[1:]
    while lines and len(lines[0].split()) <= 30 and (_BYLINE.match(lines[0]) or (parse_date(lines[0], today) and len(lines[0].split()) <= 8)):
        lines = lines[1:]
    body = "\n".join(line for line in lines if not _boilerplate_line(line))

    pdf = _pdf_link(tree, url) if count_words(body) < PDF_PAGE_WORDS else None
    if pdf:
        raise ExtractionError(f"the article is a PDF ({pdf}); the page only introduces it "
                              f"({count_words(body)} words): let the source's article pattern match its PDF links", "pdf_only")

    canonical = tree.xpath('//link[@rel="canonical"]/@href')
    result = Extracted(
        title=title,
        authors=authors,
        published=published,
        body=body,
        method="+".join(dict.fromkeys(methods)),
        canonical_url=canonical[0].strip() if canonical else None,
    )
    validate(result)
    return result


# Chinese and Japanese are written without spaces: their characters, two to a word, are counted.
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def count_words(text: str) -> int:
    """Words in ``text``: space-separated tokens, plus one per two Chinese or Japanese characters.

    >>> count_words("Deterrence works"), count_words("抑止力は機能する")
    (2, 4)
    """
    cjk = len(_CJK.findall(text))
    return len(_CJK.sub(" ", text).split()) + cjk // 2


def validate(doc: Extracted) -> None:
    """Refuse empty or garbage documents, naming what is wrong."""
    if not doc.title:
        raise ExtractionError("no title found", "no_title")
    words = count_words(doc.body)
    if words < MIN_BODY_WORDS:
        raise ExtractionError(f"body text too short ({words} words, need {MIN_BODY_WORDS})", "too_short")
    # Table rows (" | "-separated cells) may be all figures; prose is judged on the other lines.
    # Vowel signs of Indian scripts are marks, not letters: they count as letters here.
    prose = "".join(line for line in doc.body.split("\n") if not line.startswith("| ")).replace(" ", "")
    letters = sum(c.isalpha() or unicodedata.category(c).startswith("M") for c in prose)
    if letters < 0.6 * len(prose):
        raise ExtractionError("body text is not prose (too few letters: binary or garbled page?)", "not_prose")
    # We decode without replacement characters, so a U+FFFD is the page's own (often where a
    # space was): it costs a character, not the article, unless the text is full of them.
    replaced = doc.body.count("\ufffd")
    garbled = len(_MOJIBAKE.findall(doc.body)) + (replaced if replaced > len(doc.body) // 50 else 0)
    if garbled > max(3, words // 100):
        raise ExtractionError(f"body text is garbled ({garbled} broken characters: wrong charset?)", "garbled")


# --------------------------------------------------------------------------- PDF
def _pdf_boxes(data: bytes) -> list[list[str]]:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTTextContainer

    pages: list[list[str]] = []
    # line_margin 0.8: lines of one paragraph stay together, the gap between paragraphs splits.
    for page in extract_pages(io.BytesIO(data), laparams=LAParams(line_margin=0.8), maxpages=MAX_PDF_PAGES):
        boxes = []
        for el in page:
            if isinstance(el, LTTextContainer):
                text = re.sub(r"-\n(?=[a-z])", "", el.get_text())
                text = _clean(text)
                if text:
                    boxes.append((-el.y1, el.x0, text))
        pages.append([t for _, _, t in sorted(boxes)])
    return pages


def _pdf_info(data: bytes) -> dict[str, str]:
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfparser import PDFParser

    doc = PDFDocument(PDFParser(io.BytesIO(data)))
    out = {}
    for info in doc.info:
        for key, value in info.items():
            try:
                v = value.resolve() if hasattr(value, "resolve") else value
                out[key] = v.decode("utf-16") if isinstance(v, bytes) and v[:2] in (b"\xfe\xff", b"\xff\xfe") else (v.decode("latin-1") if isinstance(v, bytes) else str(v))
            except Exception:  # odd encodings in metadata are not worth failing over
                continue
    return out


def extract_pdf(data: bytes, url: str | None = None, today: date | None = None) -> Extracted:
    """Extract a report from a PDF, keeping paragraphs; running headers and page numbers go."""
    from pdfminer.pdfexceptions import PDFException
    from pdfminer.psexceptions import PSException

    if not data.startswith(b"%PDF"):
        raise ExtractionError("not a PDF file (missing %PDF header)", "unreadable_pdf")
    try:
        pages = _pdf_boxes(data)
        info = _pdf_info(data)
    except (PDFException, PSException, ValueError, KeyError, TypeError, AssertionError, IndexError) as exc:
        raise ExtractionError(f"unreadable PDF: {exc.__class__.__name__}", "unreadable_pdf") from None
    if not pages:
        raise ExtractionError("PDF has no pages", "unreadable_pdf")
    # Running headers/footers repeat on every page (page numbers differ only in digits).
    def shape(t: str) -> str:
        return re.sub(r"\d+", "#", t)

    counts: dict[str, int] = {}
    for boxes in pages:
        for s in {shape(t) for t in boxes}:
            counts[s] = counts.get(s, 0) + 1
    repeated = {s for s, n in counts.items() if n >= 2 and len(pages) >= 2}
    cleaned = [[t for t in boxes if shape(t) not in repeated and not re.fullmatch(r"[#\s\-–]*", shape(t))] for boxes in pages]

    first = cleaned[0] if cleaned else []
    title = _clean(info.get("Title")) or (first[0] if first else "")
    authors = _split_people(info.get("Author", ""))
    front: list[str] = []
    paragraphs: list[str] = []
    for page_no, boxes in enumerate(cleaned):
        for i, t in enumerate(boxes):
            # Front matter (title, authors, date line) sits above the first real paragraph.
            if page_no == 0 and not paragraphs and len(t.split()) < 20:
                front.append(t)
                continue
            unfinished = paragraphs and not re.search(r"[.!?:\"”’)]$", paragraphs[-1])
            if unfinished and (i == 0 or t[:1].islower()):
                paragraphs[-1] = f"{paragraphs[-1]} {t}"  # a paragraph split by a page break
            else:
                paragraphs.append(t)
    if not title and front:
        title = front[0]
    published = parse_date(" ".join(front), today)
    if not published:
        created = re.match(r"D:(\d{4})(\d{2})(\d{2})", info.get("CreationDate", ""))
        if created:
            published = plausible(date(*map(int, created.groups())), today)
    if not authors:
        for t in front:
            if t != title and not parse_date(t):
                authors = _split_people(t)
                break
    result = Extracted(title=title, authors=authors, published=published, body="\n".join(paragraphs), method="pdf")
    validate(result)
    return result
