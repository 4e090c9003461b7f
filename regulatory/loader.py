"""Loads the shipped historical dataset (regulatory/data/history.yaml).

Idempotent: a second run changes nothing. A field an editor has changed since
the last load is never overwritten: each loaded row keeps the values the loader
last wrote (`dataset_values`), and a field is only updated while its current
value still equals them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from regulatory.models import (
    LIVE_STATES,
    AccessProgramme,
    ApprovalStage,
    BaselineSource,
    ChangeKind,
    Control,
    ControlBaseline,
    DatasetRelease,
    Decision,
    DecisionState,
    Jurisdiction,
    Precision,
    ProgrammeSource,
    Regulator,
    Therapy,
)
from regulatory.services import (
    SOURCE_FIELDS,
    decision_create,
    decision_publish,
    decision_snapshot,
    decision_update,
    jurisdiction_review_record,
)

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "history.yaml"
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


def _choice(row: dict, key: str, choices: type, where: str, *, required: bool = False) -> str:
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


class _Resolver:
    def __init__(self) -> None:
        self.jurisdictions = {j.code: j for j in Jurisdiction.objects.all()}
        self.regulators = {r.code: r for r in Regulator.objects.all()}
        self.therapies = {t.slug: t for t in Therapy.objects.all()}
        self.programmes = {p.slug: p for p in AccessProgramme.objects.all()}

    def value(self, name: str, value: Any, where: str) -> Any:
        table = {
            "jurisdiction": self.jurisdictions,
            "regulator": self.regulators,
            "access_programme": self.programmes,
        }.get(name)
        if table is None:
            if (name.endswith("_on") or name in ("known_until", "known_before")) and value:
                return dt.date.fromisoformat(value)
            return value
        if value is None:
            return None
        if value not in table:
            raise DatasetError(f"{where}: unknown {name} {value!r}")
        return table[value]

    def therapy_list(self, slugs: list[str], where: str) -> list[Therapy]:
        missing = [s for s in slugs if s not in self.therapies]
        if missing:
            raise DatasetError(f"{where}: unknown therapies {missing}")
        return [self.therapies[s] for s in slugs]


def _merge(current: dict, last: dict, new: dict, label: str, report: LoadReport) -> tuple[dict, dict]:
    """Fields to write (unchanged by editors and changed in the dataset), and
    the loader's record of what it has now written."""
    # Keys the dataset no longer has (e.g. the former `status`) are forgotten.
    to_write, record = {}, {key: value for key, value in last.items() if key in new}
    for key, new_value in new.items():
        if key not in last:  # first load of this row
            record[key] = new_value
            if current.get(key) != new_value:
                to_write[key] = new_value
        elif current.get(key) == last[key]:
            if new_value != last[key]:
                to_write[key] = new_value
            record[key] = new_value
        elif current.get(key) == new_value:
            record[key] = new_value
        else:
            report.kept_editor_values.append(f"{label}.{key}")
    return to_write, record


def _load_reference(data: dict) -> None:
    """Jurisdictions, regulators and therapies: created when missing, never
    overwritten (editors own them once they exist), except a jurisdiction's
    parent (set when missing), its coverage (kept in step with the file) and
    its review date (only moved forward)."""
    for row in data.get("jurisdictions") or []:
        Jurisdiction.objects.get_or_create(
            code=row["code"], defaults={"name": row["name"], "position": row.get("position", 0)}
        )
    for row in data.get("jurisdictions") or []:
        if row.get("parent"):
            Jurisdiction.objects.filter(code=row["code"], parent__isnull=True).update(
                parent=Jurisdiction.objects.get(code=row["parent"])
            )
    for row in data.get("regulators") or []:
        Regulator.objects.get_or_create(
            code=row["code"],
            defaults={
                "name": row["name"],
                "website": row.get("website") or "",
                "jurisdiction": Jurisdiction.objects.get(code=row["jurisdiction"]),
            },
        )
    for row in data.get("therapies") or []:
        Therapy.objects.get_or_create(
            slug=row["slug"],
            defaults={
                "name": row["name"],
                "substance": row["substance"],
                "indication": row["indication"],
                "position": row.get("position", 0),
            },
        )
    therapies = {t.slug: t for t in Therapy.objects.all()}
    for plain in data["_jurisdictions"]:
        jurisdiction = Jurisdiction.objects.get(code=plain["code"])
        if plain["covers_given"]:
            current = sorted(t.slug for t in jurisdiction.covers_therapies.all())
            if current != plain["covers_therapies"] or jurisdiction.covers_substances != plain["covers_substances"]:
                jurisdiction.covers_therapies.set([therapies[slug] for slug in plain["covers_therapies"]])
                jurisdiction.covers_substances = plain["covers_substances"]
                jurisdiction.save()  # a history row: the record version moves
        if plain["reviewed_to"] and (
            jurisdiction.reviewed_to is None or plain["reviewed_to"] > jurisdiction.reviewed_to
        ):
            jurisdiction_review_record(
                jurisdiction=jurisdiction,
                reviewed_to=plain["reviewed_to"],
                from_dataset=True,
                note="Review date of the shipped dataset.",
            )


