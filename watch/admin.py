"""The editors' side of the watchers: sources (with their failures flagged),
the review queue of candidates ("Create draft", "Dismiss"), the aliases, and
the broken links of the record."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from config.admin import ReadOnlyAdminMixin
from regulatory.editors import user_is_editor
from regulatory.models import LinkStatus
from watch.mail import candidate_mail_opt_in, candidate_mail_opt_out
from watch.models import (
    Candidate,
    CandidateMail,
    CandidateMailSubscription,
    CandidateState,
    CitedLink,
    CitedProgrammeLink,
    SubstanceAlias,
    WatchedSource,
)
from watch.services import candidate_dismiss, candidate_draft_create, sources_poll


class FlaggedFilter(admin.SimpleListFilter):
    title = "health"
    parameter_name = "health"

    def lookups(self, request, model_admin):
        return [("flagged", "Failing for a day or more"), ("failing", "Last poll failed")]

    def queryset(self, request, queryset):
        from watch.selectors import sources_flagged

        if self.value() == "flagged":
            return queryset.filter(pk__in=sources_flagged(now=timezone.now()).values("pk"))
        if self.value() == "failing":
            return queryset.filter(failing_since__isnull=False)
        return queryset


@admin.action(description="Poll selected sources now")
def poll_now(modeladmin, request: HttpRequest, queryset: QuerySet[WatchedSource]) -> None:
    for report in sources_poll(sources=list(queryset.order_by("name"))):
        modeladmin.message_user(request, str(report), level=messages.ERROR if report.error else messages.INFO)


@admin.register(WatchedSource)
class WatchedSourceAdmin(admin.ModelAdmin):
    list_display = ("name", "adapter", "jurisdiction", "enabled", "poll_minutes", "last_success_at", "health")
    list_filter = (FlaggedFilter, "adapter", "enabled", "jurisdiction")
    search_fields = ("name", "url")
    actions = [poll_now]
    readonly_fields = (
        "last_polled_at",
        "last_success_at",
        "next_poll_at",
        "failing_since",
        "consecutive_failures",
        "last_error",
        "etag",
        "last_modified",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "adapter",
                    "url",
                    "jurisdiction",
                    "regulator",
                    "default_kind",
                    "poll_minutes",
                    "enabled",
                )
            },
        ),
        ("Last polls", {"fields": readonly_fields}),
    )

    @admin.display(description="health")
    def health(self, obj: WatchedSource) -> str:
        if obj.failing_since is None:
            return "ok" if obj.last_success_at else "not polled yet"
        label = "FLAGGED: failing since" if obj.is_flagged() else "failing since"
        return format_html(
            "<strong>{} {}</strong>: {}",
            label,
            f"{obj.failing_since:%d %b %H:%M} UTC",
            Truncator(obj.last_error).chars(120),
        )


@admin.register(SubstanceAlias)
class SubstanceAliasAdmin(admin.ModelAdmin):
    list_display = ("alias", "substance")
    list_filter = ("substance",)
    search_fields = ("alias", "substance")


class DismissForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="Why this is not a new regulatory event (kept with the candidate).",
    )


@admin.register(Candidate)
class CandidateAdmin(admin.ModelAdmin):
    list_display = (
        "title_with_excerpt",
        "source",
        "published_on",
        "therapy_list",
        "suggested_kind",
        "jurisdiction",
        "state",
    )
    list_filter = ("state", "source", "suggested_kind", "jurisdiction")
    search_fields = ("title", "excerpt", "url", "document_number")
    list_select_related = ("source", "jurisdiction")
    ordering = ("-found_at", "-id")
    fields = (
        "title",
        "url",
        "document_number",
        "source",
        "published_on",
        "excerpt",
        "therapies",
        "suggested_kind",
        "jurisdiction",
        "found_at",
        "state",
        "decided_by",
        "decided_at",
        "dismiss_reason",
        "draft",
    )
    readonly_fields = (
        "url",
        "document_number",
        "source",
        "found_at",
        "state",
        "decided_by",
        "decided_at",
        "dismiss_reason",
        "draft",
    )
    filter_horizontal = ("therapies",)
    # The queue links to the editor's "email me new candidates daily" page.
    change_list_template = "watch/candidate_change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("therapies")

    def has_add_permission(self, request):
        return False  # candidates come from the watchers

    def has_delete_permission(self, request, obj=None):
        return False  # a dismissal is kept, with its reason

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.state != CandidateState.NEW:
            return False
        return super().has_change_permission(request, obj)

    @admin.display(description="candidate", ordering="title")
    def title_with_excerpt(self, obj: Candidate) -> str:
        return format_html(
            '<a href="{}" rel="noopener noreferrer">{}</a><br><small>{}</small>',
            obj.url,
            obj.title,
            Truncator(obj.excerpt).chars(300),
        )

    @admin.display(description="therapies")
    def therapy_list(self, obj: Candidate) -> str:
        return ", ".join(t.slug for t in obj.therapies.all())

    def get_list_display(self, request):
        from django.middleware.csrf import get_token

        token = get_token(request)

        @admin.display(description="review")
        def review(obj: Candidate) -> str:
            if obj.state == CandidateState.DRAFTED and obj.draft_id:
                return format_html(
                    '<a href="{}">draft #{}</a>',
                    reverse("admin:regulatory_decision_change", args=[obj.draft_id]),
                    obj.draft_id,
                )
            if obj.state == CandidateState.DISMISSED:
                return f"dismissed: {Truncator(obj.dismiss_reason).chars(60)}"
            return format_html(
                '<form method="post" action="{}" style="display:inline">'
                '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
                '<button type="submit" class="button">Create draft</button></form> '
                '<a class="button" href="{}">Dismiss</a>',
                reverse("admin:watch_candidate_draft", args=[obj.pk]),
                token,
                reverse("admin:watch_candidate_dismiss", args=[obj.pk]),
            )

        return (*self.list_display, review)

    def get_urls(self):
        own = [
            path("<int:pk>/create-draft/", self.admin_site.admin_view(self.draft_view), name="watch_candidate_draft"),
            path("<int:pk>/dismiss/", self.admin_site.admin_view(self.dismiss_view), name="watch_candidate_dismiss"),
            path("daily-email/", self.admin_site.admin_view(self.mail_view), name="watch_candidate_mail"),
        ]
        return own + super().get_urls()

    def _reviewable(self, request: HttpRequest, pk: int) -> Candidate:
        candidate = get_object_or_404(Candidate, pk=pk)
        if not super().has_change_permission(request, candidate):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        return candidate

    def draft_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        candidate = self._reviewable(request, pk)
        try:
            decision = candidate_draft_create(candidate=candidate, by=request.user)
        except ValidationError as exc:
            self.message_user(request, f"No draft created: {' '.join(exc.messages)}", level=messages.ERROR)
            return HttpResponseRedirect(reverse("admin:watch_candidate_change", args=[pk]))
        self.message_user(
            request, "Draft created from the candidate: complete it, then publish it.", level=messages.SUCCESS
        )
        return HttpResponseRedirect(reverse("admin:regulatory_decision_change", args=[decision.pk]))

    def dismiss_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        candidate = self._reviewable(request, pk)
        form = DismissForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                candidate_dismiss(candidate=candidate, by=request.user, reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                self.message_user(request, f"Dismissed “{candidate}”.", level=messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:watch_candidate_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Dismiss candidate",
            "candidate": candidate,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(
            request, "admin/watch/candidate_dismiss.html", context, status=400 if request.method == "POST" else 200
        )

    def mail_view(self, request: HttpRequest) -> HttpResponse:
        """The editor's own opt-in to the daily email of new candidates."""
        from django.contrib.auth.models import AnonymousUser
        from django.core.exceptions import PermissionDenied

        user = request.user
        if isinstance(user, AnonymousUser) or not user_is_editor(user):
            raise PermissionDenied
        status, error = 200, ""
        if request.method == "POST":
            action = request.POST.get("action", "")
            try:
                if action == "subscribe":
                    candidate_mail_opt_in(user=user)
                    self.message_user(request, "You will get a daily email of new candidates.", messages.SUCCESS)
                elif action == "unsubscribe":
                    candidate_mail_opt_out(user=user)
                    self.message_user(
                        request, "You will no longer get the daily email of new candidates.", messages.SUCCESS
                    )
                else:
                    raise ValidationError({"action": "Choose subscribe or unsubscribe."})
            except ValidationError as exc:
                status, error = 400, " ".join(exc.messages)
            else:
                return HttpResponseRedirect(reverse("admin:watch_candidate_mail"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Daily email of new candidates",
            "opts": self.model._meta,
            "error": error,
            "subscribed": CandidateMailSubscription.objects.filter(user=user).exists(),
            "email": user.email,
        }
        return TemplateResponse(request, "watch/candidate_mail.html", context, status=status)


@admin.register(CandidateMail)
class CandidateMailAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: what the daily candidates email did, per editor and day."""

    list_display = ("period", "user", "candidate_count", "sent_at", "skipped_at", "failed_at", "attempts", "last_error")
    list_filter = ("period",)
    list_select_related = ("user",)


class BrokenLinkFilter(admin.SimpleListFilter):
    title = "link"
    parameter_name = "link"

    def lookups(self, request, model_admin):
        return [(LinkStatus.BROKEN, "Broken"), (LinkStatus.FAILING, "Failing"), ("unchecked", "Not checked yet")]

    def queryset(self, request, queryset):
        if self.value() == "unchecked":
            return queryset.filter(link_checked_at__isnull=True)
        if self.value():
            return queryset.filter(link_status=self.value())
        return queryset


class LinkAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the weekly check's verdict on every cited URL; fix the
    link (or add an archived copy) on the decision or programme itself."""

    list_display = (
        "url",
        "parent",
        "link_status",
        "link_status_code",
        "link_final_url",
        "link_checked_at",
        "link_failures",
        "archived_url",
    )
    list_filter = (BrokenLinkFilter,)
    search_fields = ("url", "title", "link_final_url")
    parent_field = "decision"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(self.parent_field).order_by("link_status", "url")

    @admin.display(description="cited by")
    def parent(self, obj) -> str:
        owner = getattr(obj, self.parent_field)
        url = reverse(f"admin:{owner._meta.app_label}_{owner._meta.model_name}_change", args=[owner.pk])
        return format_html('<a href="{}">{}</a>', url, owner)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("regulatory.view_source")


admin.site.register(CitedLink, LinkAdmin)


@admin.register(CitedProgrammeLink)
class ProgrammeLinkAdmin(LinkAdmin):
    parent_field = "programme"

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("regulatory.view_programmesource")
