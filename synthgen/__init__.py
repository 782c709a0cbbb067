"""synthgen: learn the distribution of a table or of structured strings, and sample new rows.

Heavy modules (JAX and the generators) load on first use, so ``import synthgen`` and the
command line's ``--help`` stay fast.
"""

from __future__ import annotations

import importlib

from ._version import __version__
from .errors import (
    InvalidDataError,
    InvalidParameterError,
    ModelFileError,
    NotFittedError,
    OutputFileError,
    SamplingError,
    SynthgenError,
)
from .registry import describe_generators, list_generators, make

_LAZY = {
    "load": ("synthgen.loading", "load"),
    "Generator": ("synthgen.base", "Generator"),
    "datasets": ("synthgen.datasets", None),
    "vectorisers": ("synthgen.vectorisers", None),
    "sampling": ("synthgen.sampling", None),
    "evaluation": ("synthgen.evaluation", None),
    "evaluate": ("synthgen.evaluation", "evaluate"),
    "augment": ("synthgen.augment", None),
}

__all__ = [
    "__version__",
    "make",
    "load",
    "list_generators",
    "describe_generators",
    "Generator",
    "datasets",
    "vectorisers",
    "sampling",
    "evaluation",
    "evaluate",
    "augment",
    "SynthgenError",
    "InvalidDataError",
    "InvalidParameterError",
    "NotFittedError",
    "ModelFileError",
    "SamplingError",
    "OutputFileError",
]


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name]
        mod = importlib.import_module(module)
        value = mod if attr is None else getattr(mod, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'synthgen' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
