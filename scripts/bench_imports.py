"""How long, and with how much memory, the spreadsheet import refuses a hostile file.

    .venv/bin/python scripts/bench_imports.py

Builds each spreadsheet bomb the tests build (tests/test_spreadsheet_bounds.py) and reads it
as the import does, each in a fresh process, five times: the slowest wall time and the
largest peak resident memory are printed as a Markdown table (docs/performance.md). The
peak includes Django and the app being loaded; the baseline row reads a valid two-row file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "throughline.settings")

READ = """
import json, resource, sys, time, django
django.setup()
from planning import spreadsheet_import as sheets
started = time.perf_counter()
try:
    with open(sys.argv[2], 'rb') as f:
        sheets.read(sys.argv[1], f)
    outcome = 'read'
except sheets.UnreadableFile as exc:
    outcome = str(exc)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({'outcome': outcome, 'seconds': seconds, 'peak': peak}))
"""
RUNS = 5


def files() -> dict[str, tuple[str, bytes]]:
    import django

    django.setup()
    from tests import test_spreadsheet_bounds as bounds

    made = {"valid two-row workbook (baseline)": ("plans.xlsx", _valid(bounds))}
    for name, (build, _) in bounds.BOMBS.items():
        made[f"xlsx: {name}"] = ("plans.xlsx", build())
    made["csv: 2.5 million commas in the header"] = ("plans.csv", b"squad" + b"," * 2_500_000)
    made["csv: 5 million empty lines"] = ("plans.csv", b"squad,key\n" + b"\n" * 5_000_000)
    return made


def _valid(bounds) -> bytes:
    cells = ["sq", "k", "T", "Product", "2027-01-04", "2027-03-31"]
    row = '<row r="2">' + "".join(bounds._inline(v) for v in cells) + "</row>"
    return bounds.workbook(
        [f'<worksheet xmlns="{bounds.NS}"><sheetData>', bounds.HEADER_ROW, row]
        + ["</sheetData></worksheet>"]
    )


# The bounds on part sizes and growth lifted: the sheet's own rows, columns and cells must
# stop it while it streams.
LENIENT = {
    "IMPORT_MAX_PART_BYTES": str(2**40),
    "IMPORT_MAX_UNPACKED_BYTES": str(2**40),
    "IMPORT_MAX_RATIO": str(2**20),
}


def measure(name: str, content: bytes, folder: Path, env: dict | None = None) -> dict:
    path = folder / name
    path.write_bytes(content)
    worst = {"seconds": 0.0, "peak": 0}
    for _ in range(RUNS):
        done = subprocess.run(
            [sys.executable, "-c", READ, name, str(path)],
            cwd=ROOT,
            env={**os.environ, "THROUGHLINE_VAR_DIR": str(folder / "var"), **(env or {})},
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        worst["seconds"] = max(worst["seconds"], result["seconds"])
        worst["peak"] = max(worst["peak"], result["peak"])
        worst["outcome"] = result["outcome"]
    return worst


def main() -> int:
    print("| file | size | slowest of 5 s | peak RSS MiB | answer |")
    print("|---|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        made = files()
        runs = [(label, name, content, None) for label, (name, content) in made.items()]
        runs += [
            (f"{label}, part bounds lifted", name, content, LENIENT)
            for label, (name, content) in made.items()
            if label.startswith("xlsx")
        ]
        for label, name, content, env in runs:
            result = measure(name, content, Path(tmp), env)
            outcome = result["outcome"]
            outcome = outcome if len(outcome) < 90 else outcome[:87] + "..."
            print(
                f"| {label} | {len(content) / 1024:,.0f} KB | {result['seconds']:.3f} "
                f"| {result['peak'] / 2**20:.0f} | {outcome} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