def _programme_snapshot(programme: AccessProgramme) -> dict:
    snap = {}
    for name in PROGRAMME_FIELDS:
        value = getattr(programme, name)
        if isinstance(value, dt.date):
            value = value.isoformat()
        elif hasattr(value, "code"):
            value = value.code
        snap[name] = value
    snap["therapies"] = sorted(t.slug for t in programme.therapies.all())
    snap["sources"] = sorted(
        (
            {
                n: (getattr(s, n).isoformat() if isinstance(getattr(s, n), dt.date) else getattr(s, n))
                for n in SOURCE_FIELDS
            }
            for s in programme.sources.all()
        ),
        key=lambda s: s["url"],
    )
    return snap


def _load_programmes(rows: list[tuple[dict, dict]], resolve: _Resolver, report: LoadReport) -> None:
    for row, plain in rows:
        where = f"programme {row['key']}"
        programme = AccessProgramme.objects.filter(dataset_key=row["key"]).first()
        if programme is None:
            programme = AccessProgramme(dataset_key=row["key"], slug=row["slug"])
            current, last = {}, {}
            report.created += 1
        else:
            current, last = _programme_snapshot(programme), programme.dataset_values
        to_write, record = _merge(current, last, plain, where, report)
        if not to_write and programme.pk:
            report.unchanged += 1
            if record != last:
                AccessProgramme.objects.filter(pk=programme.pk).update(dataset_values=record)
            continue
        if programme.pk:
            report.updated += 1
        for name, value in to_write.items():
            if name in PROGRAMME_FIELDS:
                setattr(programme, name, resolve.value(name, value, where))
        programme.dataset_values = record
        try:
            programme.full_clean()
        except ValidationError as exc:
            raise DatasetError(f"{where}: {exc.message_dict}") from None
        programme.save()
        if "therapies" in to_write:
            programme.therapies.set(resolve.therapy_list(to_write["therapies"], where))
        if "sources" in to_write:
            programme.sources.all().delete()
            for source in to_write["sources"]:
                ProgrammeSource.objects.create(
                    programme=programme,
                    **{k: (dt.date.fromisoformat(v) if k == "published_on" and v else v) for k, v in source.items()},
                )
        resolve.programmes[programme.slug] = programme


def _baseline_snapshot(baseline: ControlBaseline) -> dict:
    snap = {}
    for name in BASELINE_FIELDS:
        value = getattr(baseline, name)
        if isinstance(value, dt.date):
            value = value.isoformat()
        elif hasattr(value, "code"):
            value = value.code
        snap[name] = value
    snap["sources"] = sorted(
        (
            {
                n: (getattr(s, n).isoformat() if isinstance(getattr(s, n), dt.date) else getattr(s, n))
                for n in SOURCE_FIELDS
            }
            for s in baseline.sources.all()
        ),
        key=lambda s: s["url"],
    )
    return snap


def _first_event_on(baseline: ControlBaseline) -> dt.date | None:
    """The earliest announcement of a live decision in the baseline's
    jurisdiction about its substance (or a therapy with it)."""
    substance = baseline.substance.casefold()
    dates = [
        d.announced_on
        for d in Decision.objects.filter(jurisdiction=baseline.jurisdiction, state__in=LIVE_STATES).prefetch_related(
            "therapies"
        )
        if d.substance.casefold() == substance or any(t.substance.casefold() == substance for t in d.therapies.all())
    ]
    return min(dates, default=None)


