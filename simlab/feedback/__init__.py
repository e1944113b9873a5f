"""Worlds whose future depends on what the model did: the model's decisions choose what it sees.

`SelectiveLabels` observes outcomes only for the rows a decision acted on; `lending` is the
classic case (repayment is known only for approved loans). The recommender study
(`RecommenderWorld`, the recommenders, `homogenisation_trial`) shows a recommender
retrained on its own logs homogenising its users; `Recommendations` is a recommender as an
engine world (slates decided by the deployed model, clicks only on what it showed).
`runaway_urn` and `patrols` are the runaway allocation loop (resources go where
discoveries were made, and discoveries happen only where resources go);
`PerformativeGaussian`, `Strategic` and `repeated_risk_minimisation` are populations that
move in response to the deployed model.
"""

from __future__ import annotations

from simlab.feedback.allocation import patrols, runaway_urn
from simlab.feedback.performative import (
    PerformativeGaussian,
    Strategic,
    repeated_risk_minimisation,
)
from simlab.feedback.recommendations import Recommendations
from simlab.feedback.recommender import (
    RECOMMENDERS,
    Catalogue,
    ContentFiltering,
    EpsilonGreedy,
    History,
    Ideal,
    MatrixFactorisation,
    Popularity,
    RandomRecommender,
    RandomSlots,
    Recommender,
    RecommenderWorld,
    Replay,
    default_recommenders,
    homogenisation_study,
    homogenisation_trial,
    loop_views,
    replay,
    watch_loop,
)
from simlab.feedback.selective_labels import SelectiveLabels, lending

__all__ = [
    "RECOMMENDERS",
    "Catalogue",
    "ContentFiltering",
    "EpsilonGreedy",
    "History",
    "Ideal",
    "MatrixFactorisation",
    "PerformativeGaussian",
    "Popularity",
    "RandomRecommender",
    "RandomSlots",
    "Recommendations",
    "Recommender",
    "RecommenderWorld",
    "Replay",
    "SelectiveLabels",
    "Strategic",
    "default_recommenders",
    "homogenisation_study",
    "homogenisation_trial",
    "lending",
    "loop_views",
    "patrols",
    "repeated_risk_minimisation",
    "replay",
    "runaway_urn",
    "watch_loop",
]
