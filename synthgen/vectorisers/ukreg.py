"""GB registration marks <-> a float matrix: one one-hot block per character position.

A mark ``AB51CDE`` becomes seven categorical blocks, ``pos1`` .. ``pos7``, in string order.
Each block's alphabet holds only the characters that can occur at its position: the region
letters, the second letters of memory tags, the digits of the age identifiers issued by the
fit date, and three times the 24 random letters.  A model of the matrix can so never
produce a character that cannot stand where it stands.

Decoding reads each block's values as unnormalised log-probabilities (logits): a mark's
score is the sum of the values of its seven characters.  Normalising a block (log-softmax)
shifts every score by the same amount, so raw scores, logits and log-probabilities all
decode alike.  The default decoding takes the best character of each position (a
well-shaped mark whose tag or identifier may not exist, such as ``FO`` or ``27``); strict
decoding scores every valid memory tag and every valid age identifier as the sum of its two
positions and takes the best of each, so every mark it returns is valid on the fit date.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidDataError, InvalidParameterError
from . import ukreg_rules as rules
from .base import Block, Vectoriser

#: Rows decoded at once (bounds the memory of strict decoding's tag scores).
DECODE_CHUNK = 16384


def looks_like_registrations(strings, *, threshold: float = 0.95) -> bool:
    """True when at least ``threshold`` of ``strings`` are current-format marks (space optional).

    The test ignores when a mark was issued: any age identifier of the scheme counts, so a
    list with next year's marks is still recognised.
    """
    items = list(strings)
    if not items or not all(isinstance(s, str) for s in items):
        return False
    return bool(rules.valid_mask(items, rules.LAST_DAY).mean() >= threshold)


def _as_strings(data) -> tuple[list, str, Any]:
    """The marks in ``data`` as a list, the container kind and (for a Series) its name."""
    if isinstance(data, pd.Series):
        items, kind, label = data.tolist(), "series", data.name
    elif isinstance(data, np.ndarray):
        if data.ndim != 1:
            raise InvalidDataError(
                f"expected a 1-D array of registrations; got shape {data.shape}"
            )
        items, kind, label = data.tolist(), "array", None
    elif isinstance(data, (list, tuple)):
        items, kind, label = list(data), "list", None
    else:
        raise InvalidDataError(
            "expected registrations as a list, 1-D array or Series of strings; "
            f"got {type(data).__name__}"
        )
    if not items:
        raise InvalidDataError("the data is empty (no registrations)")
    for i, s in enumerate(items):
        if not isinstance(s, str):
            raise InvalidDataError(f"registration {i} ({s!r}) is of type {type(s).__name__}, not a string")
    return items, kind, label


def _alphabets(on: _dt.date) -> list[str]:
    """The characters that can occur at each of the seven positions of a mark valid on ``on``."""
    tags = rules.tag_table().tags
    ages = [rules.age_label(a) for a in rules.valid_ages(on)]
    first = "".join(sorted({t[0] for t in tags}))
    second = "".join(sorted({t[1] for t in tags}))
    tens = "".join(sorted({a[0] for a in ages}))
    units = "".join(sorted({a[1] for a in ages}))
    return [first, second, tens, units] + [rules.RANDOM_LETTERS] * 3


class UkRegVectoriser(Vectoriser):
    """One-hot per character position of GB registration marks (see the module docstring).

    Parameters
    ----------
    strict : bool, default False
        The default of :meth:`inverse_transform`: decode to the most probable fully valid mark
        (True) or to the best character of each position (False).
    on : date, ISO string or None, default None
        The date whose valid age identifiers fix the digit alphabets and strict decoding;
        None means the day ``fit`` runs.
    """

    name = "ukreg"

    def __init__(self, *, strict: bool = False, on=None):
        self.strict = strict
        self.on = on

    def get_config(self) -> dict:
        on = self.on.isoformat() if isinstance(self.on, _dt.date) else self.on
        return {"strict": self.strict, "on": on}

    # -- fitting ----------------------------------------------------------------------------
    def _fit(self, data) -> None:
        if not isinstance(self.strict, (bool, np.bool_)):
            raise InvalidParameterError(f"strict must be True or False; got {self.strict!r}")
        on = rules.check_date(self.on)
        items, kind, label = _as_strings(data)
        space = float(np.mean([len(s) == 8 and s[4] == " " for s in items])) >= 0.5
        self._set_fitted_state({"alphabets": _alphabets(on), "on": on.isoformat(), "space": space,
                                "form": kind, "label": None if label is None else str(label)})

    def _set_fitted_state(self, state: dict) -> None:
        self.alphabets_ = [str(a) for a in state["alphabets"]]
        self.on_ = rules.check_date(state["on"])
        self.space_ = bool(state["space"])
        self.form_ = str(state["form"])
        self.label_ = state["label"]
        self.blocks_, start = [], 0
        for p, alphabet in enumerate(self.alphabets_):
            self.blocks_.append(Block(f"pos{p + 1}", "categorical", start, start + len(alphabet)))
            start += len(alphabet)
        self._index = np.full((7, 256), -1, dtype=np.int16)
        for p, alphabet in enumerate(self.alphabets_):
            self._index[p, np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)] = np.arange(len(alphabet))
        self._strict_tables()

    def _strict_tables(self) -> None:
        """Which (first, second) character pairs of the tag and age blocks are valid."""
        first, second, tens, units = self.alphabets_[:4]
        self._tag_ok = np.zeros((len(first), len(second)), dtype=bool)
        for t in rules.tag_table().tags:
            self._tag_ok[first.index(t[0]), second.index(t[1])] = True
        self._age_ok = np.zeros((len(tens), len(units)), dtype=bool)
        for a in map(rules.age_label, rules.valid_ages(self.on_)):
            self._age_ok[tens.index(a[0]), units.index(a[1])] = True

    def _get_fitted_state(self) -> dict:
        return {"alphabets": list(self.alphabets_), "on": self.on_.isoformat(),
                "space": self.space_, "form": self.form_, "label": self.label_}

    def _feature_names(self) -> list[str]:
        return [f"{blk.name}_{c}" for blk, alphabet in zip(self.blocks_, self.alphabets_) for c in alphabet]

    # -- transform --------------------------------------------------------------------------
    def _transform(self, data) -> np.ndarray:
        items, _, _ = _as_strings(data)
        codes, ok = rules.char_codes(items)
        if not ok.all():
            i = int(np.argmin(ok))
            raise InvalidDataError(
                f"registration {items[i]!r} (row {i}) has the wrong length: expected 7 characters, "
                "or 8 with a space after the age identifier ('AB51 CDE')"
            )
        idx = self._index[np.arange(7), codes]
        bad = idx < 0
        if bad.any():
            i, p = (int(v) for v in np.argwhere(bad)[0])
            mark = rules.char_codes([items[i]])[0][0].tobytes().decode("ascii")
            raise InvalidDataError(
                f"registration {items[i]!r} (row {i}): {mark[p]!r} at position {p + 1} is not one of "
                f"the characters that occur there ({self.alphabets_[p]}) on {self.on_}"
            )
        X = np.zeros((len(items), self.n_features_out_), dtype=np.float32)
        starts = np.array([blk.start for blk in self.blocks_])
        X[np.arange(len(items))[:, None], starts + idx] = 1.0
        return X

    # -- inverse ----------------------------------------------------------------------------
    def inverse_transform(self, X, *, strict: bool | None = None):
        """Marks decoded from a real-valued matrix, in the form ``fit`` was given.

        ``strict`` (default: the constructor's) picks the most probable fully valid mark
        instead of the best character of each position.
        """
        if strict is None:
            return super().inverse_transform(X)
        if not isinstance(strict, (bool, np.bool_)):
            raise InvalidParameterError(f"strict must be True, False or None; got {strict!r}")
        self._check_fitted()
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features_out_:
            raise InvalidDataError(
                f"expected a matrix with {self.n_features_out_} columns; got shape {X.shape}"
            )
        return self._decode(X, bool(strict))

    recover = inverse_transform

    def _inverse(self, X: np.ndarray):
        return self._decode(X, bool(self.strict))

    def _decode(self, X: np.ndarray, strict: bool):
        X = np.asarray(X)
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        finite = np.isfinite(X).all(axis=1)
        if not finite.all():
            raise InvalidDataError(
                f"row {int(np.argmin(finite))} of the matrix to decode has NaN or infinite values"
            )
        codes = np.empty((len(X), 7), dtype=np.uint8)
        for start in range(0, len(X), DECODE_CHUNK):
            part = X[start:start + DECODE_CHUNK]
            codes[start:start + len(part)] = self._decode_chunk(part, strict)
        return self._wrap(rules.format_marks(codes, self.space_))

    def _decode_chunk(self, X: np.ndarray, strict: bool) -> np.ndarray:
        codes = np.empty((len(X), 7), dtype=np.uint8)
        for p, (blk, alphabet) in enumerate(zip(self.blocks_, self.alphabets_)):
            best = np.argmax(X[:, blk.start:blk.stop], axis=1)
            codes[:, p] = _codes(alphabet)[best]
        if strict:
            codes[:, 0], codes[:, 1] = self._best_pair(X, 0, self._tag_ok)
            codes[:, 2], codes[:, 3] = self._best_pair(X, 2, self._age_ok)
        return codes

    def _best_pair(self, X: np.ndarray, p: int, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Codes of the best valid pair of positions ``p`` and ``p + 1``: sum of their values."""
        left, right = self.blocks_[p], self.blocks_[p + 1]
        scores = X[:, left.start:left.stop, None] + X[:, None, right.start:right.stop]
        scores[:, ~ok] = -np.inf
        i, j = np.divmod(np.argmax(scores.reshape(len(X), -1), axis=1), ok.shape[1])
        return _codes(self.alphabets_[p])[i], _codes(self.alphabets_[p + 1])[j]

    def _wrap(self, marks: list[str]):
        if self.form_ == "array":
            return np.asarray(marks, dtype=f"U{8 if self.space_ else 7}")
        if self.form_ == "series":
            return pd.Series(marks, name=self.label_)
        return marks


def _codes(chars) -> np.ndarray:
    """ASCII codes of a string, or of the concatenation of a list of strings."""
    text = chars if isinstance(chars, str) else "".join(chars)
    return np.frombuffer(text.encode("ascii"), dtype=np.uint8)


__all__ = ["UkRegVectoriser", "looks_like_registrations"]
