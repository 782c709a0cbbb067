"""The TableVectoriser: a DataFrame of mixed column kinds <-> a float matrix, and back.

Each column is given a kind, inferred from its dtype and values or named in ``kinds``:

==============  ==============================================  ===================
kind            features                                        block kind
==============  ==============================================  ===================
continuous      one scaled number                               ``continuous``
integer         one scaled number; decoded rounded, in range    ``continuous``
datetime        one scaled number; decoded at the column's      ``continuous``
                resolution (day ... ns) and within its range
categorical     one-hot over the seen categories (+ ``<other>``  ``categorical``
                for pooled rare ones, + ``<missing>`` for gaps)
boolean         one 0/1 flag                                    ``binary``
constant        none: the value is kept aside and restored      (none)
identifier      none: each sampled row gets a fresh value of    (none)
                the training values' shape
==============  ==============================================  ===================

Inference looks past a column's dtype where a careless table needs it: a text or integer
column with a different value in (nearly) every row is an ``identifier`` (see
:func:`infer_kind`), a categorical column keeps at most
``DEFAULT_MAX_CATEGORIES`` one-hot slots unless ``max_categories`` says otherwise, and a
text column that is mostly numbers is modelled as categorical with a warning.

A non-categorical column with gaps also gets a missing indicator (a ``binary`` block),
and its value is imputed (the mean; the median under the quantile scaling) in the
matrix; a generator learns the indicator jointly with the other columns, so sampled
rows have gaps at the real rate and in the right company.  Flags and one-hot groups are
read back with calibrated thresholds (see :mod:`synthgen.vectorisers._decoding`), or with
a plain 0.5 threshold and argmax (``decoding="argmax"``).  ``inverse_transform``
gives back a DataFrame with the same columns, in the same order, with the same
dtypes (categories included) and only seen categories.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .._params import AnyOf, Bool, Choice, Float, Int, Optional, Param, validate
from ..errors import InvalidDataError, InvalidParameterError
from . import _dtypes as dt
from ._columns import KINDS, Codec, make_codec, row_hash, warn
from ._decoding import DECODINGS, fit_integer_ids, fit_text_ids, text_id_room
from ._scalers import SCALINGS
from .base import Block, Vectoriser

#: An identifier has at least this many values, all different (an integer column) ...
ID_MIN_VALUES = 30
#: ... or at least this share of them different (a text column).
ID_TEXT_DISTINCT = 0.95
#: A text column with at least this share of numbers among its values (but not all) is flagged.
MOSTLY_NUMERIC = 0.75
#: Last words of a column name that mark an integer column of distinct values as an identifier.
_ID_WORDS = {"id", "uuid", "guid", "key", "pk", "index", "idx", "no", "num", "number"}

_OPTIONS = {
    "continuous": Param("standard", Choice(*SCALINGS), "scaling of numeric and date-time columns"),
    "min_frequency": Param(None, Optional(AnyOf(
        Int(1), Float(0, 1, low_open=True, high_open=True),
        desc="a positive int (a count) or a float in (0, 1) (a share of the rows)")),
        "categories seen fewer times than this are pooled into <other>"),
    "max_categories": Param("auto", Optional(AnyOf(Choice("auto"), Int(2))),
                            "at most this many one-hot slots per column"),
    "decode_other": Param("auto", Choice("auto", "mode", "frequency"), "how <other> is decoded"),
    "handle_unknown": Param("error", Choice("error", "ignore"), "unseen categories at transform"),
    "n_quantiles": Param(1000, Int(2), "quantiles kept by the quantile scaling"),
    "decoding": Param("calibrated", Choice(*DECODINGS), "how flags and one-hot groups are read"),
    "clip_numbers": Param(False, Bool(), "decoded numbers (floats too) are clipped to the range "
                          "seen in fit (integers always are); private fits clip to the public bounds"),
    "round_floats": Param(True, Bool(), "a float column whose training values have at most 6 "
                          "decimals comes back rounded to that many"),
}


# ---------------------------------------------------------------------------------------------
# Kinds: inferred, or named and checked
# ---------------------------------------------------------------------------------------------

# kind -> dtype families it accepts
_ACCEPTS = {
    "continuous": ("int", "float"),
    "integer": ("int", "float"),
    "datetime": ("datetime", "timedelta"),
    "categorical": ("category", "bool", "int", "float", "text", "datetime", "timedelta"),
    "boolean": ("category", "bool", "int", "float", "text", "datetime", "timedelta"),
    "constant": ("category", "bool", "int", "float", "text", "datetime", "timedelta"),
    "identifier": ("int", "float", "text"),
}


def infer_kind(series: pd.Series) -> str:
    """The kind a column is given when none is named for it: the one its dtype implies,
    except that

    - a text column with at least ``ID_MIN_VALUES`` values, at least ``ID_TEXT_DISTINCT`` of
      them different, is an identifier (when their shape leaves room for as many fresh ones);
    - an integer column with at least ``ID_MIN_VALUES`` values, all different, is an
      identifier when its name ends in a word such as ``id``, ``key`` or ``no``, or when its
      values are dense (a range at most twice as wide as their count; with a warning);
    - a text column of which at least ``MOSTLY_NUMERIC`` of the values (but not all) are
      numbers is categorical, with a warning naming the other values.
    """
    fam = dt.family(series.dtype)
    if fam == "other":
        raise InvalidDataError(
            f"column {series.name!r} has dtype {series.dtype}, which a TableVectoriser cannot "
            "model; convert it to numbers, strings, booleans or date-times"
        )
    distinct = series.nunique(dropna=True)
    if distinct <= 1:
        return "constant"
    if fam == "text":
        return _text_kind(series.dropna(), distinct)
    if fam == "int" and _integer_identifier(series.dropna(), distinct):
        return "identifier"
    return {"bool": "boolean", "datetime": "datetime", "timedelta": "datetime", "int": "integer",
            "float": "continuous"}.get(fam, "categorical")


def check_kind(series: pd.Series, kind: str) -> None:
    """Refuse a named kind the column's dtype or values cannot take."""
    fam = dt.family(series.dtype)
    if fam not in _ACCEPTS[kind]:
        raise InvalidDataError(
            f"column {series.name!r} (dtype {series.dtype}) cannot be {kind}; that kind takes "
            f"{', '.join(_ACCEPTS[kind])} columns"
        )
    distinct = series.nunique(dropna=True)
    if (kind == "boolean" and distinct > 2) or (kind == "constant" and distinct > 1):
        raise InvalidDataError(
            f"column {series.name!r} cannot be {kind}: it has {distinct} distinct values"
        )
    if kind == "identifier" and fam == "float":
        x = dt.numbers_of(series, str(series.name))
        x = x[~np.isnan(x)]
        bad = x[~(np.isfinite(x) & (x == np.round(x)))]
        if bad.size:
            raise InvalidDataError(
                f"column {series.name!r} cannot be an identifier: it holds numbers that are not "
                f"integers, such as {float(bad[0])!r}"
            )


