"""The DVLA rules for current-format GB registration marks (``AB51 CDE``, since September 2001).

Everything the rules say lives here as data: the regions and the DVLA offices with the
memory-tag letters each was given, the letters never used in each position, the tags never
issued, the age identifiers and the windows in which each was issued, and the letters of the
random part.  The functions below read that data:

* :func:`is_valid`, :func:`why_invalid` and :func:`parse` check one mark;
* :func:`valid_mask` checks a whole list in one vectorised call;
* :func:`generate` draws valid marks, uniformly or weighted by region, office, tag or age.

A mark is seven characters, upper case, with an optional single space between the age
identifier and the random letters (``"AB51CDE"`` or ``"AB51 CDE"``).  Lower case, other
spacing and surrounding whitespace are not marks; normalise them first if you need to.

Age identifiers: the March release (1 March - 31 August) uses the year's last two digits
(``02`` for 2002), the September release (1 September - end of February) uses year + 50
(``51`` for September 2001); ``00`` is March 2050 and ``50`` September 2050, the last release
this module knows (its marks are issued until 2051-02-28).  ``01`` was never issued.

X as the first letter (personal-export marks) is rejected unless ``export=True``; the rules
give X no offices, so with ``export=True`` an X tag takes any second letter a tag may have.
"""

from __future__ import annotations

import datetime as _dt
import numbers
from functools import lru_cache
from typing import Callable, Iterable, NamedTuple, Sequence

import numpy as np

from ..errors import InvalidDataError, InvalidParameterError
from ..random import check_seed

# ---------------------------------------------------------------------------------------------
# The rules, as data
# ---------------------------------------------------------------------------------------------

#: Letters that open a memory tag (the region), in alphabetical order.
REGION_LETTERS = "ABCDEFGHKLMNOPRSVWY"
#: Letters a memory tag may have second (the local office): A-Y without I and Q.
OFFICE_LETTERS = "ABCDEFGHJKLMNOPRSTUVWXY"
#: Letters of the random part (positions 5-7): A-Z without I and Q.
RANDOM_LETTERS = "ABCDEFGHJKLMNOPRSTUVWXYZ"
#: The first letter of personal-export marks (out of scope unless ``export=True``).
EXPORT_LETTER = "X"
EXPORT_REGION = "Personal export"
#: Letters never used in each part of a mark, with the reason given in error messages.
NEVER_USED = {
    "first letter": "IJQTUZ",
    "second letter": "IQZ",
    "random letters": "IQ",
}
#: Memory tags that were never issued.
NEVER_ISSUED_TAGS = frozenset({"FO", "FU", "NF"})
#: Notes on individual tags.
TAG_NOTES = {"HW": "Isle of Wight"}

#: Region letter, region name, and each office with the first and last second letter it was
#: given (the ranges skip I, Q and Z; never-issued tags are removed afterwards).
REGIONS: tuple[tuple[str, str, tuple[tuple[str, str, str], ...]], ...] = (
    ("A", "Anglia", (("Peterborough", "A", "N"), ("Norwich", "O", "U"), ("Ipswich", "V", "Y"))),
    ("B", "Birmingham", (("Birmingham", "A", "Y"),)),
    ("C", "Cymru", (("Cardiff", "A", "O"), ("Swansea", "P", "V"), ("Bangor", "W", "Y"))),
    ("D", "Deeside", (("Chester", "A", "K"), ("Shrewsbury", "L", "Y"))),
    ("E", "Essex", (("Chelmsford", "A", "Y"),)),
    ("F", "Forest and Fens", (("Nottingham", "A", "P"), ("Lincoln", "R", "Y"))),
    ("G", "Garden of England", (("Maidstone", "A", "O"), ("Brighton", "P", "Y"))),
    ("H", "Hampshire and Dorset", (("Bournemouth", "A", "J"), ("Portsmouth", "K", "Y"))),
    ("K", "Luton and Northampton", (("Luton", "A", "L"), ("Northampton", "M", "Y"))),
    ("L", "London", (("Wimbledon", "A", "J"), ("Stanmore", "K", "T"), ("Sidcup", "U", "Y"))),
    ("M", "Manchester and Merseyside", (("Manchester", "A", "Y"),)),
    ("N", "North", (("Newcastle", "A", "O"), ("Stockton", "P", "Y"))),
    ("O", "Oxford", (("Oxford", "A", "Y"),)),
    ("P", "Preston", (("Preston", "A", "T"), ("Carlisle", "U", "Y"))),
    ("R", "Reading", (("Reading", "A", "Y"),)),
    ("S", "Scotland", (("Glasgow", "A", "J"), ("Edinburgh", "K", "O"), ("Dundee", "P", "T"),
                       ("Aberdeen", "U", "W"), ("Inverness", "X", "Y"))),
    ("V", "Severn Valley", (("Worcester", "A", "Y"),)),
    ("W", "West of England", (("Exeter", "A", "J"), ("Truro", "K", "L"), ("Bristol", "M", "Y"))),
    ("Y", "Yorkshire", (("Leeds", "A", "K"), ("Sheffield", "L", "U"), ("Beverley", "V", "Y"))),
)

