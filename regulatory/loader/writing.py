"""Writing the checked dataset: creates, and updates only the fields no editor has changed since the last load."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from regulatory.loader.base import BASELINE_FIELDS, PROGRAMME_FIELDS, DatasetError, LoadReport
from regulatory.loader.reading import history_read
from regulatory.models import (
    LIVE_STATES,
    AccessProgramme,
    BaselineSource,
    ChangeKind,
    ControlBaseline,
    DatasetRelease,
    Decision,
    DecisionState,
    Jurisdiction,
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


class _Resolver:
    def __init__(self) -> None:
        self.jurisdictions = {j.code: j for j in Jurisdiction.objects.all()}
        self.regulators = {r.code: r for r in Regulator.objects.all()}
        self.therapies = {t.slug: t for t in Therapy.objects.all()}
        self.programmes = {p.slug: p for p in AccessProgramme.objects.all()}

    def value(self, name: str, value: Any, where: str) -> Any:
        tables: dict[str, dict[str, Any]] = {
            "jurisdiction": self.jurisdictions,
            "regulator": self.regulators,
            "access_programme": self.programmes,
        }
        table = tables.get(name)
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


def _source_values(source: dict) -> dict:
    """A dataset source as model field values (`published_on` as a date)."""
    return {k: (dt.date.fromisoformat(v) if k == "published_on" and v else v) for k, v in source.items()}


def _row_snapshot(row: AccessProgramme | ControlBaseline, fields: tuple[str, ...]) -> dict:
    """A programme's or baseline's fields and sources as the dataset writes them."""
    snap = {}
    for name in fields:
        value = getattr(row, name)
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
            for s in row.sources.all()
        ),
        key=lambda s: s["url"],
    )
    return snap


def _programme_snapshot(programme: AccessProgramme) -> dict:
    snap = _row_snapshot(programme, PROGRAMME_FIELDS)
    snap["therapies"] = sorted(t.slug for t in programme.therapies.all())
    return snap


def _baseline_snapshot(baseline: ControlBaseline) -> dict:
    return _row_snapshot(baseline, BASELINE_FIELDS)


def _row_merge(
    row: AccessProgramme | ControlBaseline, snapshot: dict, plain: dict, where: str, report: LoadReport
) -> dict | None:
    """What of `plain` to write into `row` (new: all of it), or None when
    nothing is (the record of the last load still moves on)."""
    if row.pk is None:
        report.created += 1
        to_write, record = _merge({}, {}, plain, where, report)
    else:
        to_write, record = _merge(snapshot, row.dataset_values, plain, where, report)
        if not to_write:
            report.unchanged += 1
            if record != row.dataset_values:
                type(row).objects.filter(pk=row.pk).update(dataset_values=record)
            return None
        report.updated += 1
    row.dataset_values = record
    return to_write


def _row_write(
    row: AccessProgramme | ControlBaseline,
    fields: tuple[str, ...],
    to_write: dict,
    resolve: _Resolver,
    where: str,
    source_model: type[ProgrammeSource] | type[BaselineSource],
    owner: str,
) -> None:
    """Set the fields, check and save the row, and replace its sources if the
    dataset changed them."""
    for name, value in to_write.items():
        if name in fields:
            setattr(row, name, resolve.value(name, value, where))
    try:
        row.full_clean()
    except ValidationError as exc:
        raise DatasetError(f"{where}: {exc.message_dict}") from None
    row.save()
    if "sources" in to_write:
        row.sources.all().delete()
        for source in to_write["sources"]:
            source_model.objects.create(**{owner: row}, **_source_values(source))


def _load_programmes(rows: list[tuple[dict, dict]], resolve: _Resolver, report: LoadReport) -> None:
    for row, plain in rows:
        where = f"programme {row['key']}"
        programme = AccessProgramme.objects.filter(dataset_key=row["key"]).first()
        if programme is None:
            programme = AccessProgramme(dataset_key=row["key"], slug=row["slug"])
        snapshot = _programme_snapshot(programme) if programme.pk else {}
        to_write = _row_merge(programme, snapshot, plain, where, report)
        if to_write is None:
            continue
        _row_write(programme, PROGRAMME_FIELDS, to_write, resolve, where, ProgrammeSource, "programme")
        if "therapies" in to_write:
            programme.therapies.set(resolve.therapy_list(to_write["therapies"], where))
        resolve.programmes[programme.slug] = programme


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
        snapshot = _baseline_snapshot(baseline) if baseline.pk else {}
        to_write = _row_merge(baseline, snapshot, plain, where, report)
        if to_write is not None:
            _row_write(baseline, BASELINE_FIELDS, to_write, resolve, where, BaselineSource, "baseline")
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
                    sources=[_source_values(s) for s in plain["sources"]],
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
                    sources = [_source_values(s) for s in to_write["sources"]]
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
