"""Which therapies an item is about: their substances and the aliases kept as
data (SubstanceAlias), matched as whole words, case-insensitively."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from regulatory.models import DecisionKind, Therapy
from watch.models import SubstanceAlias


@dataclass
class Matcher:
    pattern: re.Pattern | None
    substance_of: dict[str, str]  # lowercased name -> substance
    therapies: dict[str, list[Therapy]]  # lowercased substance -> therapies

    def substances(self, text: str) -> set[str]:
        if self.pattern is None or not text:
            return set()
        return {self.substance_of[m.group(0).lower()] for m in self.pattern.finditer(text)}

    def match(self, text: str) -> list[Therapy]:
        found = self.substances(text)
        return [t for substance in sorted(found) for t in self.therapies.get(substance, [])]


def matcher_build() -> Matcher:
    therapies: dict[str, list[Therapy]] = defaultdict(list)
    substance_of: dict[str, str] = {}
    for therapy in Therapy.objects.order_by("position", "slug"):
        key = therapy.substance.strip().lower()
        therapies[key].append(therapy)
        substance_of[key] = key
    for alias in SubstanceAlias.objects.all():
        key = alias.substance.strip().lower()
        if key in therapies:
            substance_of[alias.alias.strip().lower()] = key
    if not substance_of:
        return Matcher(None, {}, {})
    # Longest first, so "3,4-methylenedioxymethamphetamine" wins over a
    # shorter name inside it; not inside a longer word ("MDMA" in "MDMAX").
    names = sorted(substance_of, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(n) for n in names) + r")(?![\w])", re.IGNORECASE)
    return Matcher(pattern, substance_of, dict(therapies))


# Words that suggest a kind of decision, tried in order: the first hit wins.
_KIND_WORDS: list[tuple[str, str]] = [
    (r"\b(?:re)?schedul|\bcontrolled substances? act\b|\bcontrol status\b", DecisionKind.SCHEDULING),
    (r"\bcomplete response\b|\brefus|\bnot approv|\bdeclin", DecisionKind.REFUSAL),
    (r"\badvisory committee\b|\bpanel vot", DecisionKind.ADVISORY_VOTE),
    (r"\bbreakthrough\b|\bdesignat|\bprime\b|\borphan\b", DecisionKind.DESIGNATION),
    (
        r"\bexpanded access\b|\bcompassionate\b|\bspecial access\b|\bauthori[sz]ed prescriber|\bright to try\b",
        DecisionKind.ACCESS_PROGRAMME,
    ),
    (r"\baccept\w* (?:for|the)\b|\bpriority review\b|\bfiling\b", DecisionKind.ACCEPTANCE),
    (r"\bsubmi(?:ts|tted|ssion)\b|\bnew drug application\b", DecisionKind.SUBMISSION),
    (r"\bapprov", DecisionKind.APPROVAL),
    (r"\bguidance\b", DecisionKind.GUIDANCE),
    (r"\bresults?\b.*\b(?:posted|trial|study|phase)\b|\btopline\b", DecisionKind.TRIAL_RESULT),
    (r"\bbill\b|\bact\b|\blegislat|\bregulation\b", DecisionKind.LEGISLATION),
]


def kind_suggest(text: str, default: str = "") -> str:
    lowered = text.lower()
    for words, kind in _KIND_WORDS:
        if re.search(words, lowered):
            return kind
    return default or DecisionKind.OTHER
