"""scikit-learn models as deployed things: trained on a window, evaluated offline, served."""

from __future__ import annotations

from simlab.models.adapter import ESTIMATORS, MODELS, Deployed, ModelAdapter
from simlab.models.pipelines import PIPELINES, FeaturePipeline

__all__ = ["ESTIMATORS", "MODELS", "PIPELINES", "Deployed", "FeaturePipeline", "ModelAdapter"]
