"""The sources file: which think tanks to crawl and how to find their articles.

A source is data, not code. Example entry::

    sources:
      - name: meridian                      # short id, stored with every document
        title: Meridian Institute for Strategic Studies
        discovery:                          # one or more of sitemap / feed / listing
          sitemap: ["https://example.org/sitemap.xml"]
        article_patterns: ['/analysis/\\d{4}/[^/]+/$']   # regexes on the URL path
        follow_patterns: []                 # pages read only for their links (listing pages)
        skip_patterns: ['/tag/', '/author/']
        allowed_domains: [example.org]      # default: the hosts of the discovery URLs
        selectors: {body: 'div.entry-content'}   # optional CSS overrides: title, date, authors, body
        politeness: {download_delay: 1.0, concurrency: 2, timeout: 30}
        canonical_base: https://example.org # optional: store URLs under this public address,
                                            # whatever address the pages were fetched from
        since: 2020-01-01                   # optional: articles published or last modified before
                                            # this date are not fetched (default: all of them)
        max_new_articles: 1000              # new articles fetched per run at most; the rest wait,
                                            # newest first, for the next runs (default 1000)
        time_budget: 1h                     # a run stops asking for articles after this long
                                            # (seconds, or 90s / 45m / 2h; default 1h)
        robots_sitemaps: true               # with no sitemap configured, read the Sitemap: lines
                                            # of the site's robots.txt (default true)

A first crawl of a big site (tens of thousands of sitemap URLs) thus spreads over several
nightly runs, each fetching the newest of what is still waiting; the crawl report says how
many are waiting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from policytrends.errors import PolicyTrendsError

DISCOVERY_KINDS = ("sitemap", "feed", "listing")
SELECTOR_FIELDS = ("title", "date", "authors", "body")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_KEYS = {
    "name", "title", "discovery", "article_patterns", "follow_patterns", "skip_patterns",
    "allowed_domains", "selectors", "politeness", "canonical_base",
    "since", "max_new_articles", "time_budget", "robots_sitemaps",
}
# A nightly run on a real think tank at a polite 3 s a page: 1,000 new articles take under an
# hour, and a run stops asking for more after an hour whatever the page count. A first crawl of
# 20,000 to 60,000 sitemap URLs is spread over nights instead of holding one run for days.
DEFAULT_MAX_NEW_ARTICLES = 1000
DEFAULT_TIME_BUDGET = 3600.0  # seconds
MAX_TIME_BUDGET = 24 * 3600.0
_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*(?:(\d+(?:\.\d+)?)\s*m(?:in)?)?\s*(?:(\d+(?:\.\d+)?)\s*s)?\s*$", re.I)


@dataclass(frozen=True)
class Source:
    name: str
    title: str
    discovery: dict[str, list[str]]
    article_patterns: list[str]
    follow_patterns: list[str] = field(default_factory=list)
    skip_patterns: list[str] = field(default_factory=list)
    allowed_domains: list[str] = field(default_factory=list)
    selectors: dict[str, str] = field(default_factory=dict)
    download_delay: float = 1.0
    concurrency: int = 2
    canonical_base: str | None = None
    timeout: float = 30.0
    since: datetime | None = None  # aware (UTC midnight of the date given)
    max_new_articles: int = DEFAULT_MAX_NEW_ARTICLES
    time_budget: float = DEFAULT_TIME_BUDGET  # seconds
    robots_sitemaps: bool = True

    def start_urls(self) -> list[tuple[str, str]]:
        """(kind, url) pairs to begin discovery from."""
        return [(kind, url) for kind, urls in self.discovery.items() for url in urls]


class SourcesError(PolicyTrendsError):
    pass


def _fail(path: Path, where: str, problem: str, fix: str) -> None:
    raise SourcesError(f"{path}: {where}: {problem} ({fix})")


def _str_list(path: Path, where: str, value, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        _fail(path, where, f"'{key}' must be a list of strings, got {value!r}", f"write {key}: ['...']")
    return value


def _regexes(path: Path, where: str, value, key: str) -> list[str]:
    patterns = _str_list(path, where, value, key)
    for p in patterns:
        try:
            re.compile(p)
        except re.error as exc:
            _fail(path, where, f"{key} pattern {p!r} is not a valid regular expression: {exc}", "fix the pattern")
    return patterns


def _since(path: Path, where: str, value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):  # YAML reads 2020-01-01T00:00:00Z as a datetime
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):  # and 2020-01-01 as a date
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            return _since(path, where, date.fromisoformat(value.strip()))
        except ValueError:
            pass
    _fail(path, where, f"'since' must be a date, got {value!r}", "write since: 2020-01-01")
    return None


def _max_new(path: Path, where: str, value) -> int:
    if value is None:
        return DEFAULT_MAX_NEW_ARTICLES
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        _fail(path, where, f"'max_new_articles' must be a whole number of at least 1, got {value!r}",
              f"e.g. max_new_articles: {DEFAULT_MAX_NEW_ARTICLES}")
    return value


def _time_budget(path: Path, where: str, value) -> float:
    """Seconds, from a number of seconds or a duration such as ``90s``, ``45m``, ``2h``, ``1h30m``."""
    if value is None:
        return DEFAULT_TIME_BUDGET
    seconds = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)) and any(m.groups()):
        h, mins, s = (float(g or 0) for g in m.groups())
        seconds = h * 3600 + mins * 60 + s
    if seconds is None or not 0 < seconds <= MAX_TIME_BUDGET:
        _fail(path, where, f"'time_budget' must be a duration above 0 and at most 24h, got {value!r}",
              "e.g. time_budget: 45m (or a number of seconds)")
    return seconds


def parse_sources(data, path: Path) -> list[Source]:
    """Validate parsed YAML and build sources; raises SourcesError naming the entry and the fix."""
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list) or not data["sources"]:
        _fail(path, "top level", "expected a mapping with a non-empty 'sources' list", "see crawlers/sources/demo.yaml")
    out: list[Source] = []
    seen: set[str] = set()
    for i, entry in enumerate(data["sources"], start=1):
        where = f"source #{i}"
        if not isinstance(entry, dict):
            _fail(path, where, f"expected a mapping, got {type(entry).__name__}", "write name:, discovery:, article_patterns:")
        name = entry.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            _fail(path, where, f"'name' must be a short lowercase id, got {name!r}", "use letters, digits, '-' or '_'")
        where = f"source {name!r}"
        if name in seen:
            _fail(path, where, "duplicate name", "give every source its own name")
        seen.add(name)
        unknown = set(entry) - _KEYS
        if unknown:
            _fail(path, where, f"unknown key(s) {sorted(unknown)}", f"allowed keys: {sorted(_KEYS)}")
        disc = entry.get("discovery")
        if not isinstance(disc, dict) or not disc:
            _fail(path, where, "'discovery' is missing", f"give at least one of {DISCOVERY_KINDS} with URLs")
        bad = set(disc) - set(DISCOVERY_KINDS)
        if bad:
            _fail(path, where, f"unknown discovery kind(s) {sorted(bad)}", f"use {DISCOVERY_KINDS}")
        discovery = {k: _str_list(path, where, v, f"discovery.{k}") for k, v in disc.items()}
        for kind, urls in discovery.items():
            if not urls:
                _fail(path, where, f"discovery.{kind} lists no URLs", f"give at least one URL for {kind}, or remove it")
        for urls in discovery.values():
            for url in urls:
                parts = urlsplit(url)
                if parts.scheme not in ("http", "https") or not parts.hostname:
                    _fail(path, where, f"discovery URL {url!r} is not an http(s) URL", "write a full URL like https://example.org/feed")
        articles = _regexes(path, where, entry.get("article_patterns"), "article_patterns")
        if not articles:
            _fail(path, where, "'article_patterns' is empty", "add a regex matching article URL paths")
        # By default a source may visit the hosts of its discovery URLs and their subdomains;
        # "www." is dropped so example.org and www.example.org are both in scope.
        domains = _str_list(path, where, entry.get("allowed_domains"), "allowed_domains") or sorted(
            {urlsplit(u).hostname.removeprefix("www.") for urls in discovery.values() for u in urls}
        )
        selectors = entry.get("selectors") or {}
        if isinstance(selectors, dict) and not all(isinstance(v, str) and v.strip() for v in selectors.values()):
            _fail(path, where, f"'selectors' values must be CSS selectors or XPath strings, got {selectors!r}", "quote each selector")
        if not isinstance(selectors, dict) or set(selectors) - set(SELECTOR_FIELDS):
            _fail(path, where, f"'selectors' must map {SELECTOR_FIELDS} to CSS selectors, got {selectors!r}", "remove unknown fields")
        polite = entry.get("politeness") or {}
        if not isinstance(polite, dict):
            _fail(path, where, f"'politeness' must be a mapping, got {polite!r}", "e.g. politeness: {download_delay: 1.0, concurrency: 2}")
        delay = polite.get("download_delay", 1.0)
        conc = polite.get("concurrency", 2)
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
            _fail(path, where, f"politeness.download_delay must be >= 0 seconds, got {delay!r}", "e.g. 1.0")
        if isinstance(conc, bool) or not isinstance(conc, int) or not 1 <= conc <= 16:
            _fail(path, where, f"politeness.concurrency must be an integer 1-16, got {conc!r}", "e.g. 2")
        timeout = polite.get("timeout", 30)
        if not isinstance(timeout, (int, float)) or not 0 < timeout <= 600:
            _fail(path, where, f"politeness.timeout must be 0-600 seconds, got {timeout!r}", "e.g. 30")
        unknown_polite = set(polite) - {"download_delay", "concurrency", "timeout"}
        if unknown_polite:
            _fail(path, where, f"unknown politeness key(s) {sorted(unknown_polite)}", "use download_delay, concurrency, timeout")
        robots = entry.get("robots_sitemaps", True)
        if not isinstance(robots, bool):
            _fail(path, where, f"'robots_sitemaps' must be true or false, got {robots!r}", "write robots_sitemaps: false")
        base = entry.get("canonical_base")
        if base is not None and (not isinstance(base, str) or urlsplit(base).scheme not in ("http", "https") or not urlsplit(base).hostname):
            _fail(path, where, f"canonical_base must be an http(s) URL, got {base!r}", "e.g. https://example.org")
        out.append(
            Source(
                name=name,
                title=str(entry.get("title") or name),
                discovery=discovery,
                article_patterns=articles,
                follow_patterns=_regexes(path, where, entry.get("follow_patterns"), "follow_patterns"),
                skip_patterns=_regexes(path, where, entry.get("skip_patterns"), "skip_patterns"),
                allowed_domains=domains,
                selectors=dict(selectors),
                download_delay=float(delay),
                concurrency=conc,
                canonical_base=base,
                timeout=float(timeout),
                since=_since(path, where, entry.get("since")),
                max_new_articles=_max_new(path, where, entry.get("max_new_articles")),
                time_budget=_time_budget(path, where, entry.get("time_budget")),
                robots_sitemaps=robots,
            )
        )
    return out


# A sources file is a few kilobytes written by hand. These bounds are far above any real one and
# far below what hurts: YAML aliases can repeat a node exponentially (9 levels of 9 aliases in
# 600 bytes name 387 million strings), and nesting deeper than Python's recursion limit crashes
# the composer.
MAX_YAML_NODES = 100_000  # nodes, counting each alias as a copy of what it names
MAX_YAML_DEPTH = 64  # nested lists and mappings
MAX_MESSAGE = 600  # characters of an error message: a quoted value never floods the terminal


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader, refusing while it composes (before any Python object is built) a
    document whose aliases expand past MAX_YAML_NODES nodes or that nests past MAX_YAML_DEPTH."""

    def __init__(self, text: str, path: Path):
        super().__init__(text)
        self.path = path
        self.depth = 0
        self.sizes: dict[int, int] = {}  # id(node) -> its size with aliases expanded

    def _refuse(self, problem: str, fix: str, mark=None):
        mark = mark or self.peek_event().start_mark
        raise SourcesError(f"sources file {self.path} at line {mark.line + 1}, column {mark.column + 1}: {problem} ({fix})")

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            target = self.anchors.get(self.peek_event().anchor)
            if target is not None and id(target) not in self.sizes:
                self._refuse("an alias names the list or mapping it is inside", "remove the alias")
            return super().compose_node(parent, index)
        self.depth += 1
        if self.depth > MAX_YAML_DEPTH:
            self._refuse(f"lists or mappings nested more than {MAX_YAML_DEPTH} deep",
                         "a sources file needs a few levels: check the brackets")
        node = super().compose_node(parent, index)
        self.depth -= 1
        if isinstance(node, yaml.MappingNode):
            size = 1 + sum(self.sizes[id(k)] + self.sizes[id(v)] for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            size = 1 + sum(self.sizes[id(v)] for v in node.value)
        else:
            size = 1
        if size > MAX_YAML_NODES:
            self._refuse(f"more than {MAX_YAML_NODES:,} values once its aliases (*name) are expanded",
                         "use an alias only for a small shared setting such as politeness, or write the values out",
                         node.start_mark)
        self.sizes[id(node)] = size
        return node


def _capped(message: str) -> str:
    """``message`` cut in its middle to MAX_MESSAGE characters: the start names the problem, the end the fix."""
    if len(message) <= MAX_MESSAGE:
        return message
    tail = message[-150:]
    return f"{message[: MAX_MESSAGE - len(tail) - 40]} ... [{len(message):,} characters, cut] ... {tail}"


def _strings_are_strings(data, path: Path) -> None:
    """Refuse a field meant as text given as a list, mapping or number, before anything quotes or converts it."""
    entries = data.get("sources") if isinstance(data, dict) else None
    for i, entry in enumerate(entries if isinstance(entries, list) else [], start=1):
        if not isinstance(entry, dict):
            continue
        for key in ("name", "title", "canonical_base"):
            value = entry.get(key)
            if value is not None and not isinstance(value, str):
                where = f"source {entry['name']!r}" if isinstance(entry.get("name"), str) else f"source #{i}"
                raise SourcesError(f"{path}: {where}: '{key}' must be a string, got a {type(value).__name__} "
                                   f"(write {key}: \"...\" with the text in quotes)")


def load_sources(path: str | Path) -> list[Source]:
    """Read and validate a sources YAML file; every refusal is a SourcesError of at most MAX_MESSAGE characters."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourcesError(f"sources file {path} does not exist (pass an existing YAML file to --sources)") from None
    except UnicodeDecodeError:
        raise SourcesError(f"sources file {path} is not UTF-8 text (save it as UTF-8 YAML)") from None
    try:
        loader = _BoundedLoader(text, path)  # refuses unprintable characters already
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SourcesError(_capped(f"sources file {path} is not valid YAML{at}: {problem} (fix the syntax)")) from None
    try:
        _strings_are_strings(data, path)
        return parse_sources(data, path)
    except SourcesError as exc:
        raise SourcesError(_capped(str(exc))) from None


DEMO_SOURCES_TEMPLATE = Path(__file__).resolve().parent / "sources" / "demo.yaml"
