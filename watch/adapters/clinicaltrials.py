"""ClinicalTrials.gov's API: studies of the watched substances."""

from __future__ import annotations

from typing import Any

from watch.adapters.base import Item, Parsed, _date, _excerpt, _json, _shape
from watch.fetch import Fetched
from watch.models import WatchedSource

# ClinicalTrials.gov -----------------------------------------------------------


def _study_fields(n: int, study: Any) -> dict[str, Any]:
    _shape(isinstance(study, dict), f"studies[{n}] is not an object")
    protocol = study.get("protocolSection")
    _shape(isinstance(protocol, dict), f"studies[{n}] has no protocolSection")
    ident = protocol.get("identificationModule") or {}
    status = protocol.get("statusModule") or {}
    _shape(isinstance(ident, dict) and isinstance(ident.get("nctId"), str), f"studies[{n}] has no nctId")
    _shape(isinstance(status, dict), f"studies[{n}] statusModule is not an object")
    design = protocol.get("designModule") if isinstance(protocol.get("designModule"), dict) else {}
    arms = protocol.get("armsInterventionsModule") if isinstance(protocol.get("armsInterventionsModule"), dict) else {}
    interventions = [i.get("name", "") for i in arms.get("interventions") or [] if isinstance(i, dict)]
    listed_phases = design.get("phases")
    phases = listed_phases if isinstance(listed_phases, list) else []
    return {
        "nct": ident["nctId"],
        "title": str(ident.get("briefTitle") or ident.get("officialTitle") or ident["nctId"]),
        "official": str(ident.get("officialTitle") or ""),
        "status": str(status.get("overallStatus") or ""),
        "phases": [str(p) for p in phases],
        "results": bool(study.get("hasResults")),
        "updated": (status.get("lastUpdatePostDateStruct") or {}).get("date"),
        "interventions": interventions,
    }


def _label(value: str) -> str:
    return value.replace("_", " ").lower()


def clinicaltrials_parse(source: WatchedSource, fetched: Fetched) -> Parsed:
    """API v2 /studies: {"studies": [{"protocolSection": {identificationModule,
    statusModule, designModule, armsInterventionsModule}, "hasResults"}],
    "nextPageToken"}. The first poll records each study's phase, overall
    status and results as a baseline; later polls propose what changed and
    studies not seen before."""
    data = _json(fetched)
    _shape(isinstance(data, dict), "expected an object with 'studies'")
    studies = data.get("studies")
    _shape(isinstance(studies, list), "'studies' is missing or not a list")
    baseline = "studies" not in source.state
    seen: dict[str, Any] = dict(source.state.get("studies", {}))
    items = []
    for n, study in enumerate(studies):
        f = _study_fields(n, study)
        snapshot = {"status": f["status"], "phases": f["phases"], "results": f["results"]}
        before = seen.get(f["nct"])
        seen[f["nct"]] = snapshot
        if baseline or before == snapshot:
            continue
        if before is None:
            changes = [f"new study, {_label(f['status']) or 'status not given'}"]
        else:
            changes = []
            if before.get("status") != f["status"]:
                changes.append(f"overall status {_label(before.get('status') or 'none')} → {_label(f['status'])}")
            if before.get("phases") != f["phases"]:
                changes.append(
                    f"phase {'/'.join(before.get('phases') or ['none'])} → {'/'.join(f['phases']) or 'none'}"
                )
            if f["results"] and not before.get("results"):
                changes.append("results posted")
            if not changes:
                continue
        phase = "/".join(f["phases"]) or "no phase"
        items.append(
            Item(
                url=f"https://clinicaltrials.gov/study/{f['nct']}",
                title=f"{f['nct']}: {f['title']} ({'; '.join(changes)})"[:500],
                excerpt=_excerpt(
                    f"{f['official'] or f['title']}. {phase}, {_label(f['status'])}. "
                    f"Interventions: {', '.join(f['interventions']) or 'not listed'}."
                ),
                text=" ".join([f["title"], f["official"], *f["interventions"]]),
                published_on=_date(f["updated"]),
                document_number=f"{f['nct']} {f['status']} {phase}{' results' if f['results'] else ''}",
                kind_hint="trial result" if "results posted" in changes else "",
                is_change=True,
            )
        )
    return Parsed(items, state={**source.state, "studies": seen})
