"""Named random streams: one numpy Generator per component name, from one SeedSequence."""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["Rngs"]


def _name_key(name: str) -> int:
    # A stable 64-bit key per name (Python's hash() is salted per process).
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


class Rngs:
    """One independent, reproducible `numpy.random.Generator` per component name.

    Each name's stream is the run's `SeedSequence` extended by a stable hash of the
    name, so adding a component (a new name) never changes the draws of another.

    Parameters
    ----------
    seed
        An int, or a `numpy.random.SeedSequence`.

    Examples
    --------
    >>> rngs = Rngs(0)
    >>> a = rngs["world"].random()
    >>> b = Rngs(0)["world"].random()   # same seed and name: same stream
    >>> a == b
    True
    >>> rngs2 = Rngs(0); _ = rngs2["detector"].random()  # another component draws first
    >>> rngs2["world"].random() == a
    True
    """

    def __init__(self, seed: int | np.random.SeedSequence = 0):
        if isinstance(seed, np.random.SeedSequence):
            self.seed_sequence = seed
        elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
            self.seed_sequence = np.random.SeedSequence(int(seed))
        else:
            from simlab.errors import ConfigError

            raise ConfigError("seed", seed, "a non-negative int or a numpy SeedSequence")
        self._streams: dict[str, np.random.Generator] = {}

    @property
    def seed(self) -> int:
        """The run's seed (the SeedSequence's entropy)."""
        return int(self.seed_sequence.entropy)

    def sequence(self, name: str) -> np.random.SeedSequence:
        """Return the SeedSequence of the stream called `name`.

        Examples
        --------
        >>> Rngs(1).sequence("a").spawn_key != Rngs(1).sequence("b").spawn_key
        True
        """
        parent = self.seed_sequence
        return np.random.SeedSequence(
            entropy=parent.entropy, spawn_key=(*parent.spawn_key, _name_key(name))
        )

    def __getitem__(self, name: str) -> np.random.Generator:
        stream = self._streams.get(name)
        if stream is None:
            stream = np.random.Generator(np.random.PCG64(self.sequence(name)))
            self._streams[name] = stream
        return stream

    def child(self, name: str) -> Rngs:
        """Return a fresh `Rngs` rooted at the stream `name` (for nested runs).

        Examples
        --------
        >>> Rngs(0).child("replica").seed == 0
        True
        """
        return Rngs(self.sequence(name))

    def __repr__(self) -> str:
        return f"Rngs(seed={self.seed}, streams={sorted(self._streams)})"
