"""Vectorisers: the reversible bridge between user data and the float matrix a model fits."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd

from ..errors import InvalidDataError, InvalidParameterError
from .base import Block, NumericVectoriser, Vectoriser

# name -> (module, class); imported on first use.
_VECTORISERS = {
    "numeric": ("synthgen.vectorisers.base", "NumericVectoriser"),
    "table": ("synthgen.vectorisers.table", "TableVectoriser"),
    "creditcard": ("synthgen.vectorisers.creditcard", "CreditCardVectoriser"),
    "ukreg": ("synthgen.vectorisers.ukreg", "UkRegVectoriser"),
}


def _available() -> dict[str, tuple[str, str]]:
    import importlib.util

    return {k: v for k, v in _VECTORISERS.items() if importlib.util.find_spec(v[0]) is not None}


def vectoriser_names() -> list[str]:
    return list(_available())


def vectoriser_class(name: str) -> type[Vectoriser]:
    table = _available()
    if name not in table:
        raise InvalidParameterError(
            f"unknown vectoriser {name!r}; known: {', '.join(table)}"
        )
    module, cls = table[name]
    return getattr(importlib.import_module(module), cls)


def make_vectoriser(name: str, **kwargs) -> Vectoriser:
    return vectoriser_class(name)(**kwargs)


def auto_vectoriser(data) -> Vectoriser:
    """Pick a vectoriser for ``data``: numbers stay numbers, tables and strings get their own."""
    available = _available()
    if isinstance(data, (list, tuple)) and data and all(isinstance(s, str) for s in data):
        if "ukreg" in available:
            from .ukreg import looks_like_registrations

            if looks_like_registrations(data):
                return vectoriser_class("ukreg")()
        raise InvalidDataError(
            "got a list of strings that are not UK registrations; no vectoriser handles them"
        )
    if isinstance(data, pd.DataFrame):
        numeric = all(
            pd.api.types.is_numeric_dtype(data[c].dtype) or pd.api.types.is_bool_dtype(data[c].dtype)
            for c in data.columns
        )
        if "creditcard" in available:
            from .creditcard import looks_like_creditcard

            if looks_like_creditcard(data):
                return vectoriser_class("creditcard")()
        if "table" in available and (not numeric or data.isna().any().any()):
            return vectoriser_class("table")()
        return NumericVectoriser()
    if isinstance(data, (list, tuple)) and not data:
        raise InvalidDataError("the data is empty (an empty list)")
    if isinstance(data, np.ndarray) or isinstance(data, (list, tuple)):
        return NumericVectoriser()
    raise InvalidDataError(
        f"cannot use data of type {type(data).__name__}: give a numpy array, a pandas DataFrame "
        "or a list of strings"
    )


__all__ = [
    "Block",
    "Vectoriser",
    "NumericVectoriser",
    "vectoriser_names",
    "vectoriser_class",
    "make_vectoriser",
    "auto_vectoriser",
]


def __getattr__(name: str):
    for key, (module, cls) in _VECTORISERS.items():
        if cls == name:
            return vectoriser_class(key)
    raise AttributeError(f"module 'synthgen.vectorisers' has no attribute {name!r}")
