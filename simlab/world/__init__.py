"""The ground truth: feature schemas, concepts P(Y|X), priors P(Y), and how they drift over time."""

from __future__ import annotations

from simlab.world.base import World, WorldWrapper, twin
from simlab.world.catalog import credit, friedman, gaussian_classes, hyperplane, logistic, sea
from simlab.world.concepts import (
    CONCEPTS,
    SEA,
    Concept,
    Friedman,
    Hyperplane,
    Linear,
    Logistic,
    Rules,
)
from simlab.world.covariates import COVARIATES, Block, Categorical, Gaussian, Uniform
from simlab.world.proxies import Proxy, TieShift
from simlab.world.schedules import (
    SCHEDULES,
    Gradual,
    Incremental,
    Recurring,
    Schedule,
    Seasonal,
    Sequence,
    Sudden,
    Wander,
)
from simlab.world.schema import FeatureSpec, Kind, Schema, Task
from simlab.world.shifts import SHIFTS, ConceptShift, CovariateShift, LabelShift, Shift
from simlab.world.worlds import WORLDS, Ambient, AnticausalWorld, CausalWorld

__all__ = [
    "CONCEPTS",
    "COVARIATES",
    "SCHEDULES",
    "SEA",
    "SHIFTS",
    "WORLDS",
    "Ambient",
    "AnticausalWorld",
    "Block",
    "Categorical",
    "CausalWorld",
    "Concept",
    "ConceptShift",
    "CovariateShift",
    "FeatureSpec",
    "Friedman",
    "Gaussian",
    "Gradual",
    "Hyperplane",
    "Incremental",
    "Kind",
    "LabelShift",
    "Linear",
    "Logistic",
    "Proxy",
    "Recurring",
    "Rules",
    "Schedule",
    "Schema",
    "Seasonal",
    "Sequence",
    "Shift",
    "Sudden",
    "Task",
    "TieShift",
    "Uniform",
    "Wander",
    "World",
    "WorldWrapper",
    "credit",
    "friedman",
    "gaussian_classes",
    "hyperplane",
    "logistic",
    "sea",
    "twin",
]