def _text_kind(observed: pd.Series, distinct: int) -> str:
    """A text column is an identifier when (nearly) every value differs and its shape leaves
    room for fresh values, else categorical, with a warning when it holds date-times, or is
    mostly numbers or date-times."""
    values = observed.to_numpy(dtype=object)
    name = str(observed.name)
    numeric = pd.to_numeric(pd.Series(values), errors="coerce").notna().to_numpy()
    if MOSTLY_NUMERIC <= numeric.mean() < 1.0:
        clean = f"pd.to_numeric(df[{name!r}], errors='coerce')"
        _warn_text(name, "numbers", values[~numeric], numeric.mean(), distinct, clean)
        return "categorical"
    textual = all(isinstance(v, str) for v in values)
    if textual:
        dates, fmt = dt.datetime_mask(values)
        if dates.mean() >= MOSTLY_NUMERIC:
            clean = f"pd.to_datetime(df[{name!r}], format={fmt!r}, errors='coerce')"
            _warn_text(name, "date-times", values[~dates], dates.mean(), distinct, clean)
            return "categorical"
    if (textual and len(values) >= ID_MIN_VALUES and distinct >= ID_TEXT_DISTINCT * len(values)
            and text_id_room(fit_text_ids(list(values))) >= len(values)):
        return "identifier"
    return "categorical"