#: The first day of the current format, and the last day this module's identifiers cover.
FIRST_DAY = _dt.date(2001, 9, 1)
LAST_DAY = _dt.date(2051, 2, 28)
#: Releases from September 2001 (index 0) to September 2050 (index 98), alternating.
N_RELEASES = 99


class TagTable(NamedTuple):
    """Every memory tag in scope, in region order, with its region and office."""

    tags: tuple[str, ...]
    regions: tuple[str, ...]
    offices: tuple[str, ...]


@lru_cache(maxsize=2)
def tag_table(export: bool = False) -> TagTable:
    """The memory tags (434 by default; 457 with the X tags of ``export=True``)."""
    rows = []
    for letter, region, offices in REGIONS:
        for office, first, last in offices:
            span = OFFICE_LETTERS[OFFICE_LETTERS.index(first): OFFICE_LETTERS.index(last) + 1]
            rows += [(letter + c, region, office) for c in span if letter + c not in NEVER_ISSUED_TAGS]
    if export:
        rows += [(EXPORT_LETTER + c, EXPORT_REGION, "") for c in OFFICE_LETTERS]
    tags, regions, offices = zip(*rows)
    return TagTable(tags, regions, offices)


TAGS = tag_table().tags
REGION_NAMES = tuple(name for _, name, _ in REGIONS)
OFFICE_NAMES = tuple(dict.fromkeys(tag_table().offices))

# ---------------------------------------------------------------------------------------------
# Age identifiers and dates
# ---------------------------------------------------------------------------------------------


class Release(NamedTuple):
    """One age identifier and the window in which marks carrying it were issued."""

    age: int
    year: int
    release: str  # "March" or "September"
    issued_from: _dt.date
    issued_to: _dt.date


def release(k: int) -> Release:
    """Release ``k``: 0 is September 2001, 1 March 2002, 2 September 2002, ... 98 September 2050."""
    if k % 2 == 0:
        year = 2001 + k // 2
        end = _dt.date(year + 1, 3, 1) - _dt.timedelta(days=1)
        return Release((year - 2000) % 50 + 50, year, "September", _dt.date(year, 9, 1), end)
    year = 2002 + k // 2
    return Release((year - 2000) % 50, year, "March", _dt.date(year, 3, 1), _dt.date(year, 8, 31))


#: Age identifier -> its release, for every identifier of the scheme (all but 01).
RELEASES = {r.age: r for r in map(release, range(N_RELEASES))}


def check_date(on, name: str = "on") -> _dt.date:
    """``on`` as a date: None (today), a date, a datetime or an ISO string, within the scheme."""
    if on is None:
        on = _dt.date.today()
    elif isinstance(on, str):
        try:
            on = _dt.date.fromisoformat(on)
        except ValueError:
            raise InvalidParameterError(
                f"{name} must be a date or an ISO date string like '2026-11-22'; got {on!r}"
            ) from None
    elif isinstance(on, _dt.datetime):
        on = on.date()
    elif isinstance(on, np.datetime64):
        on = _dt.date.fromisoformat(str(on.astype("datetime64[D]")))
    elif not isinstance(on, _dt.date):
        raise InvalidParameterError(f"{name} must be a date, an ISO string or None; got {on!r}")
    if not FIRST_DAY <= on <= LAST_DAY:
        raise InvalidParameterError(
            f"{name} must be a date from {FIRST_DAY} (the first current-format release) to "
            f"{LAST_DAY} (the end of the September 2050 release); got {on}"
        )
    return on


def release_index(on=None) -> int:
    """Index of the release current on date ``on`` (default today)."""
    on = check_date(on)
    if on.month >= 9:
        return 2 * (on.year - 2001)
    if on.month >= 3:
        return 2 * (on.year - 2002) + 1
    return 2 * (on.year - 2002)


def current_age(on=None) -> int:
    """The age identifier being issued on date ``on`` (default today)."""
    return release(release_index(on)).age


def valid_ages(on=None) -> tuple[int, ...]:
    """Age identifiers issued up to date ``on`` (default today), oldest release first."""
    return tuple(release(k).age for k in range(release_index(on) + 1))


