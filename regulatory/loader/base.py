"""The dataset file's place, the fields the loader owns, its error and its report."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "history.yaml"
_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")
PROGRAMME_FIELDS = (
    "name",
    "jurisdiction",
    "regulator",
    "kind",
    "substance",
    "summary",
    "opened_on",
    "opened_precision",
    "closed_on",
    "closed_precision",
    "known_until",
    "known_until_precision",
    "state",
    "eligibility",
    "prescriber_requirements",
    "capacity",
    "capped",
    "verified",
    "verification_note",
    "researched_on",
    "researched_precision",
)
BASELINE_FIELDS = (
    "jurisdiction",
    "substance",
    "control",
    "instrument",
    "since_on",
    "since_precision",
    "known_before",
    "verified",
    "verification_note",
    "researched_on",
    "researched_precision",
)


class DatasetError(Exception):
    """The dataset file is wrong; the message names every bad row."""


@dataclass
class LoadReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_editor_values: list[str] = field(default_factory=list)
    version: str = ""

    def __str__(self) -> str:
        text = f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"
        if self.version:
            text = f"dataset {self.version}: {text}"
        if self.kept_editor_values:
            text += f"; kept editors' values for {len(self.kept_editor_values)} field(s)"
        return text
