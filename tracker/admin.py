"""Deliveries for editors: per change (with sent / pending / failed counts),
per subscriber, and every notification and digest with its status and why.

Everything here is read-only: delivery rows are written by the pipeline
only, and a subscriber's choices are theirs (through their manage link).

Addresses are people's data: only users with the address permission (the
"Subscriber managers" group, tracker/access.py) see them, search or filter
by them. Everyone else sees subscribers by number, and SMTP answers with the
addresses in them hidden."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypedDict

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from config.admin import ReadOnlyAdminMixin
from tracker import selectors
from tracker.access import addresses_hidden, user_sees_subscriber_addresses
from tracker.models import (
    UNSENT,
    ChangeDelivery,
    DigestDelivery,
    Notification,
    Subscriber,
    Subscription,
)

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    class _StatusCounts(TypedDict):
        sent_count: int
        pending_count: int
        failed_count: int
        cancelled_count: int

    # A change as selectors.change_delivery_overview() annotates it.
    CountedChange = WithAnnotations[ChangeDelivery, _StatusCounts]
    # For the type checker only: the mixin's super() is a ModelAdmin or an inline.
    _AdminBase = admin.options.BaseModelAdmin[Any]
else:
    _AdminBase = object

# Fields that hold an address or may quote one (an SMTP answer, a bounce reason).
_ADDRESS_FIELDS = frozenset({"email", "last_error", "suppressed_reason"})


class AddressAudience(_AdminBase):
    """Columns and fields that show an address, or text that may quote one,
    are swapped for users without the address permission: `address_columns`
    maps each such name to the one shown instead ("" drops it)."""

    address_columns: dict[str, str] = {}

    def _sees(self, request: HttpRequest) -> bool:
        return user_sees_subscriber_addresses(request.user)

    def _for_audience(self, request: HttpRequest, names) -> tuple:
        if self._sees(request):
            return tuple(names)
        swapped = (self.address_columns.get(name, name) for name in names)
        return tuple(name for name in swapped if name)

    def get_fields(self, request: HttpRequest, obj=None):
        return self._for_audience(request, super().get_fields(request, obj))

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return self._for_audience(request, super().get_readonly_fields(request, obj))

    @admin.display(description="last error")
    def last_error_hidden(self, row) -> str:
        return addresses_hidden(row.last_error)


class ReadOnlyAdmin(ReadOnlyAdminMixin, AddressAudience, admin.ModelAdmin):
    def get_list_display(self, request: HttpRequest):
        return self._for_audience(request, super().get_list_display(request))

    def get_search_fields(self, request: HttpRequest):
        fields = super().get_search_fields(request)
        if self._sees(request):
            return fields
        return tuple(f for f in fields if not _ADDRESS_FIELDS & set(f.split("__")))

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        # ?email__startswith=... in the URL would list addresses letter by letter.
        if _ADDRESS_FIELDS & set(lookup.split("__")) and not self._sees(request):
            return False
        return super().lookup_allowed(lookup, value, request)


class ReadOnlyInline(AddressAudience, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("pending", "Pending"), ("sent", "Sent"), ("failed", "Failed"), ("cancelled", "Cancelled")]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "pending":
            return queryset.filter(UNSENT)
        if value == "sent":
            return queryset.filter(sent_at__isnull=False)
        if value == "failed":
            return queryset.filter(failed_at__isnull=False)
        if value == "cancelled":
            return queryset.filter(cancelled_at__isnull=False)
        return queryset


# What a notification's and a digest's page show of the claim and the result.
DELIVERY_ROW_FIELDS = (
    "status",
    "created_at",
    "claimed_at",
    "attempts",
    "sent_at",
    "failed_at",
    "cancelled_at",
    "last_error",
    "message_id",
)


class DeliveryRowAdmin(ReadOnlyAdmin):
    # Typed as loosely as ModelAdmin does, so that the subclasses can extend them.
    list_filter: ClassVar[tuple[Any, ...]] = (StatusFilter,)
    search_fields: ClassVar[tuple[str, ...]] = ("subscriber__email", "message_id")
    list_select_related: ClassVar[tuple[str, ...]] = ("subscriber",)
    readonly_fields: ClassVar[tuple[str, ...]] = ("status",)
    address_columns = {"subscriber_email": "", "last_error": "last_error_hidden"}

    @admin.display(description="status")
    def status(self, row) -> str:
        return row.status

    @admin.display(description="address", ordering="subscriber__email")
    def subscriber_email(self, row) -> str:
        return row.subscriber.email


@admin.register(Notification)
class NotificationAdmin(DeliveryRowAdmin):
    list_display = (
        "id",
        "change_link",
        "subscriber",
        "subscriber_email",
        "status",
        "attempts",
        "sent_at",
        "last_error",
    )
    list_filter = (StatusFilter, "change__kind")
    list_select_related = ("subscriber", "change__decision")
    fields = (
        "subscriber",
        "subscriber_email",
        "change",
        *DELIVERY_ROW_FIELDS,
    )
    readonly_fields = fields

    @admin.display(description="change", ordering="change_id")
    def change_link(self, row: Notification) -> str:
        url = reverse("admin:tracker_changedelivery_change", args=[row.change_id])
        return format_html('<a href="{}">#{} {}</a>', url, row.change_id, row.change.decision.title[:60])


@admin.register(DigestDelivery)
class DigestDeliveryAdmin(DeliveryRowAdmin):
    list_display = (
        "id",
        "subscriber",
        "subscriber_email",
        "cadence",
        "period",
        "change_count",
        "status",
        "attempts",
        "sent_at",
        "last_error",
    )
    list_filter = (StatusFilter, "cadence")
    fields = (
        "subscriber",
        "subscriber_email",
        "cadence",
        "period",
        "after_change_id",
        "upto_change_id",
        "change_count",
        *DELIVERY_ROW_FIELDS,
    )
    readonly_fields = fields


class NotificationInline(ReadOnlyInline):
    model = Notification
    address_columns = {"last_error": "last_error_hidden"}
    fields = ("change", "status", "attempts", "sent_at", "failed_at", "last_error")
    readonly_fields = fields
    ordering = ("-id",)

    @admin.display(description="status")
    def status(self, row: Notification) -> str:
        return row.status


class DigestInline(ReadOnlyInline):
    model = DigestDelivery
    address_columns = {"last_error": "last_error_hidden"}
    fields = ("cadence", "period", "change_count", "status", "attempts", "sent_at", "last_error")
    readonly_fields = fields
    ordering = ("-id",)

    @admin.display(description="status")
    def status(self, row: DigestDelivery) -> str:
        return row.status


class SubscriptionInline(ReadOnlyInline):
    model = Subscription
    fields = ("cadence", "scope", "confirmed_at", "starts_after_change_id")
    readonly_fields = fields
    show_change_link = False

    @admin.display(description="scope")
    def scope(self, subscription: Subscription) -> str:
        text = selectors.subscription_scope_text(subscription)
        return f"{text['jurisdictions']} · {text['therapies']} · {text['kinds']}"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("jurisdictions", "therapies", "kind_rows")


@admin.register(Subscriber)
class SubscriberAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "email", "state", "created_at", "confirmed_at", "daily_watermark", "weekly_watermark")
    search_fields = ("email",)
    list_filter = (
        ("confirmed_at", admin.EmptyFieldListFilter),
        ("unsubscribed_at", admin.EmptyFieldListFilter),
        ("suppressed_at", admin.EmptyFieldListFilter),
    )
    fields = (
        "email",
        "state",
        "created_at",
        "confirmed_at",
        "unsubscribed_at",
        "suppressed_at",
        "suppressed_reason",
        "daily_watermark",
        "weekly_watermark",
    )
    readonly_fields = fields
    inlines = [SubscriptionInline, NotificationInline, DigestInline]
    address_columns = {"email": "", "suppressed_reason": "suppressed_reason_hidden"}

    @admin.display(description="suppressed reason")
    def suppressed_reason_hidden(self, subscriber: Subscriber) -> str:
        return addresses_hidden(subscriber.suppressed_reason)

    @admin.display(description="state")
    def state(self, subscriber: Subscriber) -> str:
        if subscriber.suppressed_at:
            return "Bounced (no mail)"
        if subscriber.unsubscribed_at:
            return "Unsubscribed"
        if subscriber.confirmed_at:
            return "Active"
        return "Awaiting confirmation"


@admin.register(ChangeDelivery)
class ChangeDeliveryAdmin(ReadOnlyAdmin):
    """The overview: one row per change, with its notifications by status."""

    list_display = (
        "id",
        "decision_title",
        "kind",
        "recorded_at",
        "is_import",
        "fan_out",
        "sent",
        "pending",
        "failed",
        "cancelled",
    )
    list_filter = ("kind", "is_import")
    search_fields = ("decision__title",)
    ordering = ("-id",)
    fields = (
        "decision_title",
        "kind",
        "recorded_at",
        "is_import",
        "late_reported",
        "fan_out",
        "sent",
        "pending",
        "failed",
        "cancelled",
        "notifications",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return selectors.change_delivery_overview()

    @admin.display(description="decision", ordering="decision__title")
    def decision_title(self, change: ChangeDelivery) -> str:
        return change.decision.title

    @admin.display(description="fan-out")
    def fan_out(self, change: ChangeDelivery) -> str:
        if change.is_import:
            return "not sent (dataset import)"
        fan_out = getattr(change, "tracker_fan_out", None)
        if fan_out is None:
            return "not started"
        return "done" if fan_out.completed_at else f"in progress (after subscriber {fan_out.last_subscriber_id})"

    def _count_link(self, change: ChangeDelivery, status: str, count: int) -> str:
        url = reverse("admin:tracker_notification_changelist")
        return format_html('<a href="{}?change__id__exact={}&amp;status={}">{}</a>', url, change.pk, status, count)

    @admin.display(description="sent", ordering="sent_count")
    def sent(self, change: CountedChange) -> str:
        return self._count_link(change, "sent", change.sent_count)

    @admin.display(description="pending", ordering="pending_count")
    def pending(self, change: CountedChange) -> str:
        return self._count_link(change, "pending", change.pending_count)

    @admin.display(description="failed", ordering="failed_count")
    def failed(self, change: CountedChange) -> str:
        return self._count_link(change, "failed", change.failed_count)

    @admin.display(description="cancelled", ordering="cancelled_count")
    def cancelled(self, change: CountedChange) -> str:
        return self._count_link(change, "cancelled", change.cancelled_count)

    @admin.display(description="notifications")
    def notifications(self, change: ChangeDelivery) -> str:
        url = reverse("admin:tracker_notification_changelist")
        return format_html('<a href="{}?change__id__exact={}">All notifications for this change</a>', url, change.pk)
