"""Validation shared by the API, the pages and the importer: an email address and a subscription's scope."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from regulatory.models import DecisionKind, Jurisdiction, Therapy
from tracker.addresses import email_normalise
from tracker.models import (
    Cadence,
)

# --- Validation shared by the API, the pages and the importer ---------------


@dataclass(frozen=True)
class Scope:
    """A validated subscription request: cadence and scope (empty = all)."""

    cadence: str
    jurisdictions: tuple[Jurisdiction, ...] = ()
    therapies: tuple[Therapy, ...] = ()
    kinds: tuple[str, ...] = ()

    def key(self) -> tuple:
        return (
            self.cadence,
            frozenset(j.pk for j in self.jurisdictions),
            frozenset(t.pk for t in self.therapies),
            frozenset(self.kinds),
        )


def email_validate(email: str) -> str:
    """The address in its normal form (tracker/addresses.py: one mailbox, one
    address); ValidationError naming `email` otherwise."""
    return email_normalise(email)


def scope_validate(
    *, cadence: str, jurisdictions: Iterable[str] = (), therapies: Iterable[str] = (), kinds: Iterable[str] = ()
) -> Scope:
    """Resolve codes, slugs and kinds; ValidationError naming every bad field."""
    errors: dict[str, str] = {}
    if cadence not in Cadence.values:
        errors["cadence"] = f"Choose one of: {', '.join(Cadence.values)}."
    codes = sorted({c.strip().lower() for c in jurisdictions if c and c.strip()})
    found_j = {j.code: j for j in Jurisdiction.objects.filter(code__in=codes)} if codes else {}
    if unknown := [c for c in codes if c not in found_j]:
        errors["jurisdictions"] = f"Unknown jurisdiction code(s): {', '.join(unknown)}."
    slugs = sorted({s.strip().lower() for s in therapies if s and s.strip()})
    found_t = {t.slug: t for t in Therapy.objects.filter(slug__in=slugs)} if slugs else {}
    if unknown := [s for s in slugs if s not in found_t]:
        errors["therapies"] = f"Unknown therapy slug(s): {', '.join(unknown)}."
    kind_values = sorted({k.strip().lower() for k in kinds if k and k.strip()})
    if unknown := [k for k in kind_values if k not in DecisionKind.values]:
        errors["kinds"] = f"Unknown kind(s): {', '.join(unknown)}; choose from {', '.join(DecisionKind.values)}."
    if errors:
        raise ValidationError(errors)
    return Scope(
        cadence=cadence,
        jurisdictions=tuple(found_j[c] for c in codes),
        therapies=tuple(found_t[s] for s in slugs),
        kinds=tuple(kind_values),
    )
