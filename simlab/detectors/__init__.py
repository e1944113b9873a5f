"""Monitors: one protocol, ``fit(reference)`` then ``update(view) -> Verdict`` per tick."""

from __future__ import annotations

from simlab.detectors.base import DETECTORS, BaseDetector, Detector, Tags, Verdict, View, Watches

__all__ = ["DETECTORS", "BaseDetector", "Detector", "Tags", "Verdict", "View", "Watches"]
