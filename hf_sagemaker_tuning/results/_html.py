"""Small HTML helpers the report's sections share: escaping, and a figure as an embedded PNG."""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def png_data_uri(fig: Figure) -> str:
    """A figure as a ``data:image/png;base64,...`` URI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def escape(text: str) -> str:
    """``text`` safe inside HTML elements and quoted attributes."""
    return html.escape(text, quote=True)
