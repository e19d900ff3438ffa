"""Load a dataset from the Hugging Face hub, failing fast and clearly when the hub is out of reach."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from typing import Any

from ..errors import DataError

PROBE_TIMEOUT_S = 5.0
_ADVICE = "download the data elsewhere and point `source` at a local path (or an s3:// URI)"


def _offline() -> bool:
    return any(
        os.environ.get(name, "").upper() in ("1", "ON", "YES", "TRUE")
        for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    )


def hub_reachable(endpoint: str | None = None, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """Return ``None`` when the hub answers within ``timeout`` seconds, else the reason it does not.

    Any HTTP answer (even 401 or 404) counts as reachable; proxies set in the environment are used.
    """
    url = (endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/") + "/api/datasets"
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout).close()
    except urllib.error.HTTPError:
        return None
    except (urllib.error.URLError, OSError) as error:
        return str(getattr(error, "reason", error))
    return None


def load_hub_dataset(source: str, config: str | None, revision: str | None) -> dict[str, Any]:
    """``datasets.load_dataset(source, config, revision=revision)`` as a dict of splits.

    With ``HF_HUB_OFFLINE``/``HF_DATASETS_OFFLINE`` set, only the local datasets cache is used.
    Otherwise the hub is probed first (``PROBE_TIMEOUT_S``), so an unreachable hub fails in seconds
    instead of after a minute of retries. Every failure becomes a ``DataError``.
    """
    name = f"{source!r}" + (f" (config {config!r})" if config else "")
    if not _offline():
        reason = hub_reachable()
        if reason is not None:
            raise DataError(f"cannot load hub dataset {name}: the hub is unreachable ({reason}); {_ADVICE}")
    import datasets

    try:
        loaded = datasets.load_dataset(source, config, revision=revision)
    except Exception as error:
        hint = " HF_HUB_OFFLINE is set, so only the local cache was searched;" if _offline() else ""
        raise DataError(f"cannot load hub dataset {name}: {type(error).__name__}: {error}.{hint} {_ADVICE}") from None
    if isinstance(loaded, datasets.DatasetDict):
        return dict(loaded)
    return {"train": loaded}
