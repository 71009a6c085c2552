"""Extraction on real pages: the project beside trafilatura and htmldate, in one run.

    .venv/bin/python bench/extract_eval.py              # all pages (about 3 minutes on 2 cores)
    .venv/bin/python bench/extract_eval.py --limit 200  # the first 200 pages of each set
    .venv/bin/python bench/extract_eval.py --show-dropped --show-wrong-dates

Reads ``../shared/benchmarks/extract_eval.tar.xz`` where it lies and unpacks it into a cache
folder outside the repository (``--data``, default under the system temp folder); nothing of
it is copied into the project.

- Body text: trafilatura's evaluation set (990 real pages, each with snippets the text must
  and must not contain), scored as trafilatura's own evaluation does: a snippet counts when its
  whitespace-normalised text is inside the output; a page the extractor drops (or crashes on)
  is scored as empty.
- Publication dates: htmldate's evaluation sets (1,000 entries, 995 distinct pages, each with
  its gold date): right when the date found is the gold date; no date is wrong. Also given for
  two fixed halves of the set (by a hash of each page's file name): date rules are designed on
  half A and kept only if they help on half B too.

The project is called exactly as the crawler calls it: the bytes decoded with the encoding
Scrapy gives the response (``decode_with``), then ``extract_html(text, url)``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository; ../shared sits beside it

ARCHIVE = ROOT.parent / "shared" / "benchmarks" / "extract_eval.tar.xz"
DEFAULT_DATA = Path(tempfile.gettempdir()) / "policytrends-extract-eval"


def unpack(archive: Path, folder: Path) -> Path:
    """The unpacked ``data/`` folder, unpacking the archive once (again when it changes)."""
    stamp = folder / ".unpacked-from"
    mark = f"{archive.stat().st_size} {archive.stat().st_mtime_ns}"
    if not (stamp.exists() and stamp.read_text() == mark):
        folder.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive, "r:xz") as tar:
            tar.extractall(folder, filter="data")
        stamp.write_text(mark)
    return folder / "data"


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def find(folder: Path, subdirs: tuple[str, ...], name: str) -> Path | None:
    return next((folder / s / name for s in subdirs if (folder / s / name).is_file()), None)


def load_body_set(data: Path) -> list[tuple[str, dict, bytes]]:
    tests = data / "trafilatura" / "tests"
    gold = json.loads((tests / "evaldata.json").read_text(encoding="utf-8"))
    out = []
    for url in sorted(gold):
        path = find(tests, ("cache", "eval"), gold[url]["file"])
        if path is not None:
            out.append((url, gold[url], path.read_bytes()))
    return out


def _date_gold(data: Path) -> dict[str, dict]:
    tests = data / "htmldate" / "tests"
    gold: dict[str, dict] = {}
    for name in ("eval_mediacloud_2020.json", "eval_default.json"):  # htmldate's order: a later entry wins
        gold.update(json.loads((tests / name).read_text(encoding="utf-8")))
    return gold


def date_halves(data: Path) -> dict[str, str]:
    """Each date-set URL's half, "A" or "B", by a fixed hash of its page's file name: date rules
    are designed on half A and kept only if they help on half B too (against overfitting)."""
    return {url: "AB"[hashlib.sha256(entry["file"].encode()).digest()[0] % 2] for url, entry in _date_gold(data).items()}


def load_date_set(data: Path) -> list[tuple[str, str, bytes]]:
    tests = data / "htmldate" / "tests"
    gold = _date_gold(data)
    out = []
    for url in sorted(gold):
        path = find(tests, ("test_set", "cache", "eval"), gold[url]["file"])
        if path is not None and gold[url].get("date"):
            out.append((url, gold[url]["date"], path.read_bytes()))
    return out


# --------------------------------------------------------------------------- the three runners
def project(url: str, raw: bytes):
    """(Extracted or None, why it was dropped): decoded and extracted as the crawler does."""
    from scrapy.http import HtmlResponse

    from policytrends.crawlers.extract import ExtractionError, decode_with, extract_html

    # The crawler hands the pipeline Scrapy's idea of the encoding (BOM, <meta charset>, sniffing).
    encoding = HtmlResponse(url=url, body=raw, headers={"Content-Type": "text/html"}).encoding
    text, _ = decode_with(raw, encoding)
    try:
        return extract_html(text, url), None
    except ExtractionError as exc:
        return None, exc.kind


def trafilatura_body(url: str, raw: bytes) -> str | None:
    import trafilatura

    return trafilatura.extract(raw, url=url)


def htmldate_text(raw: bytes) -> str | bytes:
    """The page as htmldate's own evaluation hands it over: UTF-8 text, else the guessed charset."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        from charset_normalizer import detect

        guessed = detect(raw)["encoding"]
        try:
            return raw.decode(guessed) if guessed else raw
        except (LookupError, UnicodeDecodeError):
            return raw


