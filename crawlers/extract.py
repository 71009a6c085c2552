"""Turn a fetched page (HTML or PDF) into title, authors, publication date and body text.

Order of evidence, as in fundus: per-source CSS overrides if configured, then JSON-LD
(``Article``, ``NewsArticle``, ``Report``...), then ``<meta>``/OpenGraph tags, then the
visible text (a byline, a "Published ..." line) and a main-text extractor (trafilatura)
for the body. The body keeps one paragraph per line; boilerplate stays out.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from lxml import html as lxml_html

# URL keys moved to corpus.urls (the importer needs them too); re-exported for older imports.
from corpus.urls import TRACKING_PARAMS, BadURLError, canonicalize_url, clean_request_url, rebase_url  # noqa: F401
from policytrends.errors import PolicyTrendsError

MIN_BODY_WORDS = 40  # shorter than this is a stub, a landing page or an error page
MAX_PDF_PAGES = 300  # reports are rarely longer; a hostile PDF with 100,000 pages would take hours to lay out
EARLIEST = date(1990, 1, 1)
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


# --------------------------------------------------------------------------- URLs and hashes
def content_hash(title: str, body: str) -> str:
    """Hash of what we extracted, so a re-fetched page with the same text counts as unchanged."""
    norm = " ".join(title.split()) + "\n" + "\n".join(" ".join(p.split()) for p in body.split("\n"))
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- dates
_MONTHS = {m.lower(): i for i, m in enumerate(
    ["January", "February", "March", "April", "May", "June", "July", "August", "September",
     "October", "November", "December"], start=1)}
_MONTHS.update({k[:3]: v for k, v in list(_MONTHS.items())})
_MONTHS["sept"] = 9
_MON = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE_PATTERNS = [
    # 2016-03-04 or 2016-03-04T09:00:00
    (re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)"), ("y", "m", "d")),
    # 4 March 2016
    (re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+{_MON}\s*,?\s+(\d{{4}})\b", re.I), ("d", "mon", "y")),
    # March 4, 2016
    (re.compile(rf"\b{_MON}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I), ("mon", "d", "y")),
    # 04.03.2016 (day first, as written in most of Europe)
    (re.compile(r"(?<![\d.])(\d{1,2})\.(\d{1,2})\.(\d{4})(?!\d)"), ("d", "m", "y")),
    # 2016/03/04
    (re.compile(r"(?<!\d)(\d{4})/(\d{1,2})/(\d{1,2})(?!\d)"), ("y", "m", "d")),
]


def plausible(d: date | None, today: date | None = None) -> date | None:
    """The date if it can be a publication date (1990 to tomorrow), else None."""
    if d is None:
        return None
    today = today or date.today()
    return d if EARLIEST <= d <= today + timedelta(days=1) else None


def parse_date(text: str | None, today: date | None = None) -> date | None:
    """The first plausible date written in ``text``, in any of several common formats.

    >>> parse_date("By A. Author | Published 14 March 2017")
    datetime.date(2017, 3, 14)
    >>> parse_date("Updated: Mar. 4, 2016") , parse_date("13.05.2019"), parse_date("2031-01-01")
    (datetime.date(2016, 3, 4), datetime.date(2019, 5, 13), None)
    """
    if not text:
        return None
    found: list[tuple[int, date]] = []
    for pattern, order in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            parts = dict(zip(order, m.groups(), strict=False))
            try:
                if "mon" in parts:
                    mon = parts["mon"].lower().rstrip(".")
                    month = _MONTHS.get(mon) or _MONTHS[mon[:3]]
                else:
                    month = int(parts["m"])
                d = date(int(parts["y"]), month, int(parts["d"]))
            except (KeyError, ValueError):
                continue
            if plausible(d, today):
                found.append((m.start(), d))
    return min(found)[1] if found else None


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


def _body_trafilatura(html_text: str, url: str | None) -> str:
    import trafilatura

    text = trafilatura.extract(
        html_text,
        url=url,
        output_format="txt",
        include_comments=False,
        include_tables=False,
        include_images=False,
        favor_precision=True,
        deduplicate=False,
    )
    return "\n".join(_clean(line) for line in (text or "").split("\n") if _clean(line))


def _select_text(tree, selector: str) -> str:
    found = _select(tree, selector)
    return _clean(found[0].text_content()) if found else ""


def decode_html(data: bytes, declared: str | None = None) -> str:
    """Bytes to text. Bytes that are valid UTF-8 are UTF-8 whatever the server declares (a
    wrong ``charset`` is common); otherwise the declared charset, then cp1252."""
    return decode_with(data, declared)[0]


def decode_with(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """(text, the encoding that decoded it): see :func:`decode_html`."""
    for enc in filter(None, ["utf-8", declared, "cp1252"]):
        try:
            return data.decode(enc), enc
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", errors="replace"), "utf-8"


def charset_corrected(declared: str | None, used: str) -> bool:
    """Whether the server declared a charset other than the one the bytes are in."""
    import codecs

    if not declared:
        return False
    try:
        return codecs.lookup(declared).name != codecs.lookup(used).name
    except LookupError:  # a charset name nobody knows: wrong by definition
        return True


def extract_html(html_text: str, url: str | None = None, selectors: dict[str, str] | None = None, today: date | None = None) -> Extracted:
    """Extract one article from an HTML page. Raises ExtractionError when there is none."""
    if "\x00" in html_text[:2048]:
        raise ExtractionError("binary content served as HTML", "binary")
    try:
        tree = lxml_html.fromstring(html_text)
    except (ValueError, lxml_html.etree.ParserError) as exc:
        raise ExtractionError(f"unparseable HTML: {exc}", "unparseable") from None
    selectors = selectors or {}
    methods: list[str] = []

    ld = next((o for o in _jsonld_objects(tree) if _types(o) & ARTICLE_TYPES and (o.get("headline") or o.get("name"))), None)

    # Title
    title = _select_text(tree, selectors["title"]) if "title" in selectors else ""
    if not title and ld:
        title = _clean(str(ld.get("headline") or ld.get("name") or ""))
    if not title:
        title = next(iter(_meta(tree, "og:title", "citation_title", "twitter:title", "dc.title")), "")
    if not title:
        h1 = tree.xpath("//h1")
        title = _clean(h1[0].text_content()) if h1 else _clean(tree.findtext(".//title"))

    # Authors
    authors: list[str] = []
    if "authors" in selectors:
        authors = _split_people(_select_text(tree, selectors["authors"]))
    if not authors and ld:
        authors = [_clean(n) for n in _names(ld.get("author")) if _clean(n)]
    if not authors:
        authors = [a for a in _meta(tree, "author", "article:author", "citation_author", "dc.creator") if not a.startswith("http")]
    if not authors:
        authors = _visible_byline(tree)
    if not authors:
        authors = [_clean(a.text_content()) for a in tree.xpath('//a[@rel="author"]') if 0 < len(_clean(a.text_content()).split()) <= 5]
    authors = _dedupe(authors)

    # Date: published before modified; structured before visible text
    published = None
    if "date" in selectors:
        published = parse_date(_select_text(tree, selectors["date"]), today)
    if not published and ld:
        published = parse_date(str(ld.get("datePublished") or ""), today)
        methods.append("json-ld") if published else None
    if not published:
        published = parse_date(" ".join(_meta(tree, "article:published_time", "og:published_time", "citation_publication_date", "dc.date", "date", "pubdate", "datePublished")), today)
        methods.append("meta") if published else None
    if not published:
        times = [t.get("datetime") or t.text_content() for t in tree.xpath("//time")]
        published = parse_date(" ".join(times), today)
    if not published:
        # Visible dates: first in elements whose class says they hold one (byline, submitted,
        # date...), so a date in a header box or a teaser does not win; then anywhere near the top.
        hinted = tree.xpath(_DATE_HINT_XPATH)
        published = next((d for d in (parse_date(_clean(el.text_content())[:300], today) for el in hinted) if d), None)
        if not published:
            body_el = tree.xpath("//body")
            # itertext with spaces: minified HTML has no whitespace between elements.
            published = parse_date(_clean(" ".join(body_el[0].itertext()))[:3000] if body_el else "", today)
        methods.append("visible-date") if published else None
    if not published and ld:  # modified only when nothing says when it was published
        published = parse_date(str(ld.get("dateModified") or ""), today)

    # Body
    body = _body_from_selector(tree, selectors["body"]) if "body" in selectors else ""
    if body:
        methods.append("selector")
    else:
        body = _body_trafilatura(html_text, url)
        methods.append("trafilatura")

    # Main-text extractors often keep the headline as the first line: it is not body text.
    # So do they the byline and dateline ("By A. Author | 9 April 2021").
    lines = body.split("\n")
    if lines and title and lines[0].strip().casefold() == title.casefold():
        lines = lines[1:]
    while lines and len(lines[0].split()) <= 30 and (_BYLINE.match(lines[0]) or (parse_date(lines[0], today) and len(lines[0].split()) <= 8)):
        lines = lines[1:]
    body = "\n".join(lines)

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


def validate(doc: Extracted) -> None:
    """Refuse empty or garbage documents, naming what is wrong."""
    if not doc.title:
        raise ExtractionError("no title found", "no_title")
    words = len(doc.body.split())
    if words < MIN_BODY_WORDS:
        raise ExtractionError(f"body text too short ({words} words, need {MIN_BODY_WORDS})", "too_short")
    letters = sum(c.isalpha() for c in doc.body)
    if letters < 0.6 * len(doc.body.replace(" ", "").replace("\n", "")):
        raise ExtractionError("body text is not prose (too few letters: binary or garbled page?)", "not_prose")
    garbled = doc.body.count("\ufffd") + len(_MOJIBAKE.findall(doc.body))
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
