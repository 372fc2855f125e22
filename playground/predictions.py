"""What the task modules' predictions share: one token with its probability. Its own module, so Fill Mask and
Next Word (and what shows them) read one type without one task module importing another."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TokenProb:
    token: str  # readable text of the token
    id: int
    prob: float
    logprob: float
