"""Monitors: one protocol, ``fit(reference)`` then ``update(view) -> Verdict`` per tick."""

from __future__ import annotations

from simlab.detectors.base import DETECTORS, BaseDetector, Detector, Tags, Verdict, View, Watches
from simlab.detectors.features import KS, PSI
from simlab.detectors.label_shift import BBSE
from simlab.detectors.oracle import OracleCUSUM
from simlab.detectors.performance import WindowedMetric
from simlab.detectors.quality import (
    Cardinality,
    NullRate,
    RangeCheck,
    SchemaCheck,
    UnseenCategories,
)
from simlab.detectors.scores import (
    CBPE,
    HistogramShape,
    MeanConfidence,
    ScoreEntropy,
    ScoreKS,
    ScorePSI,
)

__all__ = [
    "BBSE",
    "CBPE",
    "DETECTORS",
    "KS",
    "PSI",
    "BaseDetector",
    "Cardinality",
    "Detector",
    "HistogramShape",
    "MeanConfidence",
    "NullRate",
    "OracleCUSUM",
    "RangeCheck",
    "SchemaCheck",
    "ScoreEntropy",
    "ScoreKS",
    "ScorePSI",
    "Tags",
    "UnseenCategories",
    "Verdict",
    "View",
    "Watches",
    "WindowedMetric",
]
