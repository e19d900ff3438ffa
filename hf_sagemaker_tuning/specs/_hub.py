"""Hugging Face hub ids, checked for syntax offline (huggingface_hub's ``validate_repo_id`` rules).

A hub id is ``name`` or ``namespace/name``: letters, digits, ``_``, ``-`` and ``.``, each part starting and
ending with a letter, digit or ``_``, the name at most 96 characters, no ``--`` or ``..``, not ending in
``.git``. An id that breaks these rules cannot exist on the hub, so it is refused before any trial starts.
"""

from __future__ import annotations

import os
import re

from ._errors import shorten

_PART = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_])?$")
MAX_HUB_NAME = 96


def hub_id_problem(value: str) -> str | None:
    """Why ``value`` cannot be a hub repository id, or ``None`` when its syntax is fine."""
    parts = value.split("/")
    if len(parts) > 2:
        return f"{shorten(value)} is not a hub id: use `name` or `namespace/name` (one slash at most)"
    for part in parts:
        if not _PART.match(part):
            return (
                f"{shorten(value)} is not a hub id: each part uses letters, digits, '_', '-' and '.', and starts "
                "and ends with a letter, digit or '_'"
            )
    if len(parts[-1]) > MAX_HUB_NAME:
        return f"{shorten(value)} is not a hub id: the name is {len(parts[-1])} characters, at most {MAX_HUB_NAME}"
    if "--" in value or ".." in value:
        return f"{shorten(value)} is not a hub id: '--' and '..' are not allowed"
    if value.endswith(".git"):
        return f"{shorten(value)} is not a hub id: it must not end in '.git'"
    return None


def looks_like_local_path(value: str) -> bool:
    """True for text that names a folder on this machine rather than a hub id (``./m``, ``/m``, ``a/b/c``)."""
    return (
        value.startswith((".", "/", "~"))
        or "\\" in value
        or value.count("/") > 1
        or os.path.isabs(value)
        or bool(re.match(r"^[A-Za-z]:", value))
    )


def model_reference_problem(value: str) -> str | None:
    """Why ``value`` is no usable ``training.model`` (hub id, local folder or ``package://``), else ``None``.

    Only the syntax is checked here; a local folder's contents are checked by the pre-flight.
    """
    if value.startswith("package://"):
        return None
    if "://" in value:
        return (
            f"{shorten(value)}: a model is a hub id, a local folder or package://dist/path; "
            "from_pretrained cannot read other URIs"
        )
    return None if looks_like_local_path(value) else hub_id_problem(value)
