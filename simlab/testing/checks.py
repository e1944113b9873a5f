"""Public conformance checks for worlds, faults, detectors and runs (as scikit-learn's).

Use them on your own components::

    from simlab.testing.checks import check_detector, check_fault, check_run, check_world

Examples
--------
>>> from simlab.testing.checks import check_world
>>> from simlab.world import sea
>>> check_world(sea())
"""

from __future__ import annotations

from simlab.testing._detector_checks import check_detector, yield_detector_checks
from simlab.testing._fault_checks import check_fault, yield_fault_checks
from simlab.testing._run_checks import check_run
from simlab.testing._world_checks import check_world, yield_world_checks

__all__ = [
    "check_detector",
    "check_fault",
    "check_run",
    "check_world",
    "yield_detector_checks",
    "yield_fault_checks",
    "yield_world_checks",
]
