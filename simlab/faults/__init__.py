"""What breaks between the world and the model: upstream changes, train/serve skew, software rot.

A fault is a pure transformation of a batch; `Faulted` applies one upstream (a world wrapper)
and `ServingFault` at serving only, each in a time window and each with its event.
"""

from __future__ import annotations

from simlab.faults.base import FAULTS, SERVING, Fault, Faulted, ServingFault
from simlab.faults.rot import Float32, Round
from simlab.faults.upstream import DropColumn, RenameColumn

__all__ = [
    "FAULTS",
    "SERVING",
    "DropColumn",
    "Fault",
    "Faulted",
    "Float32",
    "RenameColumn",
    "Round",
    "ServingFault",
]
