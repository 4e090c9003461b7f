"""The daily email of new candidates to an editor: a subject, a plain-text
body and an HTML body from templates/watch/email/, with absolute links to the
candidates' admin pages. Nothing here sends (watch.mail does, through the
delivery engine)."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from tracker.emails import absolute_url, site_host
from watch.models import Candidate, CandidateMail

_MAX_SUBJECT_LENGTH = 180


def candidate_mail_message_id(mail: CandidateMail) -> str:
    return f"<candidates-{mail.pk}@{site_host()}>"


def candidate_mail_message(mail: CandidateMail, candidates: Sequence[Candidate]) -> EmailMultiAlternatives:
    context = {
        "SITE_NAME": settings.SITE_NAME,
        "period": mail.period,
        "count": len(candidates),
        "entries": [
            {
                "candidate": candidate,
                "therapies": [t.name for t in candidate.therapies.all()],
                "admin_url": absolute_url(reverse("admin:watch_candidate_change", args=[candidate.pk])),
            }
            for candidate in candidates
        ],
        "queue_url": absolute_url(reverse("admin:watch_candidate_changelist") + "?state__exact=new"),
        "preference_url": absolute_url(reverse("admin:watch_candidate_mail")),
    }
    # Collapsing whitespace keeps a title's line break out of the header.
    subject = " ".join(render_to_string("watch/email/candidates_subject.txt", context).split())
    if len(subject) > _MAX_SUBJECT_LENGTH:
        subject = subject[: _MAX_SUBJECT_LENGTH - 1] + "…"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("watch/email/candidates_body.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[mail.user.email],
        headers={"Message-ID": candidate_mail_message_id(mail), "Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(render_to_string("watch/email/candidates_body.html", context), "text/html")
    return message