def age_label(age: int) -> str:
    """An age identifier as written on a plate: two digits."""
    return f"{int(age):02d}"


# ---------------------------------------------------------------------------------------------
# One mark
# ---------------------------------------------------------------------------------------------


class Registration(NamedTuple):
    """A parsed mark: where its tag was allocated and when its age identifier was issued."""

    reg: str  # the mark without its space, e.g. "AB51CDE"
    tag: str
    region: str
    office: str
    age: int
    year: int
    release: str
    issued_from: _dt.date
    issued_to: _dt.date
    letters: str


def _strip_space(reg) -> tuple[str | None, str | None]:
    """The seven characters of ``reg`` without its optional space, or a reason it has none."""
    if not isinstance(reg, str):
        return None, f"expected a string; got {type(reg).__name__}"
    if len(reg) == 8 and reg[4] == " ":
        return reg[:4] + reg[5:], None
    if len(reg) == 7:
        return reg, None
    return None, "expected 7 characters (8 with a space after the age identifier, as 'AB51 CDE')"


def _check_tag(tag: str, export: bool) -> str | None:
    first, second = tag
    if first == EXPORT_LETTER and not export:
        return "X (first letter) is used only on personal-export marks; pass export=True to allow it"
    if first not in REGION_LETTERS + (EXPORT_LETTER if export else ""):
        return f"{first!r} is not a region letter (first letter); expected one of {REGION_LETTERS}"
    if second not in OFFICE_LETTERS:
        return f"{second!r} is never the second letter of a memory tag; expected one of {OFFICE_LETTERS}"
    if tag in NEVER_ISSUED_TAGS:
        return f"memory tag {tag} was never issued"
    return None


def _check_age(digits: str, on: _dt.date) -> str | None:
    if not digits.isascii() or not digits.isdigit():
        return f"positions 3-4 must be the two digits of the age identifier; got {digits!r}"
    age = int(digits)
    if age not in RELEASES:
        return f"age identifier {digits} was never issued (the first was 51, September 2001)"
    if RELEASES[age].issued_from > on:
        return f"age identifier {digits} is issued from {RELEASES[age].issued_from}, after {on}"
    return None


def _check_letters(letters: str) -> str | None:
    for i, c in enumerate(letters):
        if c not in RANDOM_LETTERS:
            return f"{c!r} (position {5 + i}) is not a random letter; expected A-Z without I and Q"
    return None


def why_invalid(reg, on=None, *, export: bool = False) -> str | None:
    """The reason ``reg`` is not a valid mark on date ``on`` (default today), or None if it is."""
    on = check_date(on)
    mark, reason = _strip_space(reg)
    if reason:
        return reason
    if mark != mark.upper():
        return "marks are written in upper case (as 'AB51 CDE')"
    return _check_tag(mark[:2], export) or _check_age(mark[2:4], on) or _check_letters(mark[4:])


def is_valid(reg, on=None, *, export: bool = False) -> bool:
    """True when ``reg`` (upper case, space optional) is a mark that could be issued by ``on``."""
    return why_invalid(reg, on, export=export) is None


def parse(reg, on=None, *, export: bool = False) -> Registration:
    """Split a valid mark into its parts; ``InvalidDataError`` says why an invalid one is not."""
    reason = why_invalid(reg, on, export=export)
    if reason:
        raise InvalidDataError(f"{reg!r} is not a valid registration: {reason}")
    mark = _strip_space(reg)[0]
    table = tag_table(export)
    i = table.tags.index(mark[:2])
    r = RELEASES[int(mark[2:4])]
    return Registration(mark, mark[:2], table.regions[i], table.offices[i], r.age, r.year,
                        r.release, r.issued_from, r.issued_to, mark[4:])


# ---------------------------------------------------------------------------------------------
# Many marks at once
# ---------------------------------------------------------------------------------------------


