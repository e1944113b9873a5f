"""Execute the course's notebooks: `make notebooks` (executed copies, figures included, to --out).

The notebooks are committed without outputs; this runs each one top to bottom in a fresh
kernel of this environment and writes the executed copy (the tests run the same function
and only check that nothing raised).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def lessons() -> list[Path]:
    """The course's notebooks, in order."""
    return sorted(HERE.glob("[0-9][0-9]_*.ipynb"))


def execute(path: Path, out: Path | None = None, timeout: int = 300):
    """Run one notebook in a fresh kernel (its folder as working directory); return it."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}
    )
    client.execute()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out / path.name)
    return nb


def main(argv: list[str] | None = None) -> int:
    """Run every lesson, writing the executed copies to ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/notebooks", help="where executed copies go")
    args = parser.parse_args(argv)
    for path in lessons():
        start = time.perf_counter()
        execute(path, Path(args.out))
        print(f"{path.name}: {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
