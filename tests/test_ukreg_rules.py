"""The DVLA rules for GB registration marks, checked against the published rules."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from synthgen.errors import InvalidDataError, InvalidParameterError
from synthgen.vectorisers import ukreg_rules as R

ON = dt.date(2026, 11, 22)

# Written from DVLA leaflet INF104 / the reference table, independently of the module.
KNOWN_VALID = [
    "AB51 CDE", "AB51CDE", "LA51ABC", "YY76ZZZ", "HW26ZZZ", "SX02AAA", "BD51SMR", "MA10XYZ",
    "FP55KKK", "FR07LLL", "NG66NNN", "NP20PPP", "WK15ABC", "CW71ZZY", "KM60JJJ", "OY09HHH",
    "VA73RST", "RJ24UVW", "EY58ABZ", "PU25BCD",
]
KNOWN_INVALID = [
    "YK66BIQ",   # I and Q are never random letters
    "YK66BQA",
    "MQ64PLS",   # Q is never the second letter of a tag
    "MI64PLS",   # nor I
    "MZ64PLS",   # nor Z
    "XA51ABC",   # X: personal export only, out of scope by default
    "FO02ABC", "FU02ABC", "NF02ABC",  # never issued
    "AB01ABC",   # 01 was never issued
    "AB27ABC",   # March 2027: in the future on 2026-11-22
    "AB77ABC",   # September 2027
    "GA00ABC", "GA50ABC",  # March and September 2050
    "ZZ51ABC", "ZA51ABC", "IA51ABC", "JA51ABC", "QA51ABC", "TA51ABC", "UA51ABC",
    "ab51cde", "AB51cde",          # marks are upper case
    "AB51  CDE", "AB 51CDE", " AB51CDE", "AB51CDE ", "AB51CD", "AB51CDEF", "",
    "AB5ICDE", "ABC1CDE", "A851CDE",
]

# An independent statement of the rules as a regular expression plus the three exceptions.
PATTERN = re.compile(r"^([ABCDEFGHKLMNOPRSVWY][A-HJ-PR-Y])(\d\d) ?([A-HJ-PR-Z]{3})$")


def reference_valid(reg: str, on: dt.date) -> bool:
    m = PATTERN.match(reg)
    if not m or m.group(1) in ("FO", "FU", "NF"):
        return False
    age = int(m.group(2))
    if 2 <= age <= 49 or age == 0:
        year, start = (2050 if age == 0 else 2000 + age), 3
    elif 51 <= age <= 99 or age == 50:
        year, start = (2050 if age == 50 else 1950 + age), 9
    else:
        return False
    return dt.date(year, start, 1) <= on


@pytest.mark.parametrize("reg", KNOWN_VALID)
def test_known_valid(reg):
    assert R.is_valid(reg, ON)
    assert R.why_invalid(reg, ON) is None


@pytest.mark.parametrize("reg", KNOWN_INVALID)
def test_known_invalid(reg):
    assert not R.is_valid(reg, ON)
    with pytest.raises(InvalidDataError, match="not a valid registration"):
        R.parse(reg, ON)


@pytest.mark.parametrize("reg, reason", [
    ("YK66BIQ", "'I' \\(position 6\\)"),
    ("MQ64PLS", "'Q' is never the second letter"),
    ("XA51ABC", "personal-export"),
    ("NF02ABC", "NF was never issued"),
    ("AB01ABC", "01 was never issued"),
    ("AB27ABC", "issued from 2027-03-01"),
    ("ZZ51ABC", "'Z' is not a region letter"),
    ("ab51cde", "upper case"),
    ("AB51CD", "7 characters"),
])
def test_reasons(reg, reason):
    assert re.search(reason, R.why_invalid(reg, ON))


def test_non_strings_are_invalid():
    assert not R.is_valid(None, ON)
    assert not R.is_valid(1234567, ON)
    assert "string" in R.why_invalid(b"AB51CDE", ON)


def test_counts_from_the_rules():
    assert len(R.TAGS) == len(set(R.TAGS)) == 434 == 19 * 23 - 3
    assert len(R.REGION_LETTERS) == 19 and len(R.RANDOM_LETTERS) == 24
    assert {t[0] for t in R.TAGS} == set(R.REGION_LETTERS)
    assert {t[1] for t in R.TAGS} == set(R.OFFICE_LETTERS)
    assert not set(R.REGION_LETTERS) & set(R.NEVER_USED["first letter"] + "X")
    assert not set(R.OFFICE_LETTERS) & set(R.NEVER_USED["second letter"])
    assert not set(R.RANDOM_LETTERS) & set(R.NEVER_USED["random letters"])
    assert R.NEVER_ISSUED_TAGS.isdisjoint(R.TAGS)
    assert len(R.valid_ages(ON)) == 51
    assert len(R.TAGS) * len(R.valid_ages(ON)) * 24 ** 3 == 305_980_416
    assert len(R.tag_table(export=True).tags) == 434 + 23


def test_every_office_range_is_contiguous_and_covers_its_region():
    table = R.tag_table()
    for letter, region, offices in R.REGIONS:
        seconds = [t[1] for t, r in zip(table.tags, table.regions) if r == region]
        expected = [c for c in R.OFFICE_LETTERS if letter + c not in R.NEVER_ISSUED_TAGS]
        assert seconds == expected
        assert all(t[0] == letter for t, r in zip(table.tags, table.regions) if r == region)


@pytest.mark.parametrize("reg, region, office", [
    ("AN51ABC", "Anglia", "Peterborough"), ("AO51ABC", "Anglia", "Norwich"),
    ("AV51ABC", "Anglia", "Ipswich"), ("CP51ABC", "Cymru", "Swansea"),
    ("CW51ABC", "Cymru", "Bangor"), ("DK51ABC", "Deeside", "Chester"),
    ("DL51ABC", "Deeside", "Shrewsbury"), ("FP51ABC", "Forest and Fens", "Nottingham"),
    ("FR51ABC", "Forest and Fens", "Lincoln"), ("GP51ABC", "Garden of England", "Brighton"),
    ("HJ51ABC", "Hampshire and Dorset", "Bournemouth"), ("HW51ABC", "Hampshire and Dorset", "Portsmouth"),
    ("KL51ABC", "Luton and Northampton", "Luton"), ("KM51ABC", "Luton and Northampton", "Northampton"),
    ("LJ51ABC", "London", "Wimbledon"), ("LK51ABC", "London", "Stanmore"),
    ("LU51ABC", "London", "Sidcup"), ("NO51ABC", "North", "Newcastle"),
    ("NP51ABC", "North", "Stockton"), ("PT51ABC", "Preston", "Preston"),
    ("PU51ABC", "Preston", "Carlisle"), ("SJ51ABC", "Scotland", "Glasgow"),
    ("SO51ABC", "Scotland", "Edinburgh"), ("ST51ABC", "Scotland", "Dundee"),
    ("SW51ABC", "Scotland", "Aberdeen"), ("SX51ABC", "Scotland", "Inverness"),
    ("WK51ABC", "West of England", "Truro"), ("WM51ABC", "West of England", "Bristol"),
    ("YK51ABC", "Yorkshire", "Leeds"), ("YU51ABC", "Yorkshire", "Sheffield"),
    ("YV51ABC", "Yorkshire", "Beverley"), ("BY51ABC", "Birmingham", "Birmingham"),
])
def test_parse_region_and_office(reg, region, office):
    p = R.parse(reg, ON)
    assert (p.region, p.office, p.tag, p.letters) == (region, office, reg[:2], "ABC")


@pytest.mark.parametrize("reg, age, year, release, start, end", [
    ("AB51 CDE", 51, 2001, "September", dt.date(2001, 9, 1), dt.date(2002, 2, 28)),
    ("AB02CDE", 2, 2002, "March", dt.date(2002, 3, 1), dt.date(2002, 8, 31)),
    ("AB53CDE", 53, 2003, "September", dt.date(2003, 9, 1), dt.date(2004, 2, 29)),
    ("AB25CDE", 25, 2025, "March", dt.date(2025, 3, 1), dt.date(2025, 8, 31)),
    ("AB76CDE", 76, 2026, "September", dt.date(2026, 9, 1), dt.date(2027, 2, 28)),
])
def test_parse_age_and_window(reg, age, year, release, start, end):
    p = R.parse(reg, ON)
    assert p.reg == reg.replace(" ", "")
    assert (p.age, p.year, p.release, p.issued_from, p.issued_to) == (age, year, release, start, end)


def test_the_last_identifiers_of_the_scheme():
    assert R.RELEASES[0][1:3] == (2050, "March") and R.RELEASES[50][1:3] == (2050, "September")
    assert R.RELEASES[99][1:3] == (2049, "September") and 1 not in R.RELEASES
    assert len(R.RELEASES) == 99
    assert R.parse("AB50CDE", R.LAST_DAY).issued_to == dt.date(2051, 2, 28)
    assert R.is_valid("GA00ABC", dt.date(2050, 3, 1)) and not R.is_valid("GA00ABC", dt.date(2050, 2, 28))


@pytest.mark.parametrize("on, age, n_valid", [
    (dt.date(2001, 9, 1), 51, 1), (dt.date(2002, 2, 28), 51, 1), (dt.date(2002, 3, 1), 2, 2),
    (dt.date(2026, 8, 31), 26, 50), (dt.date(2026, 9, 1), 76, 51), (dt.date(2027, 2, 28), 76, 51),
    (dt.date(2027, 3, 1), 27, 52), (dt.date(2050, 3, 1), 0, 98), (R.LAST_DAY, 50, 99),
])
def test_age_identifier_on_a_date(on, age, n_valid):
    assert R.current_age(on) == age
    ages = R.valid_ages(on)
    assert len(ages) == len(set(ages)) == n_valid and ages[-1] == age and ages[0] == 51


def test_valid_ages_on_the_reference_date():
    assert set(R.valid_ages(ON)) == set(range(2, 27)) | set(range(51, 77))


@pytest.mark.parametrize("on", [dt.date(2001, 8, 31), dt.date(2051, 3, 1), "22/11/2026", 20261122])
def test_dates_outside_the_scheme_are_rejected(on):
    with pytest.raises(InvalidParameterError, match="on must be"):
        R.valid_ages(on)


def test_dates_in_other_forms():
    assert R.valid_ages("2026-11-22") == R.valid_ages(dt.datetime(2026, 11, 22, 18, 5))
    assert R.valid_ages(np.datetime64("2026-11-22")) == R.valid_ages(ON)
    assert R.valid_ages(None) == R.valid_ages(dt.date.today())


def test_export_marks_need_the_option():
    assert R.is_valid("XA51ABC", ON, export=True)
    assert R.parse("XY26ZZZ", ON, export=True).region == "Personal export"
    assert not R.is_valid("XZ51ABC", ON, export=True)


# -- vectorised validity ---------------------------------------------------------------------

_chars = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 a")
_marks = st.one_of(
    st.text(_chars, min_size=6, max_size=9),
    st.builds(lambda t, a, s, l: t + a + s + l, st.sampled_from(R.TAGS + ("FO", "XA", "QA", "AZ")),
              st.sampled_from([f"{i:02d}" for i in range(100)]), st.sampled_from(["", " "]),
              st.text(st.sampled_from("ABCIQZ"), min_size=3, max_size=3)),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_marks, min_size=1, max_size=40))
def test_valid_mask_agrees_with_is_valid_and_the_reference(regs):
    mask = R.valid_mask(regs, ON)
    assert mask.tolist() == [R.is_valid(r, ON) for r in regs]
    assert mask.tolist() == [reference_valid(r, ON) for r in regs]


def test_valid_mask_on_mixed_input():
    regs = KNOWN_VALID + KNOWN_INVALID + [None, 5, "AB51CDÉ"]
    assert R.valid_mask(regs, ON).tolist() == [True] * len(KNOWN_VALID) + [False] * (len(KNOWN_INVALID) + 3)
    assert R.valid_mask([], ON).shape == (0,)


# -- generation ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plates():
    return R.generate(100_000, seed=7, on=ON)


def test_generated_marks_are_valid_and_cover_every_tag_and_age(plates):
    assert len(plates) == 100_000 and all(len(p) == 7 for p in plates)
    assert R.valid_mask(plates, ON).all()
    assert all(R.is_valid(p, ON) for p in plates[:3000])
    assert {p[:2] for p in plates} == set(R.TAGS)
    assert {int(p[2:4]) for p in plates} == set(R.valid_ages(ON))


def test_generation_is_uniform(plates):
    # Regions: expected in proportion to their number of tags.
    table = R.tag_table()
    tags_per_region = Counter(table.regions)
    region_of = dict(zip(table.tags, table.regions))
    seen = Counter(region_of[p[:2]] for p in plates)
    regions = list(tags_per_region)
    expected = np.array([tags_per_region[r] for r in regions]) / 434 * len(plates)
    assert stats.chisquare([seen[r] for r in regions], expected).pvalue > 1e-6
    ages = Counter(p[2:4] for p in plates)
    assert stats.chisquare(list(ages.values())).pvalue > 1e-6
    for pos in range(4, 7):
        letters = Counter(p[pos] for p in plates)
        assert set(letters) == set(R.RANDOM_LETTERS)
        assert stats.chisquare(list(letters.values())).pvalue > 1e-6


def test_generation_is_reproducible():
    a = R.generate(1000, seed=3, on=ON)
    assert a == R.generate(1000, seed=3, on=ON)
    assert a != R.generate(1000, seed=4, on=ON)
    assert R.generate(1000, seed=3, on=ON, space=True) == [p[:4] + " " + p[4:] for p in a]
    assert R.generate(0, seed=3, on=ON) == []
    assert R.generate(10, seed=3, on=ON) == a[:10]
    w = {"region": {"London": 2.0}}
    assert R.generate(10, seed=3, on=ON, weights=w) == R.generate(500, seed=3, on=ON, weights=w)[:10]


def test_region_weights_are_honoured():
    plates = R.generate(40_000, seed=11, on=ON, weights={"region": {"London": 3.0, "S": 0.5}})
    table = R.tag_table()
    region_of = dict(zip(table.tags, table.regions))
    factor = {"London": 3.0, "Scotland": 0.5}
    n_tags = Counter(table.regions)
    regions = list(n_tags)
    w = np.array([n_tags[r] * factor.get(r, 1.0) for r in regions])
    seen = Counter(region_of[p[:2]] for p in plates)
    assert stats.chisquare([seen[r] for r in regions], w / w.sum() * len(plates)).pvalue > 1e-6
    assert R.valid_mask(plates, ON).all()


def test_age_office_and_tag_weights_are_honoured():
    plates = R.generate(20_000, seed=5, on=ON,
                        weights={"age": {"25": 0, 76: 0}, "office": {"Truro": 0}, "tag": {"AB": 0}})
    assert not {p[2:4] for p in plates} & {"25", "76"}
    assert not {p[:2] for p in plates} & {"WK", "WL", "AB"}
    only = R.generate(5000, seed=5, on=ON, weights={"age": {a: 0 for a in R.valid_ages(ON) if a != 25}})
    assert {p[2:4] for p in only} == {"25"}
    heavy = R.generate(30_000, seed=9, on=ON, weights={"age": {"25": 3.0}})
    share = np.mean([p[2:4] == "25" for p in heavy])
    n = len(R.valid_ages(ON))
    assert stats.binomtest(int(share * len(heavy)), len(heavy), 3 / (n + 2)).pvalue > 1e-6


def test_callable_weights():
    plates = R.generate(2000, seed=1, on=ON, weights=lambda tag, age: float(tag == "LA" and age > 50))
    assert {p[:2] for p in plates} == {"LA"} and all(int(p[2:4]) > 50 for p in plates)
    assert R.valid_mask(plates, ON).all()


@pytest.mark.parametrize("weights, message", [
    ({"regio": {}}, "unknown key 'regio'"),
    ({"region": {"Londn": 2}}, "unknown key 'Londn'.*London"),
    ({"region": ["London"]}, "must be a dict"),
    ({"age": {"27": 2}}, "unknown key '27'.*issued by 2026-11-22"),
    ({"tag": {"AB": -1}}, r"weights\['tag'\]\['AB'\] must be a finite non-negative number"),
    ({"office": {"Truro": "2"}}, "must be a finite non-negative number"),
    ({"age": {"25": float("nan")}}, "must be a finite non-negative number"),
    ({"region": {r: 0 for r in R.REGION_NAMES}}, "all zero"),
    (lambda tag, age: -1.0, "must be a finite non-negative number"),
    ("London", "weights must be None, a dict"),
])
def test_bad_weights(weights, message):
    with pytest.raises(InvalidParameterError, match=message):
        R.generate(10, seed=0, on=ON, weights=weights)


@pytest.mark.parametrize("kwargs, message", [
    ({"n": -1, "seed": 0}, "n must be a non-negative int"),
    ({"n": 2.5, "seed": 0}, "n must be a non-negative int"),
    ({"n": 5, "seed": -3}, "seed must be"),
    ({"n": 5, "seed": 0, "on": "2000-01-01"}, "on must be a date from 2001-09-01"),
])
def test_bad_generate_arguments(kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        R.generate(**kwargs)


def test_export_generation():
    plates = R.generate(20_000, seed=2, on=ON, export=True)
    assert any(p[0] == "X" for p in plates)
    assert R.valid_mask(plates, ON, export=True).all()
    assert not R.valid_mask(plates, ON).all()
