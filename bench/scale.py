"""How big each benchmark phase is: the issue's numbers, and a quick version."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    jurisdictions: int
    unions: int  # jurisdictions that have members (like eu); each gets `members_per_union`
    members_per_union: int
    therapies: int
    decisions: int
    subscribers: int
    # Instant subscribers whose scopes all match the mail benchmark's change.
    mail_subscribers: int
    # Further instant subscribers whose scopes do not match it (the fan-out must skip them).
    other_instant_share: float
    weekly_share: float
    # Load generator: seconds per measured run, seconds of warm-up before it.
    http_duration: int
    http_warmup: int
    http_connections: int
    latency_publishes: int
    digest_changes: int
    # Upper bounds for each waiting phase, so a broken part cannot hang the run.
    mail_timeout: int
    digest_timeout: int


FULL = Scale(
    name="full",
    jurisdictions=200,
    unions=10,
    members_per_union=9,
    therapies=40,
    decisions=100_000,
    subscribers=100_000,
    mail_subscribers=20_000,
    other_instant_share=0.10,
    weekly_share=0.20,
    http_duration=15,
    http_warmup=3,
    http_connections=4,
    latency_publishes=50,
    digest_changes=3,
    mail_timeout=900,
    digest_timeout=1800,
)

QUICK = Scale(
    name="quick",
    jurisdictions=200,
    unions=10,
    members_per_union=9,
    therapies=40,
    decisions=2_000,
    subscribers=2_000,
    mail_subscribers=500,
    other_instant_share=0.10,
    weekly_share=0.20,
    http_duration=3,
    http_warmup=1,
    http_connections=4,
    latency_publishes=10,
    digest_changes=3,
    mail_timeout=120,
    digest_timeout=180,
)

# Between the two, for working on one phase: figures steadier than quick's in a few minutes.
MEDIUM = Scale(
    name="medium",
    jurisdictions=200,
    unions=10,
    members_per_union=9,
    therapies=40,
    decisions=20_000,
    subscribers=20_000,
    mail_subscribers=5_000,
    other_instant_share=0.10,
    weekly_share=0.20,
    http_duration=8,
    http_warmup=2,
    http_connections=4,
    latency_publishes=20,
    digest_changes=3,
    mail_timeout=600,
    digest_timeout=900,
)

# Tiny, for the tests of the builder itself.
TEST = Scale(
    name="test",
    jurisdictions=30,
    unions=2,
    members_per_union=3,
    therapies=8,
    decisions=120,
    subscribers=60,
    mail_subscribers=20,
    other_instant_share=0.10,
    weekly_share=0.20,
    http_duration=1,
    http_warmup=0,
    http_connections=1,
    latency_publishes=2,
    digest_changes=2,
    mail_timeout=10,
    digest_timeout=10,
)
