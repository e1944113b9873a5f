"""Monitors: one protocol, ``fit(reference)`` then ``update(view) -> Verdict`` per tick."""

from __future__ import annotations

from simlab.detectors.base import DETECTORS, BaseDetector, Detector, Tags, Verdict, View, Watches
from simlab.detectors.features import KS, PSI
from simlab.detectors.oracle import OracleCUSUM
from simlab.detectors.performance import WindowedMetric
from simlab.detectors.quality import (
    Cardinality,
    NullRate,
    RangeCheck,
    SchemaCheck,
    UnseenCategories,
)
from simlab.detectors.scores import ScorePSI

__all__ = [
    "DETECTORS",
    "KS",
    "PSI",
    "BaseDetector",
    "Cardinality",
    "Detector",
    "NullRate",
    "OracleCUSUM",
    "RangeCheck",
    "SchemaCheck",
    "ScorePSI",
    "Tags",
    "UnseenCategories",
    "Verdict",
    "View",
    "Watches",
    "WindowedMetric",
]
