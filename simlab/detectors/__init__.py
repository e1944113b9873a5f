"""Monitors: one protocol, ``fit(reference)`` then ``update(view) -> Verdict`` per tick."""

from __future__ import annotations

from simlab.detectors.base import DETECTORS, BaseDetector, Detector, Tags, Verdict, View, Watches
from simlab.detectors.features import KS, PSI, ChiSquare, Hellinger, JensenShannon, Wasserstein
from simlab.detectors.label_shift import BBSE
from simlab.detectors.multivariate import MMD, DomainClassifier, PCAReconstruction
from simlab.detectors.oracle import OracleCUSUM
from simlab.detectors.performance import WindowedMetric
from simlab.detectors.proxies import ActionRate, LabelRate, ProxyCUSUM, ProxyRate
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
    "BBSE",
    "CBPE",
    "DDM",
    "DETECTORS",
    "EDDM",
    "HDDM_A",
    "HDDM_W",
    "KS",
    "KSWIN",
    "MMD",
    "PSI",
    "ActionRate",
    "BaseDetector",
    "BernoulliCUSUM",
    "Cardinality",
    "ChiSquare",
    "Detector",
    "DomainClassifier",
    "GaussianCUSUM",
    "Hellinger",
    "HistogramShape",
    "JensenShannon",
    "LabelRate",
    "MeanConfidence",
    "NullRate",
    "OracleCUSUM",
    "PCAReconstruction",
    "PageHinkley",
    "ProxyCUSUM",
    "ProxyRate",
    "RangeCheck",
    "SchemaCheck",
    "ScoreEntropy",
    "ScoreKS",
    "ScorePSI",
    "Tags",
    "UnseenCategories",
    "Verdict",
    "View",
    "Wasserstein",
    "Watches",
    "WindowedMetric",
]
