"""The package version, readable without importing the rest of simlab."""

from __future__ import annotations

__version__ = "0.1.0"
