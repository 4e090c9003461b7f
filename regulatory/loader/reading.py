"""Reading and checking the dataset file: every row turned into plain values before anything is written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml
from django.db import models
from django.utils import timezone

from regulatory.loader.base import _DATE_RE, DEFAULT_PATH, DatasetError
from regulatory.models import (
    ApprovalStage,
    Control,
    Precision,
)


def parse_partial_date(value: Any, where: str) -> tuple[dt.date | None, str]:
    """'2024-02-09' → day, '2017-08' → month, '2023' → year precision."""
    if value in (None, ""):
        return None, Precision.DAY
    match = _DATE_RE.match(str(value))
    if not match:
        raise DatasetError(f"{where}: {value!r} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)")
    year, month, day = match.groups()
    try:
        date = dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise DatasetError(f"{where}: {value!r} is not a real date") from None
    precision = Precision.DAY if day else Precision.MONTH if month else Precision.YEAR
    return date, precision


def _plain_sources(rows: list[dict], where: str) -> list[dict]:
    if not rows:
        raise DatasetError(f"{where}: has no source; every fact needs at least one")
    plain = []
    for i, row in enumerate(rows, 1):
        for required in ("url", "title", "publisher", "grade"):
            if not row.get(required):
                raise DatasetError(f"{where}, source {i}: missing {required!r}")
        published, precision = parse_partial_date(row.get("published"), f"{where}, source {i}")
        # `copy_of`: true (an official document on another host, original
        # unknown) or the original's URL.
        copy_of = row.get("copy_of")
        if copy_of not in (None, False, True, "") and not isinstance(copy_of, str):
            raise DatasetError(f"{where}, source {i}: 'copy_of' must be true or the original's URL")
        plain.append(
            {
                "url": row["url"],
                "title": row["title"],
                "publisher": row["publisher"],
                "published_on": published.isoformat() if published else None,
                "published_precision": precision,
                "grade": row["grade"],
                "is_copy": bool(copy_of),
                "original_url": copy_of if isinstance(copy_of, str) else "",
                "note": row.get("note") or "",
            }
        )
    return sorted(plain, key=lambda s: s["url"])


def _choice(row: dict, key: str, choices: type[models.Choices], where: str, *, required: bool = False) -> str:
    value = row.get(key)
    if value in (None, ""):
        if required:
            raise DatasetError(f"{where}: missing {key!r}")
        return ""
    if value not in choices.values:
        raise DatasetError(f"{where}: {key} {value!r} is not one of {', '.join(choices.values)}")
    return value


def _researched(row: dict, defaults: dict, where: str) -> dict:
    if row.get("researched"):
        return _dated(row, "researched", "researched", where)
    return {
        "researched_on": defaults.get("researched_on"),
        "researched_precision": defaults.get("researched_precision", Precision.DAY),
    }


def _dated(row: dict, key: str, prefix: str, where: str) -> dict:
    date, precision = parse_partial_date(row.get(key), where)
    return {f"{prefix}_on": date.isoformat() if date else None, f"{prefix}_precision": precision}


def _substance_therapies(substance: str, context: dict) -> list[str]:
    return sorted(slug for slug, name in context["substances"].items() if name == substance.strip().casefold())


def _decision_plain(row: dict, where: str, context: dict) -> dict:
    for required in ("key", "jurisdiction", "kind", "title", "summary", "announced"):
        if not row.get(required):
            raise DatasetError(f"{where}: missing {required!r}")
    if row.get("status"):
        raise DatasetError(
            f"{where}: 'status' is no longer accepted (it mixed three things): set 'control' "
            "with 'instrument' and/or 'approval_stage', and model access as a programme"
        )
    substance = (row.get("substance") or "").strip()
    therapies = sorted(row.get("therapies") or [])
    if not therapies and substance:
        therapies = _substance_therapies(substance, context)
        if not therapies:
            raise DatasetError(f"{where}: no therapy in the file has the substance {substance!r}")
    if not therapies:
        raise DatasetError(f"{where}: missing 'therapies' (or 'substance')")
    control = _choice(row, "control", Control, where)
    instrument = (row.get("instrument") or "").strip()
    if control and not instrument:
        raise DatasetError(f"{where}: 'control' needs 'instrument' (e.g. \"Schedule I, Controlled Substances Act\")")
    if instrument and not control:
        raise DatasetError(f"{where}: 'instrument' without 'control'")
    plain = {
        "jurisdiction": row["jurisdiction"],
        "regulator": row.get("regulator"),
        "kind": row["kind"],
        "title": row["title"].strip(),
        "summary": row["summary"].strip(),
        "substance": substance,
        "control": control,
        "control_instrument": instrument,
        "approval_stage": _choice(row, "approval_stage", ApprovalStage, where),
        "access_programme": row.get("programme"),
        "verified": bool(row.get("verified", True)),
        "verification_note": (row.get("verification_note") or "").strip(),
        "therapies": therapies,
        "sources": _plain_sources(row.get("sources") or [], where),
    }
    plain |= _dated(row, "announced", "announced", where)
    plain |= _dated(row, "effective", "effective", where)
    plain |= _dated(row, "target", "target", where)
    plain |= _researched(row, context["dataset"], where)
    if (plain["control"] or plain["approval_stage"]) and not plain["effective_on"]:
        raise DatasetError(f"{where}: 'control' and 'approval_stage' need 'effective'")
    return plain


def _programme_plain(row: dict, where: str, context: dict) -> dict:
    for required in ("key", "slug", "name", "jurisdiction", "kind", "summary", "state"):
        if not row.get(required):
            raise DatasetError(f"{where}: missing {required!r}")
    plain = {
        "name": row["name"],
        "jurisdiction": row["jurisdiction"],
        "regulator": row.get("regulator"),
        "kind": row["kind"],
        "substance": (row.get("substance") or "").strip(),
        "summary": row["summary"].strip(),
        "state": row["state"],
        "eligibility": (row.get("eligibility") or "").strip(),
        "prescriber_requirements": (row.get("prescriber_requirements") or "").strip(),
        "capacity": row.get("capacity") or "",
        "capped": bool(row.get("capped", False)),
        "verified": bool(row.get("verified", True)),
        "verification_note": (row.get("verification_note") or "").strip(),
        "therapies": sorted(row.get("therapies") or []),
        "sources": _plain_sources(row.get("sources") or [], where),
    }
    plain |= _dated(row, "opened", "opened", where)
    plain |= _dated(row, "closed", "closed", where)
    known = _dated(row, "known_until", "known_until", where)
    plain |= {"known_until": known["known_until_on"], "known_until_precision": known["known_until_precision"]}
    plain |= _researched(row, context["dataset"], where)
    for later, name in (("closed", "closed_on"), ("known_until", "known_until")):
        # ISO strings compare as dates.
        if plain["opened_on"] and plain[name] and plain[name] < plain["opened_on"]:
            raise DatasetError(f"{where}: '{later}' is before 'opened'")
    return plain


def _baseline_plain(row: dict, where: str, context: dict) -> dict:
    for required in ("key", "jurisdiction", "substance"):
        if not row.get(required):
            raise DatasetError(f"{where}: missing {required!r}")
    if not row.get("sources"):
        raise DatasetError(f"{where}: a baseline needs at least one source (none given)")
    instrument = (row.get("instrument") or "").strip()
    if not instrument:
        raise DatasetError(f"{where}: missing 'instrument'")
    plain = {
        "jurisdiction": row["jurisdiction"],
        "substance": row["substance"].strip(),
        "control": _choice(row, "control", Control, where, required=True),
        "instrument": instrument,
        "verified": bool(row.get("verified", True)),
        "verification_note": (row.get("verification_note") or "").strip(),
        "sources": _plain_sources(row["sources"], where),
    }
    plain |= _dated(row, "since", "since", where)
    before, precision = parse_partial_date(row.get("before"), where)
    if before and plain["since_on"]:
        raise DatasetError(f"{where}: 'before' is only for a baseline whose 'since' is unknown")
    plain["known_before"] = before.isoformat() if before else None
    plain |= _researched(row, context["dataset"], where)
    if not _substance_therapies(plain["substance"], context):
        raise DatasetError(f"{where}: no therapy in the file has the substance {plain['substance']!r}")
    return plain


def _dataset_plain(data: dict, path: Path) -> dict:
    section = data.get("dataset")
    if section is None:
        return {}
    if not isinstance(section, dict) or not section.get("version") or not section.get("researched"):
        raise DatasetError(f"{path}: 'dataset' needs 'version' and 'researched'")
    researched, precision = parse_partial_date(section["researched"], "dataset.researched")
    assert researched is not None  # a value was given: parse_partial_date returns its date or raises
    return {
        "version": str(section["version"]),
        "researched_on": researched.isoformat(),
        "researched_precision": precision,
    }


def _jurisdiction_plain(row: dict, where: str, context: dict) -> dict:
    for required in ("code", "name"):
        if not row.get(required):
            raise DatasetError(f"{where}: missing {required!r}")
    reviewed, precision = parse_partial_date(row.get("reviewed_to"), f"{where}, reviewed_to")
    if reviewed and precision != Precision.DAY:
        raise DatasetError(f"{where}: 'reviewed_to' must be a full date (YYYY-MM-DD)")
    if reviewed and reviewed > timezone.localdate():
        raise DatasetError(f"{where}: 'reviewed_to' {reviewed.isoformat()} is in the future")
    covers = row.get("covers") or {}
    if not isinstance(covers, dict) or set(covers) - {"substances", "therapies"}:
        raise DatasetError(f"{where}: 'covers' takes 'substances' and/or 'therapies'")
    substances = sorted({str(s).strip() for s in covers.get("substances") or []})
    known = set(context["substances"].values())
    unknown = [s for s in substances if s.casefold() not in known]
    if unknown:
        raise DatasetError(f"{where}: covers unknown substances {unknown}")
    therapies = sorted(covers.get("therapies") or [])
    unknown = [t for t in therapies if t not in context["substances"]]
    if unknown:
        raise DatasetError(f"{where}: covers unknown therapies {unknown}")
    return {
        "code": row["code"],
        "reviewed_to": reviewed,
        "covers_substances": substances,
        "covers_therapies": therapies,
        "covers_given": "covers" in row,
    }


def history_read(path: Path | str | None = None) -> dict:
    """Read and check the whole file before anything is written."""
    path = Path(path or DEFAULT_PATH)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DatasetError(f"{path}: cannot be read ({exc})") from None
    if not isinstance(data, dict):
        raise DatasetError(
            f"{path}: expected a mapping with jurisdictions, regulators, therapies, programmes, decisions"
        )
    errors, seen = [], set()
    context = {
        "dataset": {},
        "substances": {t["slug"]: str(t.get("substance", "")).casefold() for t in data.get("therapies") or []},
    }
    try:
        context["dataset"] = _dataset_plain(data, path)
    except DatasetError as exc:
        errors.append(str(exc))
    jurisdictions = []
    for index, row in enumerate(data.get("jurisdictions") or [], 1):
        try:
            jurisdictions.append(_jurisdiction_plain(row, f"jurisdiction {row.get('code') or f'#{index}'}", context))
        except DatasetError as exc:
            errors.append(str(exc))
    programmes: list[tuple[dict, dict]] = []
    baselines: list[tuple[dict, dict]] = []
    decisions: list[tuple[dict, dict]] = []
    for section, builder, out in (
        ("programmes", _programme_plain, programmes),
        ("baselines", _baseline_plain, baselines),
        ("decisions", _decision_plain, decisions),
    ):
        for index, row in enumerate(data.get(section) or [], 1):
            where = f"{section[:-1]} {row.get('key') or f'#{index}'} (entry {index} of {section})"
            try:
                if row.get("key") in seen:
                    raise DatasetError(f"{where}: duplicate key")
                seen.add(row.get("key"))
                out.append((row, builder(row, where, context)))
            except DatasetError as exc:
                errors.append(str(exc))
    if errors:
        raise DatasetError("\n".join(errors))
    data["_dataset"], data["_jurisdictions"] = context["dataset"], jurisdictions
    data["_programmes"], data["_baselines"], data["_decisions"] = programmes, baselines, decisions
    return data
