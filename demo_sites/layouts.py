"""HTML, XML and PDF renderings of the four demo think tanks.

Each site has its own layout and the boilerplate real sites carry (navigation, footers,
related-article teasers, newsletter boxes, author bios), so extraction is tested against
the noise it meets in practice:

- meridian: found through ``sitemap.xml`` (a sitemap index with ``lastmod``); JSON-LD metadata.
- harborview: found through an RSS feed; metadata only in ``<meta>`` tags.
- northgate: found through paginated listing pages; date only in visible text.
- caldera: found through an Atom feed; commentary pages plus reports published as PDF.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from email.utils import format_datetime
from html import escape
from pathlib import Path

from policytrends.demo_sites.content import SITES, Article, load_articles

PAGE_SIZE = 10  # northgate listing pages


def _e(text: str) -> str:
    return escape(text, quote=True)


def _long_date(d: date) -> str:
    return f"{d.day} {d.strftime('%B %Y')}"


def _us_date(d: date) -> str:
    return f"{d.strftime('%B')} {d.day}, {d.year}"


def _people(authors) -> str:
    names = list(authors)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _author_slug(name: str) -> str:
    return "-".join("".join(c for c in w.lower() if c.isalnum()) for w in name.split())


def _related(articles: tuple[Article, ...], current: Article, n: int = 3) -> list[Article]:
    others = [a for a in articles if a.slug != current.slug]
    if not others:
        return []
    start = sum(map(ord, current.slug)) % len(others)
    return [others[(start + i) % len(others)] for i in range(min(n, len(others)))]


def _bio(name: str, site_name: str) -> str:
    # Deterministic, generic bios: boilerplate the extractor must leave out.
    roles = ["senior fellow", "research director", "visiting scholar", "program lead", "fellow"]
    role = roles[sum(map(ord, name)) % len(roles)]
    return (
        f"{name} is a {role} at the {site_name}. Their work has appeared in several journals "
        f"and they regularly brief parliamentary committees and visiting delegations."
    )


# --------------------------------------------------------------------------- meridian
def meridian_url(a: Article) -> str:
    return f"/analysis/{a.date.year}/{a.slug}/"


def meridian_article(a: Article) -> str:
    site = SITES["meridian"]
    articles = load_articles("meridian")
    ld = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "Organization", "name": site.name},
            {"@type": "BreadcrumbList", "itemListElement": [{"@type": "ListItem", "position": 1, "name": a.section}]},
            {
                "@type": "Article",
                "headline": a.title,
                "description": a.summary,
                "datePublished": f"{a.date.isoformat()}T09:00:00-05:00",
                "dateModified": f"{a.date.isoformat()}T16:30:00-05:00",
                "author": [{"@type": "Person", "name": n} for n in a.authors],
                "publisher": {"@type": "Organization", "name": site.name},
                "articleSection": a.section,
            },
        ],
    }
    related = "".join(
        f'<li class="teaser"><a href="{meridian_url(r)}">{_e(r.title)}</a><p>{_e(r.summary)}</p></li>'
        for r in _related(articles, a)
    )
    bios = "".join(
        f'<div class="bio"><h4>{_e(n)}</h4><p>{_e(_bio(n, site.name))}</p></div>' for n in a.authors
    )
    body = "".join(f"<p>{_e(p)}</p>" for p in a.paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{_e(a.title)} | {_e(site.name)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script type="application/ld+json">{json.dumps(ld)}</script>
</head><body>
<header class="masthead"><a class="logo" href="/">{_e(site.name)}</a>
<nav><ul><li><a href="/">Home</a></li><li><a href="/analysis/">Analysis</a></li><li><a href="/experts/">Experts</a></li>
<li><a href="/about/">About</a></li><li><a href="/support/">Support Our Work</a></li></ul></nav>
<form class="search" action="/search"><input name="q" placeholder="Search"></form></header>
<div class="breadcrumb"><a href="/">Home</a> › <a href="/analysis/">{_e(a.section)}</a></div>
<main><article>
<p class="kicker">{_e(a.section)}</p>
<h1>{_e(a.title)}</h1>
<p class="dek">{_e(a.summary)}</p>
<div class="share">Share: <a href="#">Email</a> <a href="#">Print</a></div>
<div class="entry-content">{body}</div>
<section class="about-authors"><h3>About the authors</h3>{bios}</section>
</article>
<aside class="newsletter"><h3>The Meridian Brief</h3><p>Get our weekly digest of analysis on
deterrence, defense budgets and alliances delivered to your inbox every Friday morning.</p>
<form><input type="email" placeholder="Email address"><button>Subscribe</button></form></aside>
<section class="related"><h3>Related analysis</h3><ul>{related}</ul></section>
</main>
<footer><p>© {a.date.year} {_e(site.name)}. All rights reserved.</p>
<p><a href="/privacy/">Privacy</a> · <a href="/contact/">Contact</a> · <a href="/careers/">Careers</a></p>
<p>The views expressed are those of the authors alone. The institute takes no institutional positions.</p></footer>
</body></html>"""