def htmldate_date(url: str, raw: bytes) -> str | None:
    from htmldate import find_date

    return find_date(htmldate_text(raw), original_date=True)  # as htmldate's own evaluation calls it


# --------------------------------------------------------------------------- scoring
class Body:
    def __init__(self):
        self.tp = self.fp = self.fn = 0
        self.seconds = 0.0
        self.pages = 0
        self.dropped: Counter = Counter()
        self.dropped_urls: list[tuple[str, str]] = []

    def add(self, gold: dict, text: str | None, seconds: float) -> None:
        self.pages += 1
        self.seconds += seconds
        out = norm(text) if text else ""
        tp = sum(1 for w in gold["with"] if text and norm(w) in out)
        self.tp += tp
        self.fn += len(gold["with"]) - tp
        self.fp += sum(1 for w in gold["without"] if text and norm(w) in out)

    def scores(self) -> tuple[float, float, float]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        return (2 * p * r / (p + r) if p + r else 0.0), p, r


class Dates:
    def __init__(self):
        self.right = self.none = self.pages = 0
        self.seconds = 0.0
        self.wrong: list[tuple[str, str, str | None]] = []
        self.by_half: Counter = Counter()  # ("A", True): pages of half A dated right

    def add(self, url: str, gold: str, found: str | None, seconds: float, half: str = "A") -> None:
        self.pages += 1
        self.seconds += seconds
        self.right += found == gold
        self.none += found is None
        self.by_half[half, found == gold] += 1
        if found != gold:
            self.wrong.append((url, gold, found))

    def half(self, name: str) -> str:
        pages = self.by_half[name, True] + self.by_half[name, False]
        return f"{100 * self.by_half[name, True] / pages:.1f}% of {pages}" if pages else "-"


def timed(fn, *args):
    start = time.perf_counter()
    try:
        result = fn(*args)
    except Exception as exc:  # a crash costs the page, as in trafilatura's evaluation; named below
        result = exc
    return result, time.perf_counter() - start


def _project_out(url: str, raw: bytes):
    doc, why = project(url, raw)
    return (doc.body, doc.published.isoformat() if doc.published else None, None) if doc else (None, None, why)


RUNNERS = {"project": _project_out, "trafilatura": trafilatura_body, "htmldate": htmldate_date}


def one_pass(runner: str, which: str, data: Path, limit: int | None) -> list[tuple[str, object, float]]:
    """One runner over one set, in its own process (see :func:`run`): (url, output or exception, seconds)."""
    pages = (load_body_set(data) if which == "body" else load_date_set(data))[:limit]
    fn = RUNNERS[runner]
    timed(fn, "https://example.org/", b"<html><body><p>Warm up, 2020-01-01</p></body></html>")  # lazy imports
    return [(url, *timed(fn, url, raw)) for url, _, raw in pages]