def char_codes(regs: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """ASCII codes ``(n, 7)`` of the marks without their space, and which rows are 7-character.

    Rows that are not strings of 7 characters (8 with the space) get codes 0 and ``False``;
    a character outside ASCII becomes ``'?'``.
    """
    marks = [r[:4] + r[5:] if isinstance(r, str) and len(r) == 8 and r[4] == " " else r
             for r in regs]
    ok = np.fromiter((isinstance(m, str) and len(m) == 7 for m in marks), bool, len(marks))
    text = "".join(m if good else "\0" * 7 for m, good in zip(marks, ok))
    codes = np.frombuffer(text.encode("ascii", "replace"), dtype=np.uint8)
    return codes.reshape(len(marks), 7).copy(), ok


def _lookup(chars: str, size: int = 256) -> np.ndarray:
    table = np.zeros(size, dtype=bool)
    table[np.frombuffer(chars.encode("ascii"), dtype=np.uint8)] = True
    return table


@lru_cache(maxsize=2)
def _tag_lookup(export: bool) -> np.ndarray:
    table = np.zeros((256, 256), dtype=bool)
    for tag in tag_table(export).tags:
        table[ord(tag[0]), ord(tag[1])] = True
    return table


def valid_mask(regs: Iterable, on=None, *, export: bool = False) -> np.ndarray:
    """Vectorised :func:`is_valid`: a boolean array, one entry per element of ``regs``."""
    on = check_date(on)
    regs = list(regs)
    if not regs:
        return np.zeros(0, dtype=bool)
    codes, ok = char_codes(regs)
    ages = np.zeros(256, dtype=bool)
    digit = (codes[:, 2:4] >= 48) & (codes[:, 2:4] <= 57)
    age = np.where(digit.all(axis=1), (codes[:, 2].astype(int) - 48) * 10 + codes[:, 3] - 48, 255)
    ages[list(valid_ages(on))] = True
    letters = _lookup(RANDOM_LETTERS)[codes[:, 4:]].all(axis=1)
    return ok & _tag_lookup(export)[codes[:, 0], codes[:, 1]] & ages[age] & letters


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------

WeightFn = Callable[[str, int], float]
_WEIGHT_KEYS = ("region", "office", "tag", "age")


def _check_factor(where: str, value) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not np.isfinite(float(value)) or float(value) < 0:
        raise InvalidParameterError(f"{where} must be a finite non-negative number; got {value!r}")
    return float(value)


def _factors(weights: dict, key: str, aliases: dict, known: str) -> dict:
    """``weights[key]`` with its keys mapped through ``aliases`` to canonical names."""
    given = weights.get(key, {})
    if not isinstance(given, dict):
        raise InvalidParameterError(
            f"weights[{key!r}] must be a dict of name -> weight; got {type(given).__name__}"
        )
    out = {}
    for name, value in given.items():
        if isinstance(name, bool) or name not in aliases:
            raise InvalidParameterError(f"weights[{key!r}] has the unknown key {name!r}; {known}")
        out[aliases[name]] = _check_factor(f"weights[{key!r}][{name!r}]", value)
    return out


def _dict_weights(weights: dict, table: TagTable, ages: Sequence[int], on) -> tuple[np.ndarray, np.ndarray]:
    """Per-tag and per-age weights from a dict like ``{"region": {"London": 2.0}}``."""
    unknown = [k for k in weights if k not in _WEIGHT_KEYS]
    if unknown:
        raise InvalidParameterError(
            f"weights has the unknown key {unknown[0]!r}; expected some of {', '.join(_WEIGHT_KEYS)}"
        )
    regions = list(dict.fromkeys(table.regions))
    offices = [o for o in dict.fromkeys(table.offices) if o]
    by_region = _factors(weights, "region",
                         {r: r for r in regions} | {t[0]: r for t, r in zip(table.tags, table.regions)},
                         "expected a region name or letter: " + ", ".join(regions))
    by_office = _factors(weights, "office", {o: o for o in offices},
                         "expected an office: " + ", ".join(offices))
    by_tag = _factors(weights, "tag", {t: t for t in table.tags},
                      "expected a memory tag such as 'AB' (see ukreg_rules.TAGS)")
    by_age = _factors(weights, "age", {age_label(a): a for a in ages} | {a: a for a in ages},
                      f"expected an age identifier issued by {on}: "
                      + ", ".join(sorted(map(age_label, ages))))
    w_tag = np.array([by_region.get(r, 1.0) * by_office.get(o, 1.0) * by_tag.get(t, 1.0)
                      for t, r, o in zip(*table)])
    w_age = np.array([by_age.get(a, 1.0) for a in ages])
    return w_tag, w_age


def _callable_weights(fn: WeightFn, table: TagTable, ages: Sequence[int]) -> np.ndarray:
    w = np.empty((len(table.tags), len(ages)))
    for i, tag in enumerate(table.tags):
        for j, age in enumerate(ages):
            w[i, j] = _check_factor(f"weights({tag!r}, {age})", fn(tag, age))
    return w


def _normalised(w: np.ndarray, what: str) -> np.ndarray:
    total = w.sum()
    if not total > 0:
        raise InvalidParameterError(f"{what} are all zero; at least one must be positive")
    return np.cumsum(w.ravel() / total)


def _draw(u: np.ndarray, cdf: np.ndarray | None, size: int) -> np.ndarray:
    """Indices in ``[0, size)`` from uniforms ``u``: equally likely, or by the cumulative ``cdf``."""
    if cdf is None:
        idx = (u * size).astype(np.int64)
    else:
        idx = np.searchsorted(cdf, u, side="right")
    return np.minimum(idx, size - 1)


def _sample_parts(u: np.ndarray, table, ages, weights, on) -> tuple[np.ndarray, np.ndarray]:
    """Tag and age indices from two columns of uniforms, following ``weights``."""
    n_tags, n_ages = len(table.tags), len(ages)
    if weights is None:
        return _draw(u[:, 0], None, n_tags), _draw(u[:, 1], None, n_ages)
    if callable(weights):
        cdf = _normalised(_callable_weights(weights, table, ages), "the weights")
        flat = _draw(u[:, 0], cdf, n_tags * n_ages)
        return flat // n_ages, flat % n_ages
    if not isinstance(weights, dict):
        raise InvalidParameterError(
            "weights must be None, a dict like {'region': {'London': 2.0}} or "
            f"{{'age': {{'25': 3.0}}}}, or a callable (tag, age) -> weight; got {weights!r}"
        )
    w_tag, w_age = _dict_weights(weights, table, ages, on)
    tags = _draw(u[:, 0], _normalised(w_tag, "the memory-tag weights"), n_tags)
    return tags, _draw(u[:, 1], _normalised(w_age, "the age weights"), n_ages)


def format_marks(codes: np.ndarray, space: bool = False) -> list[str]:
    """Marks from their ASCII codes ``(n, 7)``: "AB51CDE", or "AB51 CDE" with ``space=True``."""
    if space:
        codes = np.insert(codes, 4, ord(" "), axis=1)
    width = codes.shape[1]
    return np.ascontiguousarray(codes).view(f"S{width}").ravel().astype(f"U{width}").tolist()


def generate(n: int, *, seed: int, on=None, weights=None, space: bool = False,
             export: bool = False) -> list[str]:
    """``n`` valid marks, drawn with numpy's ``Generator(PCG64(seed))``.

    Same seed, same marks; the first k marks of ``generate(n, seed=s)`` are ``generate(k, seed=s)``.

    By default every mark valid on date ``on`` (default today) is equally likely.  ``weights``
    multiplies the probability of the marks it names (anything unnamed keeps weight 1):

    * ``{"region": {"London": 2.0}}`` (a region's name or letter), ``{"office": {"Truro": 0}}``,
      ``{"tag": {"AB": 5}}``, ``{"age": {"25": 3.0}}`` (the identifier as "25" or 25); several
      keys multiply;
    * or a callable ``f(tag, age) -> weight``, called once for every memory tag and age
      identifier (e.g. ``lambda tag, age: 2.0 if tag[0] == "L" else 1.0``).

    The marks come as ``"AB51CDE"``, or ``"AB51 CDE"`` with ``space=True``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise InvalidParameterError(f"n must be a non-negative int; got {n!r}")
    seed = check_seed(seed)
    on = check_date(on)
    table, ages = tag_table(bool(export)), valid_ages(on)
    # Five uniforms per mark, drawn row by row: the first k marks never depend on n.
    u = np.random.Generator(np.random.PCG64(seed)).random((int(n), 5))
    tag_i, age_i = _sample_parts(u, table, ages, weights, on)
    tag_codes = np.frombuffer("".join(table.tags).encode("ascii"), dtype=np.uint8).reshape(-1, 2)
    age_codes = np.frombuffer("".join(map(age_label, ages)).encode("ascii"), dtype=np.uint8)
    letter_codes = np.frombuffer(RANDOM_LETTERS.encode("ascii"), dtype=np.uint8)
    codes = np.empty((int(n), 7), dtype=np.uint8)
    codes[:, :2] = tag_codes[tag_i]
    codes[:, 2:4] = age_codes.reshape(-1, 2)[age_i]
    codes[:, 4:] = letter_codes[_draw(u[:, 2:], None, len(RANDOM_LETTERS))]
    return format_marks(codes, bool(space))


__all__ = [
    "REGION_LETTERS", "OFFICE_LETTERS", "RANDOM_LETTERS", "EXPORT_LETTER", "NEVER_USED",
    "NEVER_ISSUED_TAGS", "REGIONS", "TAGS", "REGION_NAMES", "OFFICE_NAMES", "RELEASES",
    "FIRST_DAY", "LAST_DAY", "Registration", "Release", "TagTable", "tag_table", "release",
    "release_index", "current_age", "valid_ages", "age_label", "check_date", "why_invalid",
    "is_valid", "parse", "char_codes", "valid_mask", "format_marks", "generate",
]
