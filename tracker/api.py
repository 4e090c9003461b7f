"""POST /api/v1/subscriptions/: ask for a subscription (double opt-in)."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from regulatory.models import DecisionKind
from tracker import services
from tracker.addresses import EMAIL_MAX_LENGTH
from tracker.models import Cadence
from tracker.parsers import DepthLimitedJSONParser

ACCEPTED_TEXT = (
    "If this address can receive mail, a confirmation link is on its way. Nothing else is sent until it is opened."
)

_Detail = inline_serializer("SubscriptionDetail", fields={"detail": serializers.CharField()})


def rate_limited_response(wait: int) -> Response:
    minutes = max(1, round(wait / 60))
    return Response(
        {"detail": f"Too many subscription requests; try again in about {minutes} minute(s)."},
        status=status.HTTP_429_TOO_MANY_REQUESTS,
        headers={"Retry-After": str(wait)},
    )


class SubscriptionCreateApi(APIView):
    """Anonymous and idempotent in effect: the answer is 202 whether the
    address is new, pending or already subscribed."""

    # No session authentication, hence no CSRF: the endpoint needs no login.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    # DRF's defaults, with JSON depth-limited: anyone can post here. (api_settings
    # has imported the dotted paths; the stubs type the setting as the strings.)
    parser_classes = [
        DepthLimitedJSONParser,
        *(p for p in cast(list[type[BaseParser]], api_settings.DEFAULT_PARSER_CLASSES) if p is not JSONParser),
    ]

    class InputSerializer(serializers.Serializer):
        email = serializers.CharField(max_length=EMAIL_MAX_LENGTH)
        cadence = serializers.ChoiceField(choices=Cadence.choices)
        jurisdictions = serializers.ListField(
            child=serializers.CharField(max_length=64),
            required=False,
            max_length=100,
            help_text="Jurisdiction codes, e.g. us, au, eu. Empty: all.",
        )
        therapies = serializers.ListField(
            child=serializers.CharField(max_length=64),
            required=False,
            max_length=100,
            help_text="Therapy slugs, e.g. mdma-ptsd. Empty: all.",
        )
        kinds = serializers.ListField(
            child=serializers.ChoiceField(choices=DecisionKind.choices),
            required=False,
            max_length=50,
            help_text="Decision kinds. Empty: all.",
        )

        def validate_email(self, value: str) -> str:
            try:
                return services.email_validate(value)
            except DjangoValidationError as exc:
                raise serializers.ValidationError(exc.message_dict["email"]) from None

        def validate(self, data: dict) -> dict:
            data["scope"] = services.scope_validate(
                cadence=data["cadence"],
                jurisdictions=data.get("jurisdictions", []),
                therapies=data.get("therapies", []),
                kinds=data.get("kinds", []),
            )
            return data

    @extend_schema(
        operation_id="subscriptions_create",
        request=InputSerializer,
        responses={
            202: OpenApiResponse(
                _Detail,
                description="Accepted; a confirmation email is sent if the address can receive one.",
            ),
            400: OpenApiResponse(description="A field is invalid; the body names it."),
            429: OpenApiResponse(_Detail, description="Too many requests from this client or for this address."),
        },
        tags=["subscriptions"],
    )
    def post(self, request: Request) -> Response:
        client = services.client_address(request.META)
        if wait := services.rate_limit_hit(scope="subscribe-ip", key=client, limit=settings.SUBSCRIBE_RATE_PER_IP):
            return rate_limited_response(wait)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        email = serializer.validated_data["email"]
        if wait := services.address_rate_limit_hit(email=email):
            return rate_limited_response(wait)
        services.subscription_request(email=email, scope=serializer.validated_data["scope"])
        return Response({"detail": ACCEPTED_TEXT}, status=status.HTTP_202_ACCEPTED)
