"""Worlds whose future depends on what the model did: the model's decisions choose what it sees.

`SelectiveLabels` observes outcomes only for the rows a decision acted on; `lending` is the
classic case (repayment is known only for approved loans).
"""

from __future__ import annotations

from simlab.feedback.selective_labels import SelectiveLabels, lending

__all__ = ["SelectiveLabels", "lending"]
