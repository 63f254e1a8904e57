"""The planning file: one JSON document holding whole planning cycles (planning-file/1, and
planning-file/2, which adds the customer's outcomes; docs/planning-file.md)."""

from planning.planning_file.exporter import (
    UnknownCycle,
    UnknownFormat,
    export_document,
    left_out_of_v1,
)
from planning.planning_file.importer import (
    FORMAT,
    ImportReport,
    PlanningFileInvalid,
    import_document,
)
from planning.planning_file.outcomes import FORMAT_V1, FORMAT_V2, FORMATS

__all__ = [
    "FORMAT",
    "FORMATS",
    "FORMAT_V1",
    "FORMAT_V2",
    "ImportReport",
    "PlanningFileInvalid",
    "UnknownCycle",
    "UnknownFormat",
    "export_document",
    "import_document",
    "left_out_of_v1",
]