def _load_baselines(rows: list[tuple[dict, dict]], resolve: _Resolver, report: LoadReport) -> None:
    for row, plain in rows:
        where = f"baseline {row['key']}"
        baseline = ControlBaseline.objects.filter(dataset_key=row["key"]).first()
        if baseline is None:
            baseline = ControlBaseline(dataset_key=row["key"])
            current, last = {}, {}
            report.created += 1
        else:
            current, last = _baseline_snapshot(baseline), baseline.dataset_values
        to_write, record = _merge(current, last, plain, where, report)
        if not to_write and baseline.pk:
            report.unchanged += 1
            if record != last:
                ControlBaseline.objects.filter(pk=baseline.pk).update(dataset_values=record)
        else:
            if baseline.pk:
                report.updated += 1
            for name, value in to_write.items():
                if name in BASELINE_FIELDS:
                    setattr(baseline, name, resolve.value(name, value, where))
            baseline.dataset_values = record
            try:
                baseline.full_clean()
            except ValidationError as exc:
                raise DatasetError(f"{where}: {exc.message_dict}") from None
            baseline.save()
            if "sources" in to_write:
                baseline.sources.all().delete()
                for source in to_write["sources"]:
                    BaselineSource.objects.create(
                        baseline=baseline,
                        **{
                            k: (dt.date.fromisoformat(v) if k == "published_on" and v else v) for k, v in source.items()
                        },
                    )
        if baseline.since_on is None and not plain["known_before"]:
            # "In force before <first recorded event>": derived from the
            # decisions, so it follows them.
            first = _first_event_on(baseline)
            if first != baseline.known_before:
                ControlBaseline.objects.filter(pk=baseline.pk).update(known_before=first)


def _load_decisions(rows: list[tuple[dict, dict]], resolve: _Resolver, report: LoadReport) -> None:
    for row, plain in rows:
        where = f"decision {row['key']}"
        decision = Decision.objects.filter(dataset_key=row["key"]).first()
        try:
            if decision is None:
                fields = {
                    name: resolve.value(name, value, where)
                    for name, value in plain.items()
                    if name not in ("therapies", "sources")
                }
                decision = decision_create(
                    slug=row.get("slug"),
                    therapies=resolve.therapy_list(plain["therapies"], where),
                    sources=[
                        {k: (dt.date.fromisoformat(v) if k == "published_on" and v else v) for k, v in s.items()}
                        for s in plain["sources"]
                    ],
                    **fields,
                )
                Decision.objects.filter(pk=decision.pk).update(dataset_key=row["key"], dataset_values=plain)
                decision_publish(decision=decision, is_import=True)
                report.created += 1
                continue
            if decision.state == DecisionState.RETRACTED:
                # An editor withdrew it: that is their change to keep.
                report.kept_editor_values.append(f"{where}.state")
                report.unchanged += 1
                continue
            to_write, record = _merge(decision_snapshot(decision), decision.dataset_values, plain, where, report)
            if to_write:
                data = {
                    name: resolve.value(name, value, where)
                    for name, value in to_write.items()
                    if name not in ("therapies", "sources")
                }
                therapies = resolve.therapy_list(to_write["therapies"], where) if "therapies" in to_write else None
                sources = None
                if "sources" in to_write:
                    sources = [
                        {k: (dt.date.fromisoformat(v) if k == "published_on" and v else v) for k, v in s.items()}
                        for s in to_write["sources"]
                    ]
                decision_update(
                    decision=decision,
                    data=data,
                    therapies=therapies,
                    sources=sources,
                    change_kind=ChangeKind.AMEND,
                    note="Updated from the shipped dataset.",
                    is_import=True,
                )
                report.updated += 1
            else:
                report.unchanged += 1
            if record != decision.dataset_values:
                Decision.objects.filter(pk=decision.pk).update(dataset_values=record)
        except ValidationError as exc:
            detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
            raise DatasetError(f"{where}: {detail}") from None


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
    programmes, baselines, decisions = [], [], []
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


@transaction.atomic
def history_load(path: Path | str | None = None) -> LoadReport:
    """Load (or re-load) the dataset in one transaction: all or nothing."""
    data = history_read(path)
    report = LoadReport()
    _load_reference(data)
    resolve = _Resolver()
    _load_programmes(data["_programmes"], resolve, report)
    _load_decisions(data["_decisions"], resolve, report)
    _load_baselines(data["_baselines"], resolve, report)
    release = data["_dataset"]
    if release:
        report.version = release["version"]
        DatasetRelease.objects.get_or_create(
            version=release["version"],
            defaults={"researched_on": dt.date.fromisoformat(release["researched_on"]), "loaded_at": timezone.now()},
        )
    return report
