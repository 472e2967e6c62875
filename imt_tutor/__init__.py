"""imt-tutor: a rule-based differential-diagnosis teaching aid for inflammatory
myofibroblastic tumours (IMTs).

TEACHING ONLY. It is never a diagnostic tool.
"""

from __future__ import annotations

__version__ = "0.1.0"

DISCLAIMER = (
    "TEACHING AID ONLY - not a diagnostic tool. Fictional cases; never use it to diagnose or treat a real patient."
)
