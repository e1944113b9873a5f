"""Monitors: one protocol, ``fit(reference)`` then ``update(view) -> Verdict`` per tick."""

from __future__ import annotations

from simlab.detectors.base import DETECTORS, BaseDetector, Detector, Tags, Verdict, View, Watches
from simlab.detectors.features import KS, PSI
from simlab.detectors.performance import WindowedMetric
from simlab.detectors.quality import (
    Cardinality,
    NullRate,
    RangeCheck,
    SchemaCheck,
    UnseenCategories,
)
from simlab.detectors.scores import ScorePSI
from simlab.detectors.sequential import (
    ADWIN,
    DDM,
    EDDM,
    HDDM_A,
    HDDM_W,
    KSWIN,
    BernoulliCUSUM,
    GaussianCUSUM,
    PageHinkley,
)

__all__ = [
    "ADWIN",
    "DDM",
    "DETECTORS",
    "EDDM",
    "HDDM_A",
    "HDDM_W",
    "KS",
    "KSWIN",
    "PSI",
    "BaseDetector",
    "BernoulliCUSUM",
    "Cardinality",
    "Detector",
    "GaussianCUSUM",
    "NullRate",
    "PageHinkley",
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
