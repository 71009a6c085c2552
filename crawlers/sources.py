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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
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
}


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
