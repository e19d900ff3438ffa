"""Keep credentials out of what is logged: params, tags and artifacts go through here first.

Written by hand (no library does this for MLflow): a value is hidden when its *name* says it is a
secret (``hf_token``, ``aws_secret_access_key``, ``password``...), and inside any text the user
name and password of a URI (``https://user:pass@host``) and tokens of known shapes (Hugging Face
``hf_...``, AWS access key ids) are replaced. The training package repeats the same rules
(training/hfst_train/tracking.py); a test checks that both agree on marker values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["HIDDEN", "redact_mapping", "redact_text", "redact_tree", "secret_name"]

HIDDEN = "***"
#: Names of secrets, as whole ``_``/``-``/``.`` separated words (``max_tokens`` and ``tokenizer`` are not).
_SECRET_NAME = re.compile(
    r"(?:^|[_\-.])(?:secret|token|password|passwd|pwd|passphrase|apikey|api[_\-]?key|access[_\-]?key"
    r"|private[_\-]?key|credentials?|auth|authorization|cookie|session[_\-]?key)(?:$|[_\-.])",
    re.IGNORECASE,
)
#: ``scheme://user:password@`` (or ``scheme://token@``): everything between ``//`` and ``@``.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s]+@")
#: Tokens recognisable by their shape alone.
_TOKENS = re.compile(r"\b(?:hf_[A-Za-z0-9]{20,}|(?:AKIA|ASIA)[A-Z0-9]{16}|gh[pousr]_[A-Za-z0-9]{30,})\b")


def secret_name(name: str) -> bool:
    """Whether a parameter, variable or key name says its value is a secret."""
    return bool(_SECRET_NAME.search(name))


def redact_text(text: str) -> str:
    """``text`` with URI credentials and recognisable tokens replaced by ``***``."""
    text = _USERINFO.sub(lambda m: f"{m.group('scheme')}{HIDDEN}@", text)
    return _TOKENS.sub(HIDDEN, text)


def redact_mapping(values: Mapping[str, Any]) -> dict[str, str]:
    """Name -> text, with secrets' values hidden and every other value passed through ``redact_text``."""
    return {str(k): HIDDEN if secret_name(str(k)) else redact_text(str(v)) for k, v in values.items()}


def redact_tree(value: Any) -> Any:
    """A JSON-like document (a spec, a request) with every secret hidden, at any depth."""
    if isinstance(value, Mapping):
        return {k: HIDDEN if secret_name(str(k)) else redact_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_tree(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value
