"""Print the project's pinned requirements from pyproject.toml, one per line.

`python scripts/requirements.py` gives the runtime dependencies; `--extra dev` adds the
development ones. The venv bootstrap and the Dockerfile both install from this list, so
pyproject.toml stays the one place where versions are pinned.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def requirements(extras: list[str]) -> list[str]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    found = list(project.get("dependencies", []))
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        if extra not in optional:
            raise SystemExit(f"pyproject.toml has no optional dependency group {extra!r}")
        found.extend(optional[extra])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", action="append", default=[], help="optional group to add")
    args = parser.parse_args()
    print("\n".join(requirements(args.extra)))


if __name__ == "__main__":
    main()
