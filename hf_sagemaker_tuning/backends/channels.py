"""A job's input channels (SageMaker's ``InputDataConfig``) with some added, replaced or removed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def merge_channels(input_data_config: list[dict[str, Any]], channels: Mapping[str, str]) -> list[dict[str, Any]]:
    """A job's ``InputDataConfig`` with ``channels`` (name -> URI) added, replaced, or removed (an empty URI).

    A new channel is shaped like the job's first one (an ``S3Prefix`` data source), so a URI
    naming one object (``.../model.tar.gz``) is downloaded as that one file.
    """
    merged: list[dict[str, Any]] = []
    for channel in input_data_config:
        name = channel["ChannelName"]
        if name not in channels:
            merged.append(channel)
        elif channels[name]:
            merged.append(_with_uri(channel, channels[name]))
    known = {c["ChannelName"] for c in input_data_config}
    template = input_data_config[0] if input_data_config else {"ChannelName": ""}
    for name, uri in channels.items():
        if name not in known and uri:
            merged.append({**_with_uri(template, uri), "ChannelName": name})
    return merged


def _with_uri(channel: dict[str, Any], uri: str) -> dict[str, Any]:
    source = dict((channel.get("DataSource") or {}).get("S3DataSource") or {})
    source.update(S3DataType="S3Prefix", S3Uri=uri)
    source.setdefault("S3DataDistributionType", "FullyReplicated")
    return {**channel, "DataSource": {"S3DataSource": source}}
