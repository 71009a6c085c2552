"""The bundled demo corpus: four fictional think tanks, one JSON file per article."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

CONTENT_DIR = Path(__file__).resolve().parent / "content"


@dataclass(frozen=True)
class Site:
    key: str
    name: str
    tagline: str


SITES: dict[str, Site] = {
    "meridian": Site("meridian", "Meridian Institute for Strategic Studies", "Independent analysis of defense and nuclear policy"),
    "harborview": Site("harborview", "Harborview Council on Foreign Affairs", "A members' forum for foreign-policy debate"),
    "northgate": Site("northgate", "Northgate Security Forum", "European security, arms control and dialogue"),
    "caldera": Site("caldera", "Caldera Policy Lab", "Data-driven research on Asia-Pacific security and technology"),
}


@dataclass(frozen=True)
class Article:
    site: str
    slug: str
    title: str
    authors: tuple[str, ...]
    date: date
    summary: str
    section: str
    format: str  # "html" or "pdf"
    paragraphs: tuple[str, ...]

    @property
    def body(self) -> str:
        return "\n".join(self.paragraphs)


@cache
def load_articles(site: str) -> tuple[Article, ...]:
    """All articles of one demo site, newest first."""
    out = []
    for path in sorted((CONTENT_DIR / site).glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        out.append(
            Article(
                site=site,
                slug=raw["slug"],
                title=raw["title"],
                authors=tuple(raw["authors"]),
                date=date.fromisoformat(raw["date"]),
                summary=raw["summary"],
                section=raw["section"],
                format=raw.get("format", "html"),
                paragraphs=tuple(" ".join(p.split()) for p in raw["paragraphs"]),
            )
        )
    out.sort(key=lambda a: (a.date, a.slug), reverse=True)
    return tuple(out)
