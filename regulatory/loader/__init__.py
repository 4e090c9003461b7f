"""Loads the shipped historical dataset (regulatory/data/history.yaml).

Idempotent: a second run changes nothing. A field an editor has changed since
the last load is never overwritten: each loaded row keeps the values the loader
last wrote (`dataset_values`), and a field is only updated while its current
value still equals them.
"""

# isort: off
# In the order of the single module they came from.
from regulatory.loader.base import (
    DEFAULT_PATH,
    PROGRAMME_FIELDS,
    BASELINE_FIELDS,
    DatasetError,
    LoadReport,
)
from regulatory.loader.reading import (
    parse_partial_date,
    history_read,
)
from regulatory.loader.writing import (
    history_load,
)
# isort: on

__all__ = [
    "DEFAULT_PATH",
    "PROGRAMME_FIELDS",
    "BASELINE_FIELDS",
    "DatasetError",
    "LoadReport",
    "parse_partial_date",
    "history_read",
    "history_load",
]
