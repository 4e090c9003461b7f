"""Small presentation helpers shared by the analysts' pages."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django import template
from django.http import QueryDict
from django.utils.html import format_html, format_html_join

from regulatory.dates import is_ahead
from regulatory.models import (
    LEGACY_STATUS_LABELS,
    ApprovalStage,
    Control,
    DecisionKind,
    SourceGrade,
    format_partial_date,
)
from regulatory.pages.chart import KIND_SHAPE, shape_path

register = template.Library()


@register.filter
def status_label(value: str) -> str:
    """The label of a control, an approval stage, or a former single status (old diffs)."""
    for choices in (ApprovalStage, Control):
        if value in choices.values:
            return str(choices(value).label)
    return LEGACY_STATUS_LABELS.get(value, "")


@register.simple_tag
def decision_badge(decision) -> str:
    """What a decision sets (its approval stage and/or its control), as
    coloured pills that also say it in words."""
    from regulatory.pages.chart import CONTROL_TONES, STAGE_TONES

    pills = []
    if decision.approval_stage:
        pills.append((STAGE_TONES[decision.approval_stage], decision.get_approval_stage_display()))
    if decision.control:
        pills.append(
            (CONTROL_TONES[decision.control], f"{decision.get_control_display()}: {decision.control_instrument}")
        )
    return format_html_join(" ", '<span class="status-badge tone--{}">{}</span>', pills)


@register.simple_tag
def grade_badge(grade: str) -> str:
    label = SourceGrade(grade).label if grade in SourceGrade.values else grade
    return format_html('<span class="grade-badge grade--{}">{}</span>', grade, label)


@register.simple_tag
def kind_icon(kind: str, size: int = 14) -> str:
    """The timeline's shape for a kind of decision, inline, for lists."""
    shape = KIND_SHAPE.get(kind, "circle")
    half = size / 2
    return format_html(
        '<svg class="kind-icon" width="{}" height="{}" viewBox="0 0 {} {}" aria-hidden="true" focusable="false">'
        '<path d="{}"/></svg>',
        size,
        size,
        size,
        size,
        shape_path(shape, half, half, size * 0.3),
    )


@register.filter
def kind_label(value: str) -> str:
    return DecisionKind(value).label if value in DecisionKind.values else value


@register.simple_tag
def partial_date(value: dt.date | None, precision: str) -> str:
    return format_partial_date(value, precision)


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (None or ''
    drops one), for links that keep the rest of the filters."""
    request = context.get("request")
    query: QueryDict = request.GET.copy() if request else QueryDict(mutable=True)
    for key, value in changes.items():
        key = {"date_from": "from", "date_to": "to"}.get(key, key)
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = value
    encoded = urlencode(sorted((k, v) for k in query for v in query.getlist(k)))
    return f"?{encoded}" if encoded else "?"


@register.simple_tag
def date_ahead(value: dt.date | None, precision: str, today: dt.date) -> bool:
    """Whether a target or effective date is still to come (see dates.is_ahead)."""
    return is_ahead(value, precision, today)
