"""Worlds whose future depends on what the model did: the model's decisions choose what it sees.

`SelectiveLabels` observes outcomes only for the rows a decision acted on; `lending` is the
classic case (repayment is known only for approved loans). The recommender study
(`RecommenderWorld`, the recommenders, `homogenisation_trial`) shows a recommender
retrained on its own logs homogenising its users.
"""

from __future__ import annotations

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
    replay,
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
    "Popularity",
    "RandomRecommender",
    "RandomSlots",
    "Recommender",
    "RecommenderWorld",
    "Replay",
    "SelectiveLabels",
    "default_recommenders",
    "homogenisation_study",
    "homogenisation_trial",
    "lending",
    "replay",
]