def _warn_text(name: str, what: str, stray: np.ndarray, share: float, distinct: int,
               clean: str) -> None:
    """Warn that a column of numbers or date-times held as text is modelled as categories."""
    if stray.size:
        counts = pd.Series(stray).value_counts()
        shown = ", ".join(f"{v!r} ({c} row{'s' * (c > 1)})" for v, c in counts.head(5).items())
        more = f" and {len(counts) - 5} more" if len(counts) > 5 else ""
        held = f"is mostly {what} ({share:.1%} of its values) but also holds {shown}{more}"
        fix = f"clean it ({clean} makes the other values gaps, which are modelled)"
    else:
        held = f"holds {what} as text"
        clean = clean.replace(", errors='coerce'", "")
        fix = f"convert it ({clean}; synthgen's read_data does so for CSV and JSON Lines)"
    warn(
        f"column {name!r} {held}, so it is modelled as a categorical column of {distinct} "
        f"categories and samples only repeat its values; {fix} or declare "
        f"kinds={{{name!r}: 'categorical'}} to keep it as it is"
    )


def _integer_identifier(observed: pd.Series, distinct: int) -> bool:
    """All values distinct, and either a name that says so (``id``, ``customer_id``,
    ``OrderNo``, ...) or dense values (a range at most twice as wide as their count)."""
    n = len(observed)
    if n < ID_MIN_VALUES or distinct < n:
        return False
    lo, hi = int(observed.min()), int(observed.max())
    named = _id_name(observed.name)
    if not (named or hi - lo + 1 <= 2 * n):
        return False
    if fit_integer_ids(lo, hi, *dt.int_bounds(observed.dtype))["width"] < n:
        return False
    if not named:
        warn(
            f"column {observed.name!r} holds a different integer in every row ({lo} to {hi}), "
            "so it is taken as an identifier: samples get fresh integers, not modelled ones; "
            f"declare kinds={{{observed.name!r}: 'integer'}} if it is a quantity"
        )
    return True


def _id_name(name) -> bool:
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", str(name))
    return bool(words) and words[-1].lower() in _ID_WORDS


def _pairs(mapping, name: str) -> list[list]:
    """A mapping (or list of pairs) as a list of ``[column, value]`` pairs."""
    if mapping is None:
        return []
    try:
        items = list(mapping.items()) if isinstance(mapping, dict) else [tuple(p) for p in mapping]
        if any(len(p) != 2 for p in items):
            raise ValueError
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"{name} must be a dict of column -> value; got {mapping!r}"
        ) from None
    return [[k, v] for k, v in items]


