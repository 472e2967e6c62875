"""imt-tutor: a rule-based differential-diagnosis teaching aid for inflammatory
myofibroblastic tumours (IMTs).

TEACHING ONLY. It is never a diagnostic tool.
"""

from __future__ import annotations

__version__ = "0.1.0"

DISCLAIMER = (
    "TEACHING AID ONLY - not a diagnostic tool. Fictional cases; never use it to diagnose or treat a real patient."
)


def dist_version(project: str, module: str, *others: str) -> str | None:
    """The version of the installed distribution ``project`` that provides ``module``
    (and the ``others``), found from its ``.dist-info`` folder beside ``module``,
    without importing it nor ``importlib.metadata`` (whose import costs more than
    click's: every command would pay for it): ``None`` where it is not installed,
    ``""`` where its version cannot be told. Its import may still fail."""
    import importlib.util  # here: importing the package costs nothing for it
    import os

    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or any(importlib.util.find_spec(name) is None for name in others):
        return None
    folder = os.path.dirname(spec.origin)
    try:
        names = os.listdir(folder)
    except OSError:
        names = []
    wanted = project.lower().replace("-", "_")
    for name in names:
        stem, dot, suffix = name.rpartition(".")
        found, _, version = stem.partition("-")
        if dot and suffix == "dist-info" and found.lower().replace("-", "_") == wanted and version:
            return version
    from importlib import metadata  # an egg or an unusual layout: ask the slow way

    for dist in (project, project.replace("_", "-")):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return ""
