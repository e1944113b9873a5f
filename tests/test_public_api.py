"""The public names are pinned: changing them is a decision, not an accident."""

from __future__ import annotations

import simlab


def test_top_level_api():
    assert simlab.__all__ == sorted(simlab.__all__)
    assert set(simlab.__all__) == {
        "Batch",
        "ConfigError",
        "Event",
        "EventKind",
        "NotFittedError",
        "Registry",
        "Rngs",
        "Scenario",
        "SchemaError",
        "SimlabError",
        "UnknownNameError",
        "__version__",
        "build",
        "evaluate",
        "load",
        "registered",
        "save",
        "simulate",
    }
    for name in simlab.__all__:
        assert hasattr(simlab, name)


def test_every_public_object_has_a_docstring_with_an_example():
    import importlib
    import inspect

    missing = []
    for module in (
        "simlab",
        "simlab.validation",
        "simlab.view",
        "simlab.scoring",
        "simlab.decisions",
        "simlab.faults",
        "simlab.feedback",
        "simlab.sim.run",
        "simlab.sim.processes",
        "simlab.sim.tape",
        "simlab.sim.calibrate",
        "simlab.testing.checks",
        "simlab.world",
        "simlab.detectors",
        "simlab.sim",
        "simlab.models",
        "simlab.metrics",
        "simlab.plot",
        "simlab.scenarios",
    ):
        mod = importlib.import_module(module)
        for name in mod.__all__:
            obj = getattr(mod, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)) or name.isupper():
                continue
            doc = inspect.getdoc(obj) or ""
            if "Examples" not in doc and not inspect.isabstract(obj):
                missing.append(f"{module}.{name}")
    assert not missing, f"public objects without an Examples section: {missing}"
