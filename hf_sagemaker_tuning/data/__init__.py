"""Dataset preparation: from the hub, local files, an installed package or S3 to tokenized channels.

``prepare_dataset`` writes one ``save_to_disk`` folder per channel (``train``, ``validation`` and, when
the source has one, ``test``) plus ``manifest.json``, locally or under ``s3://bucket/prefix``; a second
identical call is a cache hit. Importing this package is cheap: ``datasets`` and ``transformers`` are
imported only when data is prepared.
"""

from __future__ import annotations

from ._prepare import load_manifest, prepare_dataset
from ._result import PreparedDataset, SplitReport
from ._splits import stratified_pick
from ._tokenize import LengthStats

__all__ = ["LengthStats", "PreparedDataset", "SplitReport", "load_manifest", "prepare_dataset", "stratified_pick"]