def meridian_sitemap_index(base: str) -> str:
    latest = max(a.date for a in load_articles("meridian"))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{base}/sitemaps/analysis.xml</loc><lastmod>{latest.isoformat()}</lastmod></sitemap>
<sitemap><loc>{base}/sitemaps/pages.xml</loc><lastmod>2026-01-05</lastmod></sitemap>
</sitemapindex>"""


def meridian_sitemap(base: str, which: str) -> str | None:
    if which == "analysis":
        urls = [(meridian_url(a), a.date.isoformat()) for a in load_articles("meridian")]
    elif which == "pages":
        urls = [("/", "2026-01-05"), ("/about/", "2024-06-01"), ("/experts/", "2025-02-11")]
    else:
        return None
    body = "".join(f"<url><loc>{base}{u}</loc><lastmod>{m}</lastmod></url>" for u, m in urls)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</urlset>'


# --------------------------------------------------------------------------- harborview
def harborview_url(a: Article) -> str:
    return f"/blog/{a.slug}.html"


def harborview_article(a: Article) -> str:
    site = SITES["harborview"]
    articles = load_articles("harborview")
    most_read = "".join(
        f'<li><a href="{harborview_url(r)}">{_e(r.title)}</a></li>' for r in _related(articles, a, 5)
    )
    authors_meta = "".join(f'<meta name="author" content="{_e(n)}">' for n in a.authors)
    body = "\n".join(f"<p>{_e(p)}</p>" for p in a.paragraphs)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8">
<title>{_e(a.title)} - Harborview</title>
<meta property="og:type" content="article">
<meta property="og:title" content="{_e(a.title)}">
<meta property="og:site_name" content="{_e(site.name)}">
<meta name="description" content="{_e(a.summary)}">
{authors_meta}
<meta property="article:published_time" content="{a.date.isoformat()}T07:30:00+00:00">
<meta property="article:section" content="{_e(a.section)}">
</head><body class="post">
<div id="cookie-banner">We use cookies to understand how members read the blog. <button>Accept</button></div>
<div class="topbar"><span>{_e(site.name)}</span> <a href="/membership/">Become a member</a> <a href="/events/">Events</a></div>
<div class="layout">
<div class="content-col">
<div class="post-header"><span class="category">{_e(a.section)}</span>
<h1 class="post-title">{_e(a.title)}</h1>
<div class="post-meta">{_e(_people(a.authors))} · <span class="reading-time">{max(2, len(a.body.split()) // 200)} min read</span></div></div>
<div class="post-body">
{body}
</div>
<div class="post-tags">Filed under: <a href="/tags/{_e(a.section.lower().replace(' ', '-'))}/">{_e(a.section)}</a></div>
<div class="comments"><h3>Comments are closed</h3><p>Members can discuss this essay in the forum.</p></div>
</div>
<aside class="sidebar">
<div class="widget most-read"><h3>Most read this week</h3><ol>{most_read}</ol></div>
<div class="widget signup"><h3>Harborview Weekly</h3><p>Essays, interviews and the week's best
foreign-policy reading, chosen by our editors. Free for members and guests.</p><input placeholder="you@example.org"><button>Sign up</button></div>
</aside>
</div>
<footer class="site-footer"><div>{_e(site.name)} · {_e(site.tagline)}</div>
<div><a href="/about.html">About</a> | <a href="/feed.xml">RSS</a> | <a href="/terms.html">Terms</a></div></footer>
</body></html>"""


