"""Per-call times of one contender over a benchmark's rounds, and the figures a report shows."""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Samples:
    number: int  # calls per batch
    seconds: tuple[float, ...]  # per call, one per round

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def spread(self) -> float:
        """The interquartile range over the median: how much the machine moved under this row."""
        if len(self.seconds) < 2:
            return 0.0
        low, _, high = statistics.quantiles(self.seconds, n=4)
        return (high - low) / self.median