class TableVectoriser(Vectoriser):
    """Mixed-type DataFrames <-> float matrices, with gaps, rare categories and exact dtypes.

    Parameters
    ----------
    kinds : dict, optional
        Column -> kind (``"continuous"``, ``"integer"``, ``"categorical"``, ``"boolean"``,
        ``"datetime"``, ``"constant"``, ``"identifier"``), overriding the inferred kind.
    continuous : {"standard", "minmax", "quantile"}
        How continuous, integer and date-time columns are scaled (default ``"standard"``).
    scalers : dict, optional
        Column -> scaling, overriding ``continuous`` for those columns.
    min_frequency : int or float, optional
        Categories seen fewer times (a count) or in a smaller share of the rows (a float in
        (0, 1)) are pooled into one ``<other>`` slot.
    max_categories : int, "auto" or None
        At most this many slots per categorical column (``<other>`` included, ``<missing>``
        not): the least frequent categories are pooled.  ``"auto"`` (default): at most
        ``DEFAULT_MAX_CATEGORIES`` (50), with a warning naming each column it caps; ``None``:
        no cap (memory then grows with the square of the number of categories).
    decode_other : {"auto", "mode", "frequency"}
        ``<other>`` decodes to the most frequent pooled category, or to a pooled category
        drawn with its training frequency by a number derived from the sampled row itself
        (so the same row always decodes the same way).  ``"auto"`` (default): by frequency
        in a column capped by ``max_categories="auto"``, to the most frequent otherwise.
    handle_unknown : {"error", "ignore"}
        Unseen categories at ``transform``: an ``InvalidDataError``, or an all-zero one-hot row.
    n_quantiles : int
        Quantiles kept per column by the quantile scaling (at most the number of rows).
    decoding : {"calibrated", "argmax"}
        How flags (booleans, missing indicators) and one-hot groups are read back.
        ``"argmax"``: a flag is set at >= 0.5, a group takes its argmax.  ``"calibrated"``
        (default): a flag's threshold and offsets added to a group before its argmax are set
        so that a Gaussian model of the feature gives back its training frequencies (a
        Gaussian-based generator then samples rare categories and gaps at their real rates);
        exact 0/1 and one-hot rows decode exactly as with ``"argmax"``.
    clip_numbers : bool
        Clip decoded continuous numbers to the range seen in ``fit`` (integers always are).
        The vectoriser of a private fit sets it: its range is the public bounds.
    round_floats : bool
        A float column whose training values all have at most 6 decimals (rates such as 0.25,
        amounts in cents, whole numbers stored as floats) comes back rounded to that many, so
        that a value a model gives back exactly (a point state, a category of numbers) is the
        training value and not one float32 step away from it (default True; a private fit
        sets False: the decimals are a property of the data).
    """

    name = "table"

    def __init__(self, *, kinds=None, continuous="standard", scalers=None, min_frequency=None,
                 max_categories="auto", decode_other="auto", handle_unknown="error",
                 n_quantiles=1000, decoding="calibrated", clip_numbers=False, round_floats=True):
        self.kinds = kinds
        self.continuous = continuous
        self.scalers = scalers
        self.min_frequency = min_frequency
        self.max_categories = max_categories
        self.decode_other = decode_other
        self.handle_unknown = handle_unknown
        self.n_quantiles = n_quantiles
        self.decoding = decoding
        self.clip_numbers = clip_numbers
        self.round_floats = round_floats

    def get_config(self) -> dict:
        config = {k: getattr(self, k) for k in _OPTIONS}
        config["kinds"] = _pairs(self.kinds, "kinds")
        config["scalers"] = _pairs(self.scalers, "scalers")
        return config

    # -- fitting ----------------------------------------------------------------------------
    def _options(self, frame: pd.DataFrame) -> tuple[dict, dict, dict]:
        """Validated options, plus the kinds and scalings named per column (by column name)."""
        options = validate("TableVectoriser", _OPTIONS, {k: getattr(self, k) for k in _OPTIONS})
        names = {str(c) for c in frame.columns}
        kinds = dict((str(k), v) for k, v in _pairs(self.kinds, "kinds"))
        scalers = dict((str(k), v) for k, v in _pairs(self.scalers, "scalers"))
        for what, table, allowed in (("kinds", kinds, KINDS), ("scalers", scalers, SCALINGS)):
            for col, value in table.items():
                if col not in names:
                    raise InvalidParameterError(
                        f"{what} names column {col!r}, which is not in the data"
                    )
                if value not in allowed:
                    raise InvalidParameterError(
                        f"{what}[{col!r}] must be one of {', '.join(map(repr, allowed))}; "
                        f"got {value!r}"
                    )
        return options, kinds, scalers

    def _fit(self, data) -> None:
        frame = _check_frame(data)
        options, kinds, scalers = self._options(frame)
        self.labels_ = [_json_label(c) for c in frame.columns]
        self.codecs_ = []
        for i, label in enumerate(frame.columns):
            series, name = frame.iloc[:, i], str(label)
            kind = kinds.get(name)
            if kind is None:
                kind = infer_kind(series.rename(name))
            else:
                check_kind(series.rename(name), kind)
            opts = dict(options, scalers=scalers, salt=i)
            codec = make_codec(kind, name, dt.dtype_spec(series.dtype, name), opts)
            self.codecs_.append(codec.fit(series))
        self._layout()

    def _layout(self) -> None:
        self.blocks_, self.feature_names_, self._widths = [], [], []
        for codec in self.codecs_:
            layout = codec.layout()
            self._widths.append(sum(len(names) for _, _, names in layout))
            for block_name, kind, names in layout:
                start = len(self.feature_names_)
                self.blocks_.append(Block(block_name, kind, start, start + len(names)))
                self.feature_names_ += names

    # -- transforming -----------------------------------------------------------------------
    def _transform(self, data) -> np.ndarray:
        frame = _check_frame(data)
        present = {c: i for i, c in enumerate(frame.columns)}
        absent = [c for c in self.labels_ if c not in present]
        if absent:
            raise InvalidDataError(
                f"missing columns: {', '.join(map(repr, absent))} (the vectoriser was fitted on "
                f"{len(self.labels_)} columns)"
            )
        parts = [codec.encode(frame.iloc[:, present[label]])
                 for label, codec in zip(self.labels_, self.codecs_)]
        parts = [p for p in parts if p.shape[1]]
        return np.hstack(parts) if parts else np.empty((len(frame), 0))

    def _inverse(self, X: np.ndarray) -> pd.DataFrame:
        X = np.asarray(X, dtype=np.float64)
        hashes = row_hash(X) if any(c.uses_row_hash for c in self.codecs_) else None
        columns, start = {}, 0
        for i, (codec, width) in enumerate(zip(self.codecs_, self._widths)):
            columns[i] = codec.decode(X[:, start:start + width], hashes).reset_index(drop=True)
            start += width
        frame = pd.DataFrame(columns, index=pd.RangeIndex(len(X)))
        frame.columns = self.labels_
        return frame

    def _feature_names(self) -> list[str]:
        return list(self.feature_names_)

    # -- fitted attributes ------------------------------------------------------------------
    @property
    def kinds_(self) -> dict:
        """Column -> the kind it was given."""
        self._check_fitted()
        return {label: codec.kind for label, codec in zip(self.labels_, self.codecs_)}

    @property
    def dtypes_(self) -> dict:
        """Column -> the dtype it is given back with."""
        self._check_fitted()
        return {label: dt.restore_dtype(c.spec) for label, c in zip(self.labels_, self.codecs_)}

    # -- persistence ------------------------------------------------------------------------
    def _get_fitted_state(self) -> dict:
        return {
            "labels": list(self.labels_),
            "columns": [
                {"name": c.name, "kind": c.kind, "dtype": c.spec, "options": _json_options(c),
                 "codec": c.get_state()}
                for c in self.codecs_
            ],
        }

    def _set_fitted_state(self, state: dict) -> None:
        self.labels_ = list(state["labels"])
        self.codecs_ = []
        for col in state["columns"]:
            options = dict(col["options"])
            options["scalers"] = dict(options["scalers"])
            codec = make_codec(col["kind"], col["name"], dict(col["dtype"]), options)
            self.codecs_.append(codec.set_state(col["codec"]))
        self._layout()


def _json_options(codec: Codec) -> dict:
    options = dict(codec.options)
    options["scalers"] = [[k, v] for k, v in options["scalers"].items() if k == codec.name]
    return options


def _json_label(label):
    if isinstance(label, np.generic):
        label = label.item()
    if isinstance(label, bool) or not isinstance(label, (str, int)):
        raise InvalidDataError(
            f"column labels must be strings or ints; got {label!r} ({type(label).__name__})"
        )
    return label


def _check_frame(data) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise InvalidDataError(
            f"a TableVectoriser takes a pandas DataFrame; got {type(data).__name__}"
        )
    if data.shape[1] == 0:
        raise InvalidDataError("the data has no columns")
    if data.shape[0] == 0:
        raise InvalidDataError("the data is empty (0 rows)")
    if data.columns.has_duplicates:
        dups = data.columns[data.columns.duplicated()].unique().tolist()
        raise InvalidDataError(f"duplicate column names: {dups!r}")
    return data
