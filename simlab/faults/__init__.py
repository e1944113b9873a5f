"""What breaks between the world and the model: upstream changes, train/serve skew, software rot.

A fault is a pure transformation of a batch; `Faulted` applies one upstream (a world wrapper)
and `ServingFault` at serving only, each in a time window and each with its event. Families:
upstream changes (`simlab.faults.upstream`), train/serve skew (`simlab.faults.skew`) and
software rot (`simlab.faults.rot`).
"""

from __future__ import annotations

from simlab.faults.base import FAULTS, SERVING, Fault, Faulted, ServingFault
from simlab.faults.rot import FillMissing, Float32, Round
from simlab.faults.skew import LogTransform, ServeTimeImpute, StaleLookup
from simlab.faults.upstream import (
    Calibration,
    CategoryRemap,
    DropColumn,
    DuplicateRows,
    LateRows,
    NullSpike,
    RenameColumn,
    ReorderColumns,
    StuckSensor,
    TimeShift,
    Truncate,
    TypeChange,
    UnitChange,
)

__all__ = [
    "FAULTS",
    "SERVING",
    "Calibration",
    "CategoryRemap",
    "DropColumn",
    "DuplicateRows",
    "Fault",
    "Faulted",
    "FillMissing",
    "Float32",
    "LateRows",
    "LogTransform",
    "NullSpike",
    "RenameColumn",
    "ReorderColumns",
    "Round",
    "ServeTimeImpute",
    "ServingFault",
    "StaleLookup",
    "StuckSensor",
    "TimeShift",
    "Truncate",
    "TypeChange",
    "UnitChange",
]
