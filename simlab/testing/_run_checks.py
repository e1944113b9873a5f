"""The Run conformance check: `check_run` asserts that a Dataset honours the Run contract.

The contract is the one `simlab.sim.run` declares, that `simlab.sim` records and `simlab.metrics`
and `simlab.plot` read: its dims, coordinates, variables (with dtypes, ``long_name`` and
``units``), attrs, and a lossless netCDF round trip. dtypes are checked by kind (integer, float,
bool, datetime, string) rather than by width, so a Run loaded back from netCDF3 (where int64
becomes int32 and strings become objects) still passes.
"""

from __future__ import annotations

import os
import tempfile

import xarray as xr

from simlab.sim.run import RUN_ATTRS, RUN_COORDS, RUN_DATA_VARS, RUN_DIMS, run_problems

__all__ = ["RUN_ATTRS", "RUN_COORDS", "RUN_DATA_VARS", "RUN_DIMS", "check_run"]


def _check_round_trip(ds: xr.Dataset) -> None:
    from simlab.sim.run import load, save

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "run.nc")
        try:
            save(ds, path)
        except (TypeError, ValueError, OverflowError) as err:
            raise AssertionError(f"the Run cannot be saved to netCDF: {err}") from err
        back = load(path)
    try:
        xr.testing.assert_identical(ds, back)
    except AssertionError as err:
        raise AssertionError(f"the Run changes in a netCDF round trip:\n{err}") from None


def check_run(ds: xr.Dataset) -> None:
    """Assert that ``ds`` honours the Run contract; raise `AssertionError` listing every breach.

    Checks the dims, the coordinates and data variables (dims and dtype kinds), that every data
    variable has ``long_name`` and ``units`` attrs (datetime variables: ``long_name`` only, since
    netCDF's encoding writes their units), that Dataset attrs are str or number and the required
    ones exist, a few facts that tie them together (``primary_metric`` is a metric, detector names
    are unique, event kinds are known), and finally that a netCDF round trip
    (`simlab.sim.save` then `simlab.sim.load`) gives an identical Dataset.

    Parameters
    ----------
    ds
        The Dataset to check.

    Raises
    ------
    AssertionError
        With one line per problem found.

    Examples
    --------
    >>> from simlab.testing._runs import make_run
    >>> run = make_run()
    >>> check_run(run)
    >>> check_run(run.drop_vars("n_rows"))
    Traceback (most recent call last):
    ...
    AssertionError: not a valid Run:
      - data variable 'n_rows' is missing
    """
    if not isinstance(ds, xr.Dataset):
        raise AssertionError(f"a Run is an xarray.Dataset, not a {type(ds).__name__}")
    problems = run_problems(ds)
    if problems:
        raise AssertionError("not a valid Run:\n" + "\n".join(f"  - {p}" for p in problems))
    _check_round_trip(ds)
