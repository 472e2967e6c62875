"""How fast the safe loader refuses an alias bomb and loads a file just under the size cap.

Usage: ``python benchmarks/loading.py``

Goals (printed, never asserted in tests/): the alias bomb refused in well under
1 s, a file of nearly 1 MiB loaded in under 2 s with libyaml.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from imt_tutor import loading
from imt_tutor.errors import DataError
from imt_tutor.loading import MAX_BYTES, load_yaml_file

HERE = Path(__file__).resolve().parent
BOMB = HERE.parent / "tests" / "data" / "yaml" / "alias_bomb.yaml"


def _large(folder: Path) -> Path:
    block = "case_{}:\n  site: lung\n  age: {}\n  markers: [alk, 'ros1', no]\n"
    parts: list[str] = []
    size = index = 0
    while size < MAX_BYTES - 200:
        part = block.format(index, index)
        parts.append(part)
        size += len(part)
        index += 1
    path = folder / "large.yaml"
    path.write_text("".join(parts), encoding="utf-8")
    return path


def main() -> None:
    start = time.perf_counter()
    try:
        load_yaml_file(BOMB)
    except DataError:
        pass
    print(f"alias bomb refused in {time.perf_counter() - start:.3f} s (goal < 1 s)")
    libyaml = loading._loader_class(False) is not loading._PureLoader
    with tempfile.TemporaryDirectory() as tmp:
        path = _large(Path(tmp))
        start = time.perf_counter()
        load_yaml_file(path)
        elapsed = time.perf_counter() - start
        size = path.stat().st_size
    parser = "libyaml" if libyaml else "pure-Python parser"
    print(f"{size:,} bytes loaded in {elapsed:.3f} s with {parser} (goal < 2 s)")


if __name__ == "__main__":
    main()
