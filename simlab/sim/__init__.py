"""The discrete-event engine: traffic, delayed labels, monitoring, retraining, recorded as a Run."""

from __future__ import annotations

from simlab.sim.calibrate import Calibrated, calibrate
from simlab.sim.delays import DELAYS, Delay, ExponentialDelay, FixedDelay, LogNormalDelay
from simlab.sim.engine import simulate
from simlab.sim.labels import LabelQueue
from simlab.sim.policies import POLICIES, Never, OnAlarm, Periodic, Policy
from simlab.sim.practices import PRACTICES, ABTest, Canary, Practice, Shadow, msprt
from simlab.sim.run import RunAccessor, load, save
from simlab.sim.scenario import CAUSES, Scenario
from simlab.sim.tape import Tape, record_tape
from simlab.sim.traffic import TRAFFIC, Bursts, Constant, Diurnal, Traffic

__all__ = [
    "CAUSES",
    "DELAYS",
    "POLICIES",
    "PRACTICES",
    "TRAFFIC",
    "ABTest",
    "Bursts",
    "Calibrated",
    "Canary",
    "Constant",
    "Delay",
    "Diurnal",
    "ExponentialDelay",
    "FixedDelay",
    "LabelQueue",
    "LogNormalDelay",
    "Never",
    "OnAlarm",
    "Periodic",
    "Policy",
    "Practice",
    "RunAccessor",
    "Scenario",
    "Shadow",
    "Tape",
    "Traffic",
    "calibrate",
    "load",
    "msprt",
    "record_tape",
    "save",
    "simulate",
]
