"""The planning file: one JSON document holding a whole planning cycle (format planning-file/1)."""

from planning.planning_file.exporter import UnknownCycle, export_document
from planning.planning_file.importer import (
    FORMAT,
    ImportReport,
    PlanningFileInvalid,
    import_document,
)

__all__ = [
    "FORMAT",
    "ImportReport",
    "PlanningFileInvalid",
    "UnknownCycle",
    "export_document",
    "import_document",
]
