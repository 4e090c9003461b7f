"""Subscriber pages: subscribe, confirm, manage, unsubscribe.

Pages reached through a signed link verify it first; a link that does not
verify (tampered, expired, made for another purpose) gets one plain page and
changes nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from regulatory.api.filters import ScopeForm as PrefillForm
from tracker import emails, selectors, services, tokens
from tracker.api import ACCEPTED_TEXT
from tracker.forms import ScopeForm, SubscribeForm
from tracker.models import Subscriber


def _invalid_link(request: HttpRequest) -> HttpResponse:
    return render(request, "tracker/invalid_link.html", status=400)


def _rate_limited(request: HttpRequest, form: SubscribeForm, wait: int) -> HttpResponse:
    response = render(
        request,
        "tracker/subscribe.html",
        {
            "form": form,
            "rate_limited_minutes": max(1, round(wait / 60)),
        },
        status=429,
    )
    response["Retry-After"] = str(wait)
    return response


@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        # "Follow this view" on the matrix links here with its scope, as the
        # feeds take it (?jurisdiction=us,au&therapy=mdma-ptsd): the boxes come ticked.
        prefill = PrefillForm(request.GET)
        if not prefill.is_valid():
            name, messages_ = next(iter(prefill.errors.items()))
            return render(
                request,
                "tracker/bad_request.html",
                {"detail": f"{name}: {' '.join(str(m) for m in messages_)}"},
                status=400,
            )
        initial = {
            "jurisdictions": [j.code for j in prefill.cleaned_data["jurisdiction"]],
            "therapies": [t.slug for t in prefill.cleaned_data["therapy"]],
        }
        return render(request, "tracker/subscribe.html", {"form": SubscribeForm(initial=initial)})
    form = SubscribeForm(request.POST)
    client = services.client_address(request.META)
    if wait := services.rate_limit_hit(scope="subscribe-ip", key=client, limit=settings.SUBSCRIBE_RATE_PER_IP):
        return _rate_limited(request, form, wait)
    if not form.is_valid():
        return render(request, "tracker/subscribe.html", {"form": form}, status=400)
    email = form.cleaned_data["email"]
    if wait := services.address_rate_limit_hit(email=email):
        return _rate_limited(request, form, wait)
    services.subscription_request(email=email, scope=form.cleaned_data["scope"])
    return render(
        request,
        "tracker/subscribe_sent.html",
        {
            "detail": ACCEPTED_TEXT,
            "max_age_days": settings.TRACKER_CONFIRM_MAX_AGE_DAYS,
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the subscription and a button, and changes nothing: mail
    scanners and link previews open links without anyone asking, and must not
    subscribe the address for its owner. The button POSTs to this same link
    with the page's CSRF token, and that confirms. A link that does not verify,
    or names a subscription that is gone, gets the same answer either way."""
    ids = tokens.confirm_token_read(token)
    if ids is None:
        return _invalid_link(request)
    subscriber_id, subscription_id = ids
    if request.method == "GET":
        subscription = selectors.subscription_for_confirm_link(
            subscriber_id=subscriber_id, subscription_id=subscription_id
        )
        if subscription is None:
            return _invalid_link(request)
        if subscription.confirmed_at is None:
            return render(
                request,
                "tracker/confirm.html",
                {
                    "subscription": subscription,
                    "scope": selectors.subscription_scope_text(subscription),
                },
            )
    else:
        subscription = services.subscription_confirm(subscriber_id=subscriber_id, subscription_id=subscription_id)
        if subscription is None:
            return _invalid_link(request)
    # Confirmed now, or already (a link opened again): the same page as ever.
    return render(
        request,
        "tracker/confirmed.html",
        {
            "subscription": subscription,
            "manage_path": emails.manage_url(subscription.subscriber).removeprefix(settings.SITE_URL),
        },
    )


def _subscriber_from_manage(token: str) -> Subscriber | None:
    """The subscriber of a manage link that is still current (not revoked by an unsubscribe)."""
    ids = tokens.manage_token_read(token)
    if ids is None:
        return None
    subscriber_id, version = ids
    return Subscriber.objects.filter(pk=subscriber_id, token_version=version).first()


@never_cache
@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = _subscriber_from_manage(token)
    if subscriber is None:
        return _invalid_link(request)
    subscriptions = selectors.subscriber_subscriptions(subscriber)
    add_form = ScopeForm(prefix="add")
    invalid_forms: dict[int, ScopeForm] = {}  # subscription id -> its form shown again with the errors
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        by_id = {str(s.pk): s for s in subscriptions}
        chosen = by_id.get(request.POST.get("subscription", ""))
        if action == "add":
            add_form = ScopeForm(request.POST, prefix="add")
            if add_form.is_valid():
                try:
                    services.subscription_add(subscriber=subscriber, scope=add_form.cleaned_data["scope"])
                except ValidationError as exc:
                    add_form.add_error(None, exc.messages)
                else:
                    messages.success(request, "Subscription added. It covers changes recorded from now on.")
                    return redirect(request.path)
            status = 400
        elif action == "update" and chosen is not None:
            form = ScopeForm(request.POST, prefix=f"s{chosen.pk}")
            if form.is_valid():
                services.subscription_update(subscription=chosen, scope=form.cleaned_data["scope"])
                messages.success(request, "Subscription changed.")
                return redirect(request.path)
            invalid_forms[chosen.pk] = form
            status = 400
        elif action == "remove" and chosen is not None:
            services.subscription_remove(subscription=chosen)
            messages.success(request, "Subscription removed.")
            return redirect(request.path)
        elif action == "unsubscribe":
            services.subscriber_unsubscribe(subscriber=subscriber)
            # This page's own link is revoked now: answer here, not with a redirect to it.
            return render(request, "tracker/unsubscribed.html", {"subscriber": subscriber})
        else:
            return render(
                request,
                "tracker/bad_request.html",
                {
                    "detail": "Unknown action or subscription (it may have been removed already).",
                },
                status=400,
            )
    rows = []
    for subscription in subscriptions:
        form = invalid_forms.get(subscription.pk) or ScopeForm(
            prefix=f"s{subscription.pk}",
            initial={
                "cadence": subscription.cadence,
                "jurisdictions": [j.code for j in subscription.jurisdictions.all()],
                "therapies": [t.slug for t in subscription.therapies.all()],
                "kinds": subscription.kinds,
            },
        )
        rows.append(
            {"subscription": subscription, "scope": selectors.subscription_scope_text(subscription), "form": form}
        )
    subscriber.refresh_from_db()
    return render(
        request,
        "tracker/manage.html",
        {
            "subscriber": subscriber,
            "rows": rows,
            "add_form": add_form,
        },
        status=status,
    )


@csrf_exempt  # one-click unsubscribe comes from mail providers, with no cookies (RFC 8058)
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button and changes nothing (mail scanners follow links);
    POST with `List-Unsubscribe=One-Click` unsubscribes and answers 200."""
    subscriber_id = tokens.unsubscribe_token_read(token)
    subscriber = None if subscriber_id is None else Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        return _invalid_link(request)
    if request.method == "GET":
        return render(request, "tracker/unsubscribe.html", {"subscriber": subscriber})
    if request.POST.get("List-Unsubscribe") != "One-Click":
        return render(
            request,
            "tracker/bad_request.html",
            {
                "detail": "An unsubscribe request must carry List-Unsubscribe=One-Click.",
            },
            status=400,
        )
    services.subscriber_unsubscribe(subscriber=subscriber)
    return render(request, "tracker/unsubscribed.html", {"subscriber": subscriber})