def run(data: Path, limit: int | None, show_dropped: bool, show_wrong: bool) -> None:
    """Each runner passes over its set in a fresh process, one after the other: htmldate and
    trafilatura memoise parsed date strings, so a runner going second on the same page in the
    same process would be timed on the first one's cache."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    def fresh(runner: str, which: str):
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            return pool.submit(one_pass, runner, which, data, limit).result()

    body_set = {url: gold for url, gold, _ in load_body_set(data)[:limit]}
    date_set = {url: gold for url, gold, _ in load_date_set(data)[:limit]}
    halves = date_halves(data)
    crashes: Counter = Counter()

    def value(runner: str, out):
        if isinstance(out, Exception):
            crashes[f"{runner}: {type(out).__name__}"] += 1
            return (None, None, f"crash:{type(out).__name__}") if runner == "project" else None
        return out

    ours, theirs = Body(), Body()
    for url, out, seconds in fresh("project", "body"):
        text, _, why = value("project", out)
        ours.add(body_set[url], text, seconds)
        if why:
            ours.dropped[why] += 1
            ours.dropped_urls.append((url, why))
    for url, out, seconds in fresh("trafilatura", "body"):
        theirs.add(body_set[url], value("trafilatura", out), seconds)

    our_dates, hd_dates = Dates(), Dates()
    date_dropped: Counter = Counter()
    for url, out, seconds in fresh("project", "dates"):
        _, found, why = value("project", out)
        if why:
            date_dropped[why] += 1
        our_dates.add(url, date_set[url], found, seconds, halves[url])
    for url, out, seconds in fresh("htmldate", "dates"):
        hd_dates.add(url, date_set[url], value("htmldate", out), seconds, halves[url])

    def f1(b: Body) -> str:
        f, p, r = b.scores()
        return f"{f:.3f} ({p:.3f} / {r:.3f})"

    def right(d: Dates) -> str:
        return f"{100 * d.right / d.pages:.1f}% ({d.none} pages with no date)" if d.pages else "-"

    def ms(seconds: float, pages: int) -> str:
        return f"{1000 * seconds / pages:.0f} ms" if pages else "-"

    print(f"body text: {len(body_set)} pages (trafilatura's set); dates: {len(date_set)} pages (htmldate's sets)\n")
    print("| | project (`extract_html`, as the crawler calls it) | trafilatura default | htmldate `find_date(original_date=True)` |")
    print("|---|---|---|---|")
    print(f"| body text F1 (precision / recall) | {f1(ours)} | {f1(theirs)} | |")
    print(f"| publication date right | {right(our_dates)} | | {right(hd_dates)} |")
    print(f"| time per page | {ms(ours.seconds, ours.pages)} (dates set: {ms(our_dates.seconds, our_dates.pages)}) "
          f"| {ms(theirs.seconds, theirs.pages)} | {ms(hd_dates.seconds, hd_dates.pages)} |")
    print(f"| dates right, half A / half B | {our_dates.half('A')} / {our_dates.half('B')} | | "
          f"{hd_dates.half('A')} / {hd_dates.half('B')} |")
    print(f"\nproject dropped {sum(ours.dropped.values())} of {ours.pages} body-set pages: "
          + (", ".join(f"{k} {v}" for k, v in ours.dropped.most_common()) or "none"))
    print(f"project dropped {sum(date_dropped.values())} of {our_dates.pages} date-set pages: "
          + (", ".join(f"{k} {v}" for k, v in date_dropped.most_common()) or "none"))
    if crashes:
        print("crashes: " + ", ".join(f"{k} {v}" for k, v in crashes.most_common()))
    if show_dropped:
        for url, why in ours.dropped_urls:
            print(f"dropped  {why:12} {url}")
    if show_wrong:
        for url, gold, found in our_dates.wrong:
            print(f"date     gold {gold} found {found}  {url}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", type=Path, default=ARCHIVE, help="extract_eval.tar.xz (default: %(default)s)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="where to unpack it (default: %(default)s)")
    parser.add_argument("--limit", type=int, help="score only the first N pages of each set (while developing)")
    parser.add_argument("--show-dropped", action="store_true", help="list the body-set pages the project dropped")
    parser.add_argument("--show-wrong-dates", action="store_true", help="list the date-set pages the project got wrong")
    args = parser.parse_args(argv)
    if not args.archive.is_file():
        print(f"error: {args.archive} not found: pass --archive with the path of extract_eval.tar.xz", file=sys.stderr)
        return 2
    if args.limit is not None and args.limit < 1:
        print("error: --limit must be a positive number of pages", file=sys.stderr)
        return 2
    run(unpack(args.archive, args.data), args.limit, args.show_dropped, args.show_wrong_dates)
    return 0


if __name__ == "__main__":
    sys.exit(main())