def harborview_feed(base: str) -> str:
    items = "".join(
        f"""<item><title>{_e(a.title)}</title><link>{base}{harborview_url(a)}</link>
<guid isPermaLink="true">{base}{harborview_url(a)}</guid>
<pubDate>{format_datetime(datetime.combine(a.date, time(7, 30), UTC))}</pubDate>
<description>{_e(a.summary)}</description></item>"""
        for a in load_articles("harborview")
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>{_e(SITES['harborview'].name)}</title><link>{base}/</link>
<description>{_e(SITES['harborview'].tagline)}</description>{items}</channel></rss>"""


# --------------------------------------------------------------------------- northgate
def northgate_url(a: Article) -> str:
    return f"/publications/{a.slug}/"


def _northgate_chrome(title: str, inner: str) -> str:
    site = SITES["northgate"]
    return f"""<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><title>{_e(title)} | {_e(site.name)}</title></head>
<body><div id="wrapper">
<div id="header"><div class="brand">{_e(site.name)}</div><div class="tagline">{_e(site.tagline)}</div>
<ul class="menu"><li><a href="/">Home</a></li><li><a href="/publications/">Publications</a></li>
<li><a href="/events/">Events</a></li><li><a href="/topics/arms-control/">Arms control</a></li><li><a href="/people/">People</a></li></ul></div>
{inner}
<div id="footer"><p>{_e(site.name)} is a registered non-profit association. Funded by member governments
and foundations; a full list of donors appears in our annual report.</p>
<p>Rue Imaginaire 12 · <a href="/imprint/">Imprint</a> · <a href="/data-protection/">Data protection</a></p></div>
</div></body></html>"""


def northgate_article(a: Article) -> str:
    articles = load_articles("northgate")
    more = "".join(
        f'<div class="card"><a href="{northgate_url(r)}">{_e(r.title)}</a><span>{_e(r.section)}</span></div>'
        for r in _related(articles, a, 2)
    )
    body = "".join(f"<p>{_e(p)}</p>" for p in a.paragraphs)
    topics = "".join(f'<a href="/topics/{t}/">{t.replace("-", " ")}</a> ' for t in ("security", "europe"))
    inner = f"""<div id="content"><div class="pub">
<div class="pub-type">{_e(a.section)}</div>
<h1>{_e(a.title)}</h1>
<p class="byline">By {_e(_people(a.authors))} | Published {_long_date(a.date)}</p>
<div class="intro"><strong>{_e(a.summary)}</strong></div>
<div class="text">{body}</div>
<div class="topics">Topics: {topics}</div>
<div class="event-box">Join our next roundtable in the <a href="/events/">events calendar</a>.</div>
</div>
<div class="more"><h2>More from the Forum</h2>{more}</div></div>"""
    return _northgate_chrome(a.title, inner)


def northgate_listing(page: int) -> str | None:
    articles = load_articles("northgate")
    pages = max(1, -(-len(articles) // PAGE_SIZE))
    if not 1 <= page <= pages:
        return None
    chunk = articles[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    entries = "".join(
        f"""<li class="entry"><h3><a href="{northgate_url(a)}">{_e(a.title)}</a></h3>
<p class="meta">{_e(a.section)} · {_long_date(a.date)}</p><p>{_e(a.summary)}</p></li>"""
        for a in chunk
    )
    nav = []
    if page > 1:
        prev = "/publications/" if page == 2 else f"/publications/page/{page - 1}/"
        nav.append(f'<a class="prev" href="{prev}">‹ Previous</a>')
    if page < pages:
        nav.append(f'<a class="next" rel="next" href="/publications/page/{page + 1}/">Next ›</a>')
    inner = f"""<div id="content"><h1>Publications</h1><ul class="listing">{entries}</ul>
<div class="pager">Page {page} of {pages} {' '.join(nav)}</div></div>"""
    return _northgate_chrome("Publications", inner)


# --------------------------------------------------------------------------- caldera
def caldera_url(a: Article) -> str:
    return f"/reports/{a.slug}/" if a.format == "pdf" else f"/commentary/{a.slug}"


def caldera_pdf_url(a: Article) -> str:
    return f"/files/{a.slug}.pdf"


def _caldera_chrome(title: str, meta: str, inner: str) -> str:
    site = SITES["caldera"]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(title)} — {_e(site.name)}</title>{meta}</head>
<body>
<nav class="navbar"><a href="/" class="brand">CALDERA</a><a href="/commentary/">Commentary</a><a href="/reports/">Reports</a>
<a href="/data/">Data</a><a href="/team/">Team</a></nav>
<div class="container">{inner}</div>
<section class="cta"><h2>Stay ahead of the data</h2><p>Our monthly dataset release notes and briefings,
straight to your inbox. No spam, ever.</p><button>Subscribe</button></section>
<footer><p>{_e(site.name)} · {_e(site.tagline)}</p><p>Licensed CC BY 4.0 unless noted.</p></footer>
</body></html>"""


def caldera_commentary(a: Article) -> str:
    meta = (
        f'<meta property="og:title" content="{_e(a.title)}">'
        f'<meta property="og:description" content="{_e(a.summary)}">'
        f'<meta property="article:published_time" content="{a.date.isoformat()}">'
        + "".join(f'<meta property="article:author" content="{_e(n)}">' for n in a.authors)
    )
    articles = load_articles("caldera")
    recs = "".join(
        f'<li><a href="{caldera_url(r)}">{_e(r.title)}</a> <em>{_e(r.summary)}</em></li>'
        for r in _related(articles, a, 3)
    )
    body = "".join(f"<p>{_e(p)}</p>" for p in a.paragraphs)
    inner = f"""<div class="row"><div class="col-main">
<span class="label">{_e(a.section)}</span><h1>{_e(a.title)}</h1>
<div class="authors">{''.join(f'<a class="author" href="/team/{_author_slug(n)}/">{_e(n)}</a>' for n in a.authors)}</div>
<time>{a.date.strftime('%d.%m.%Y')}</time>
<div class="article-body">{body}</div></div>
<div class="col-side"><h4>You might also like</h4><ul>{recs}</ul>
<div class="bio-box">{''.join(f'<p>{_e(_bio(n, SITES["caldera"].name))}</p>' for n in a.authors)}</div></div></div>"""
    return _caldera_chrome(a.title, meta, inner)


def caldera_report_landing(a: Article) -> str:
    meta = f'<meta property="og:title" content="{_e(a.title)}">'
    inner = f"""<div class="report"><span class="label">Report</span><h1>{_e(a.title)}</h1>
<p class="summary">{_e(a.summary)}</p>
<p>By {_e(_people(a.authors))}, {_us_date(a.date)}</p>
<a class="download" href="{caldera_pdf_url(a)}">Download the full report (PDF)</a></div>"""
    return _caldera_chrome(a.title, meta, inner)


def caldera_feed(base: str) -> str:
    entries = "".join(
        f"""<entry><title>{_e(a.title)}</title><link href="{base}{caldera_url(a)}"/>
<id>{base}{caldera_url(a)}</id><updated>{a.date.isoformat()}T00:00:00Z</updated>
<summary>{_e(a.summary)}</summary>{''.join(f'<author><name>{_e(n)}</name></author>' for n in a.authors)}</entry>"""
        for a in load_articles("caldera")
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>{_e(SITES['caldera'].name)}</title>
<id>{base}/</id><updated>2026-11-01T00:00:00Z</updated>{entries}</feed>"""


def _dejavu() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def caldera_pdf(a: Article) -> bytes:
    """A report as a real multi-page PDF, with running header, footer and page numbers."""
    from fpdf import FPDF

    class Report(FPDF):
        def header(self):
            self.set_font("DejaVu", size=8)
            self.cell(0, 6, "Caldera Policy Lab | Research Report", align="L")
            self.ln(10)

        def footer(self):
            self.set_y(-12)
            self.set_font("DejaVu", size=8)
            self.cell(0, 6, f"{self.page_no()}", align="C")

    pdf = Report(format="A4")
    pdf.add_font("DejaVu", "", str(_dejavu() / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(_dejavu() / "DejaVuSans-Bold.ttf"))
    pdf.set_title(a.title)
    pdf.set_author(", ".join(a.authors))
    pdf.set_creator("Caldera Policy Lab")
    pdf.set_creation_date(datetime.combine(a.date, time(12, 0), UTC))
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 16)
    pdf.multi_cell(0, 8, a.title, align="L")
    pdf.ln(6)
    pdf.set_font("DejaVu", size=10)
    pdf.multi_cell(0, 6, _people(a.authors), align="L")
    pdf.ln(4)
    pdf.multi_cell(0, 6, f"Published {_long_date(a.date)}", align="L")
    pdf.ln(8)
    pdf.set_font("DejaVu", size=10.5)
    for p in a.paragraphs:
        # Left-aligned: justified spacing makes PDF readers split a line into word boxes.
        pdf.multi_cell(0, 5.5, p, align="L")
        pdf.ln(3.5)
    return bytes(pdf.output())
