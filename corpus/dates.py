"""Dates written in text ("4 March 2016", "4. März 2016", "2016-03-04"), and which of them can
be a publication date. The crawler's extractor reads them in pages, the importer in files.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

EARLIEST = date(1990, 1, 1)  # no think-tank commentary we collect is older; an earlier date is a misreading

# Month names and their usual abbreviations in the languages of the sources (English, German,
# French, Spanish, Italian, Dutch, Portuguese). Abbreviations that are also common words in
# one of these languages ("set", "out", "ago", "mag", "gen") are left out.
_MONTH_NAMES = {
    1: "january jan januar jänner janvier janv enero gennaio januari janeiro",
    2: "february feb februar février fevrier févr febrero febbraio februari fevereiro",
    3: "march mar märz maerz mär mrz mars marzo maart março",
    4: "april apr avril avr abril aprile",
    5: "may mai mayo maggio mei maio",
    6: "june jun juni juin junio giugno junho",
    7: "july jul juli juillet juil julio luglio julho",
    8: "august aug août aout agosto augustus",
    9: "september sep sept septembre septiembre settembre setembro",
    10: "october oct oktober okt octobre octubre ottobre outubro",
    11: "november nov novembre noviembre novembro",
    12: "december dec dezember dez décembre decembre déc diciembre dicembre dezembro",
}
_MONTHS = {name: month for month, names in _MONTH_NAMES.items() for name in names.split()}
# A whole month name (longest first, so "march" is not read as "mar"), or an English one's
# first three letters with any ending ("Sept", "Febr"); then an optional abbreviation dot.
_MON = (r"(" + "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True))
        + r"|(?:jan|feb|mar|apr|jun|jul|aug|sep|oct|nov|dec)[a-z]*)(?![^\W\d_])\.?")
_DATE_PATTERNS = [
    # 2016-03-04 or 2016-03-04T09:00:00
    (re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)"), ("y", "m", "d")),
    # 4 March 2016, 4. März 2016, 1er avril 2016, 4 de marzo de 2016
    (re.compile(rf"(?<![\w.])(\d{{1,2}})(?:st|nd|rd|th|er|º)?\.?\s+(?:de\s+)?{_MON}\s*,?\s+(?:de\s+)?(\d{{4}})\b", re.I),
     ("d", "mon", "y")),
    # March 4, 2016
    (re.compile(rf"(?<![^\W\d_]){_MON}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I), ("mon", "d", "y")),
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
                    month = _MONTHS.get(mon) or _MONTHS[mon[:3]]  # "Sept", "Febr": an English name's start
                else:
                    month = int(parts["m"])
                d = date(int(parts["y"]), month, int(parts["d"]))
            except (KeyError, ValueError):
                continue
            if plausible(d, today):
                found.append((m.start(), d))
    return min(found)[1] if found else None
