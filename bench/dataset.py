"""The synthetic scale dataset: regulatory record and subscribers, bulk-inserted.

Deterministic (a seeded RNG) and shaped so that each benchmark phase knows
exactly how many emails to expect:

- the *mail change* (jurisdiction `mail_jurisdiction`, a member of the union
  `mail_union`; therapy `mail_therapy`; kind approval) matches exactly
  `scale.mail_subscribers` instant subscriptions, through five different
  scope shapes (the member, its union, the therapy, both, union + kinds);
- the other instant subscriptions are scoped to "plain" jurisdictions that no
  benchmark change touches, so the fan-out has to walk past them;
- every subscriber holds one daily subscription whose scope (everything, a
  jurisdiction, a therapy, or a kind) matches the *digest changes*, so a
  daily digest after them goes to every subscriber;
- one *latency subscriber* is the only instant subscriber of
  `latency_jurisdiction`, so each latency publish sends exactly one email.

Rows go in with bulk_create and explicit ids (so the many-to-many rows can be
built without reading ids back), then the sequences are moved past them.
Historical records (simple_history) are not written for synthetic rows: they
are not part of what the endpoints read, only of the record version, which
the bench's Change rows move anyway.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from bench.scale import Scale

SEED = 20240809
BATCH = 5000

SUBSTANCES = ["mdma", "psilocybin", "lsd", "dmt", "ketamine", "ibogaine", "mescaline", "5-meo-dmt"]
INDICATIONS = ["ptsd", "trd", "mdd", "aud", "oud"]
# What a synthetic decision sets: a control (with its instrument) or an approval stage.
STATUSES = ["prohibited", "investigational", "under_review", "not_approved", "medical_use_permitted", "approved"]
CONTROLS = {"prohibited", "medical_use_permitted"}
KINDS = [
    "designation",
    "submission",
    "acceptance",
    "advisory_vote",
    "approval",
    "refusal",
    "scheduling",
    "guidance",
    "access_programme",
    "legislation",
    "trial_result",
    "other",
]

MAIL_KIND = "approval"
LATENCY_KIND = "other"
DIGEST_KIND = "guidance"


def jurisdiction_code(index: int) -> str:
    return f"b{index:03d}"


def therapy_slug(index: int, scale: Scale) -> str:
    per = len(INDICATIONS)
    if scale.therapies <= len(SUBSTANCES) * per:
        return f"{SUBSTANCES[index // per]}-{INDICATIONS[index % per]}"
    return f"therapy-{index:03d}"


@dataclass(frozen=True)
class Plan:
    """Which codes play which role; a pure function of the scale."""

    scale: Scale
    union_codes: list[str]
    parent_of: dict[str, str]
    mail_union: str
    mail_jurisdiction: str
    latency_jurisdiction: str
    digest_jurisdiction: str
    plain_jurisdictions: list[str]
    mail_therapy: str
    latency_therapy: str
    digest_therapy: str
    plain_therapies: list[str]
    all_jurisdictions: list[str] = field(repr=False)
    all_therapies: list[str] = field(repr=False)

    @property
    def latency_subscriber_email(self) -> str:
        return subscriber_email(self.scale.subscribers - 1)


def subscriber_email(index: int) -> str:
    return f"subscriber{index:06d}@bench.example"


def plan_for(scale: Scale) -> Plan:
    codes = [jurisdiction_code(i) for i in range(scale.jurisdictions)]
    unions = codes[: scale.unions]
    parent_of: dict[str, str] = {}
    cursor = scale.unions
    for union in unions:
        for _ in range(scale.members_per_union):
            parent_of[codes[cursor]] = union
            cursor += 1
    standalone = codes[cursor:]
    if len(standalone) < 4:
        raise ValueError("the scale needs at least four jurisdictions outside unions")
    mail_union = unions[0]
    mail_members = [c for c, p in parent_of.items() if p == mail_union]
    latency, digest = standalone[-1], standalone[-2]
    excluded = {mail_union, *mail_members, latency, digest}
    slugs = [therapy_slug(i, scale) for i in range(scale.therapies)]
    return Plan(
        scale=scale,
        union_codes=unions,
        parent_of=parent_of,
        mail_union=mail_union,
        mail_jurisdiction=mail_members[0],
        latency_jurisdiction=latency,
        digest_jurisdiction=digest,
        plain_jurisdictions=[c for c in codes if c not in excluded],
        mail_therapy=slugs[0],
        latency_therapy=slugs[1],
        digest_therapy=slugs[2],
        plain_therapies=slugs[3:],
        all_jurisdictions=codes,
        all_therapies=slugs,
    )


@dataclass
class BuildReport:
    seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)
    seconds_by_step: dict[str, float] = field(default_factory=dict)
    subscriptions_by_cadence: dict[str, int] = field(default_factory=dict)
    base_change_id: int = 0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def _next_id(model: type[models.Model]) -> int:
    return (model._default_manager.aggregate(top=Max("pk"))["top"] or 0) + 1


def _insert(report: BuildReport, label: str, model: type[models.Model], rows: Iterable[models.Model]) -> None:
    started = time.perf_counter()
    objs = rows if isinstance(rows, list) else list(rows)
    model._default_manager.bulk_create(objs, batch_size=BATCH)
    report.rows[label] = report.rows.get(label, 0) + len(objs)
    report.seconds_by_step[label] = report.seconds_by_step.get(label, 0.0) + time.perf_counter() - started


def _reset_sequences(model_list: list[type[models.Model]]) -> None:
    statements = connection.ops.sequence_reset_sql(no_style(), model_list)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def build(
    scale: Scale, *, subscribers: bool = True, say: Callable[[str], None] = lambda text: None
) -> tuple[Plan, BuildReport]:
    """Insert the regulatory record and (unless told not to) the subscribers for `scale`."""
    plan = plan_for(scale)
    report = BuildReport()
    started = time.perf_counter()
    with transaction.atomic():
        _build_record(plan, report, say)
    if subscribers:
        with transaction.atomic():
            _build_subscribers(plan, report, say)
    if connection.vendor == "postgresql":
        # Fresh statistics, or the planner guesses from empty tables.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    report.seconds = time.perf_counter() - started
    return plan, report


def _build_record(plan: Plan, report: BuildReport, say: Callable[[str], None]) -> None:
    from regulatory.models import Change, Decision, Jurisdiction, Regulator, Source, Therapy

    scale = plan.scale
    rng = random.Random(SEED)
    now = timezone.now()

    jid0 = _next_id(Jurisdiction)
    jur_id = {code: jid0 + i for i, code in enumerate(plan.all_jurisdictions)}
    # Parents first: a member's row refers to its union's.
    ordered = sorted(plan.all_jurisdictions, key=lambda c: c in plan.parent_of)
    _insert(
        report,
        "jurisdictions",
        Jurisdiction,
        [
            Jurisdiction(
                id=jur_id[c],
                code=c,
                name=f"Jurisdiction {c.upper()}",
                position=jur_id[c] - jid0,
                parent_id=jur_id[plan.parent_of[c]] if c in plan.parent_of else None,
            )
            for c in ordered
        ],
    )
    rid0 = _next_id(Regulator)
    reg_id = {code: rid0 + i for i, code in enumerate(plan.all_jurisdictions)}
    _insert(
        report,
        "regulators",
        Regulator,
        [
            Regulator(
                id=reg_id[c],
                code=f"reg-{c}",
                name=f"Regulator of {c.upper()}",
                jurisdiction_id=jur_id[c],
                website=f"https://{c}.regulator.example/",
            )
            for c in plan.all_jurisdictions
        ],
    )
    tid0 = _next_id(Therapy)
    ther_id = {slug: tid0 + i for i, slug in enumerate(plan.all_therapies)}
    _insert(
        report,
        "therapies",
        Therapy,
        [
            Therapy(
                id=ther_id[s],
                slug=s,
                name=f"{s.split('-')[0].upper()} therapy for {s.split('-')[-1].upper()}",
                substance=s.rsplit("-", 1)[0],
                indication=s.rsplit("-", 1)[-1],
                position=ther_id[s] - tid0,
            )
            for s in plan.all_therapies
        ],
    )

    did0, sid0, cid0 = _next_id(Decision), _next_id(Source), _next_id(Change)
    through = Decision.therapies.through
    first_day, span = dt.date(1985, 1, 1), (now.date() - dt.date(1985, 1, 1)).days
    decisions, sources, links, changes = [], [], [], []
    source_id = sid0
    for i in range(scale.decisions):
        code = plan.all_jurisdictions[rng.randrange(len(plan.all_jurisdictions))]
        kind = KINDS[rng.randrange(len(KINDS))]
        announced = first_day + dt.timedelta(days=rng.randrange(span))
        status = STATUSES[rng.randrange(len(STATUSES))] if rng.random() < 0.5 else ""
        effective = announced + dt.timedelta(days=rng.randrange(0, 180)) if status or rng.random() < 0.2 else None
        target = announced + dt.timedelta(days=rng.randrange(30, 400)) if rng.random() < 0.05 else None
        published_at = now - dt.timedelta(seconds=(scale.decisions - i) * 60)
        decisions.append(
            Decision(
                id=did0 + i,
                slug=f"bench-{i:06d}",
                jurisdiction_id=jur_id[code],
                regulator_id=reg_id[code],
                kind=kind,
                title=f"Synthetic {kind.replace('_', ' ')} no. {i} in {code.upper()}",
                summary=(
                    "A synthetic decision for the benchmark: what the regulator decided, on what evidence, "
                    "and what happens next, in about two sentences of ordinary length. "
                )
                * 2,
                announced_on=announced,
                effective_on=effective,
                target_on=target,
                control=status if status in CONTROLS else "",
                control_instrument="Schedule I, Synthetic Act" if status in CONTROLS else "",
                approval_stage=status if status and status not in CONTROLS else "",
                state="published",
                published_at=published_at,
            )
        )
        count = 2 if rng.random() < 0.2 else 1
        for tid in rng.sample(range(len(plan.all_therapies)), count):
            links.append(through(decision_id=did0 + i, therapy_id=tid0 + tid))
        for k in range(2 if rng.random() < 0.3 else 1):
            sources.append(
                Source(
                    id=source_id,
                    decision_id=did0 + i,
                    url=f"https://{code}.regulator.example/notices/{i}/{k}",
                    title=f"Notice {i}/{k}",
                    publisher=f"Regulator of {code.upper()}",
                    published_on=announced,
                    grade="official" if k == 0 else "secondary",
                )
            )
            source_id += 1
        changes.append(
            Change(
                id=cid0 + i,
                decision_id=did0 + i,
                kind="publish",
                diff={},
                recorded_at=published_at,
                late_reported=True,
                is_import=True,
            )
        )
    say(f"built {len(decisions):,} decisions in memory; inserting")
    _insert(report, "decisions", Decision, decisions)
    _insert(report, "decision_therapies", through, links)
    _insert(report, "sources", Source, sources)
    _insert(report, "changes", Change, changes)
    _reset_sequences([Jurisdiction, Regulator, Therapy, Decision, Source, Change])
    report.base_change_id = cid0 + scale.decisions - 1


def _mail_scope(variant: int, plan: Plan, rng: random.Random) -> tuple[list[str], list[str], list[str]]:
    """Five scope shapes, each matching the mail change and nothing else the bench publishes."""
    plain_j, plain_t = plan.plain_jurisdictions, plan.plain_therapies
    if variant == 0:
        return [plan.mail_jurisdiction], [], []
    if variant == 1:
        return [plan.mail_union], [], []  # the union covers its members
    if variant == 2:
        return [], [plan.mail_therapy], []
    if variant == 3:
        return [plan.mail_jurisdiction, rng.choice(plain_j)], [plan.mail_therapy, rng.choice(plain_t)], []
    return [plan.mail_union], [], [MAIL_KIND, "refusal"]


def _daily_scope(variant: int, plan: Plan, rng: random.Random) -> tuple[list[str], list[str], list[str]]:
    """Scopes that match the digest changes (and, for 'everything', all changes)."""
    if variant < 3:
        return [], [], []
    if variant < 6:
        return [plan.digest_jurisdiction], [], []
    if variant < 8:
        return [], [plan.digest_therapy], []
    return [plan.digest_jurisdiction, rng.choice(plan.plain_jurisdictions)], [], [DIGEST_KIND]


def _plain_scope(plan: Plan, rng: random.Random) -> tuple[list[str], list[str], list[str]]:
    """A scope over plain jurisdictions only: no bench change ever matches it."""
    jurisdictions = rng.sample(plan.plain_jurisdictions, rng.randint(1, 3))
    therapies = rng.sample(plan.plain_therapies, rng.randint(1, 2)) if rng.random() < 0.5 else []
    kinds = rng.sample(KINDS, 2) if rng.random() < 0.3 else []
    return jurisdictions, therapies, kinds


def _build_subscribers(plan: Plan, report: BuildReport, say: Callable[[str], None]) -> None:
    from regulatory.models import Jurisdiction, Therapy
    from tracker.models import Subscriber, Subscription, SubscriptionKind

    scale = plan.scale
    rng = random.Random(SEED + 1)
    now = timezone.now()
    base = report.base_change_id
    jur_id = dict(Jurisdiction.objects.filter(code__in=plan.all_jurisdictions).values_list("code", "id"))
    ther_id = dict(Therapy.objects.filter(slug__in=plan.all_therapies).values_list("slug", "id"))
    sub0, subn0, kind0 = _next_id(Subscriber), _next_id(Subscription), _next_id(SubscriptionKind)
    j_through = Subscription.jurisdictions.through
    t_through = Subscription.therapies.through

    subscribers: list[Subscriber] = []
    subscriptions: list[Subscription] = []
    j_links: list[models.Model] = []
    t_links: list[models.Model] = []
    kind_rows: list[SubscriptionKind] = []
    counts = {"instant": 0, "daily": 0, "weekly": 0}
    n_other_instant = int(scale.subscribers * scale.other_instant_share)

    def subscribe(subscriber_id: int, cadence: str, scope: tuple[list[str], list[str], list[str]]) -> None:
        sid = subn0 + len(subscriptions)
        subscriptions.append(
            Subscription(
                id=sid,
                subscriber_id=subscriber_id,
                cadence=cadence,
                confirmed_at=now,
                starts_after_change_id=base,
                confirmation_sent_at=now,
            )
        )
        jurisdictions, therapies, kinds = scope
        j_links.extend(j_through(subscription_id=sid, jurisdiction_id=jur_id[c]) for c in dict.fromkeys(jurisdictions))
        t_links.extend(t_through(subscription_id=sid, therapy_id=ther_id[s]) for s in dict.fromkeys(therapies))
        for k in dict.fromkeys(kinds):
            kind_rows.append(SubscriptionKind(id=kind0 + len(kind_rows), subscription_id=sid, kind=k))
        counts[cadence] += 1

    latency_index = scale.subscribers - 1
    for i in range(scale.subscribers):
        sub_id = sub0 + i
        subscribers.append(
            Subscriber(
                id=sub_id, email=subscriber_email(i), confirmed_at=now, daily_watermark=base, weekly_watermark=base
            )
        )
        if i < scale.mail_subscribers:
            subscribe(sub_id, "instant", _mail_scope(i % 5, plan, rng))
        elif i < scale.mail_subscribers + n_other_instant:
            subscribe(sub_id, "instant", _plain_scope(plan, rng))
        elif i == latency_index:
            subscribe(sub_id, "instant", ([plan.latency_jurisdiction], [], []))
        subscribe(sub_id, "daily", _daily_scope(i % 10, plan, rng))
        if rng.random() < scale.weekly_share:
            subscribe(sub_id, "weekly", ([], [], []) if rng.random() < 0.3 else _plain_scope(plan, rng))
    say(f"built {len(subscribers):,} subscribers and {len(subscriptions):,} subscriptions in memory; inserting")
    _insert(report, "subscribers", Subscriber, subscribers)
    _insert(report, "subscriptions", Subscription, subscriptions)
    _insert(report, "subscription_jurisdictions", j_through, j_links)
    _insert(report, "subscription_therapies", t_through, t_links)
    _insert(report, "subscription_kinds", SubscriptionKind, kind_rows)
    _reset_sequences([Subscriber, Subscription, SubscriptionKind])
    report.subscriptions_by_cadence = counts


# --- Publishing during the run -------------------------------------------------


def draft_create(plan: Plan, *, role: str, n: int):
    """A draft decision for one of the plan's roles ('mail', 'latency', 'digest'),
    created through the real service, ready to be published."""
    from regulatory.models import Jurisdiction, Regulator, Therapy
    from regulatory.services import decision_create

    code, slug, kind = {
        "mail": (plan.mail_jurisdiction, plan.mail_therapy, MAIL_KIND),
        "latency": (plan.latency_jurisdiction, plan.latency_therapy, LATENCY_KIND),
        "digest": (plan.digest_jurisdiction, plan.digest_therapy, DIGEST_KIND),
    }[role]
    jurisdiction = Jurisdiction.objects.get(code=code)
    today = timezone.localdate()
    return decision_create(
        jurisdiction=jurisdiction,
        regulator=Regulator.objects.get(code=f"reg-{code}"),
        therapies=[Therapy.objects.get(slug=slug)],
        kind=kind,
        title=f"Bench {role} decision {n} in {code.upper()}",
        summary="A decision published by the benchmark to measure delivery.",
        announced_on=today,
        slug=f"bench-{role}-{n}-{int(time.time() * 1000)}",
        sources=[
            {
                "url": f"https://{code}.regulator.example/bench/{role}/{n}/{time.time_ns()}",
                "title": f"Bench notice {n}",
                "publisher": f"Regulator of {code.upper()}",
                "published_on": today,
                "grade": "official",
            }
        ],
    )
