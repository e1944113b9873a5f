"""Test helpers: conformance checks and synthetic fixtures; the library never imports them."""

from __future__ import annotations
