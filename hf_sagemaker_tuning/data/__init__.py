"""Dataset preparation: from the hub, local files, an installed package or S3 to tokenized channels.

``prepare_dataset`` writes one ``save_to_disk`` folder per channel (``train``, ``validation`` and, when
the source has one, ``test``) plus ``manifest.json``, locally or under ``s3://bucket/prefix``; a second
identical call is a cache hit. ``prepare_for_job`` does the same for a whole job spec: it picks the
output the job reads and the tokenizer of the job's model (``package://`` resolved). Importing this
package is cheap: ``datasets`` and ``transformers`` are imported only when data is prepared.
"""

from __future__ import annotations

from ._job import default_output, prepare_for_job
from ._prepare import load_manifest, prepare_dataset
from ._result import PreparedDataset, SplitReport
from ._splits import stratified_pick
from ._tokenize import LengthStats

__all__ = [
    "LengthStats",
    "PreparedDataset",
    "SplitReport",
    "default_output",
    "load_manifest",
    "prepare_dataset",
    "prepare_for_job",
    "stratified_pick",
]
