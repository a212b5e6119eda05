"""The native API's reads about sessions and end users (``/api/v1/``).

Session and user ids are client text that may hold "/", so a single session
or user is addressed by ``?id=``, never by a path segment. Any member of the
project may read; bad query values get a 400 naming the parameter.
"""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from tracing import conversations, end_users, explore
from workbench.api.base import NativeApiView, documented, open_project, parsed

MAX_LIMIT = 100


class CursorField(serializers.CharField):
    """A keyset cursor as the previous page's ``meta.nextCursor`` gave it."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        try:
            return explore.parse_cursor(text)
        except ValueError as error:
            raise serializers.ValidationError(f"'{text}' {error}.") from None


class PeriodSerializer(serializers.Serializer):
    date_from = serializers.DateField(
        required=False, help_text="First UTC day (default: 29 days before `to`)."
    )
    to = serializers.DateField(
        required=False, help_text="Last UTC day, inclusive (default: today)."
    )

    def get_fields(self):
        # "from" is a keyword, so the field is declared under another name.
        fields = super().get_fields()
        fields["from"] = fields.pop("date_from")
        return fields

    def validate(self, data):
        start, end = data.get("from"), data.get("to")
        for name, day in (("from", start), ("to", end)):
            if day is not None and not explore.in_range(day):
                raise serializers.ValidationError(
                    {name: [f"{day} {explore.OUT_OF_RANGE}."]}
                )
        default_start, default_end = end_users.default_period()
        if start and end and start > end:
            raise serializers.ValidationError({"to": ["Must not be before from."]})
        if start and not end:
            end = max(start, default_end)
        elif end and not start:
            start = end - (default_end - default_start)
        elif not start:
            start, end = default_start, default_end
        if end_users.too_long(start, end):
            raise serializers.ValidationError({"to": [f"{end_users.TOO_LONG}."]})
        return {**data, "from": start, "to": end}


class SessionFilterSerializer(serializers.Serializer):
    user = serializers.CharField(required=False, help_text="Sessions of this user.")
    before = CursorField(required=False, help_text="`meta.nextCursor` of a page.")
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_LIMIT, default=50
    )


class SessionIdSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The session id, any text.")


class UserIdSerializer(PeriodSerializer):
    id = serializers.CharField(help_text="The end user's id, any text.")


class SessionSerializer(serializers.Serializer):
    id = serializers.CharField(source="session_id")
    turns = serializers.IntegerField()
    firstAt = serializers.DateTimeField(source="first_at")
    lastAt = serializers.DateTimeField(source="last_at")
    users = serializers.ListField(child=serializers.CharField())
    totalCost = serializers.DecimalField(
        source="cost", max_digits=24, decimal_places=12, allow_null=True
    )
    totalTokens = serializers.IntegerField(source="tokens")
    hasUnpriced = serializers.BooleanField(source="unpriced")


class PageMetaSerializer(serializers.Serializer):
    nextCursor = serializers.CharField(allow_null=True)


class SessionPageSerializer(serializers.Serializer):
    data = SessionSerializer(many=True)
    meta = PageMetaSerializer()


class TurnSerializer(serializers.Serializer):
    traceId = serializers.CharField(source="trace.trace_id")
    name = serializers.CharField(source="trace.name", allow_null=True)
    timestamp = serializers.DateTimeField(source="trace.timestamp")
    userId = serializers.CharField(source="trace.user_id", allow_null=True)
    input = serializers.JSONField(source="trace.input")
    output = serializers.JSONField(source="trace.output")
    cost = serializers.DecimalField(
        source="figures.cost", max_digits=24, decimal_places=12, allow_null=True
    )
    tokens = serializers.IntegerField(source="figures.tokens")
    latencySeconds = serializers.FloatField(
        source="figures.latency_seconds", allow_null=True
    )
    models = serializers.ListField(
        child=serializers.CharField(), source="figures.models"
    )


class ConversationSerializer(serializers.Serializer):
    id = serializers.CharField(source="session_id")
    users = serializers.ListField(child=serializers.CharField())
    totalCost = serializers.DecimalField(
        source="cost", max_digits=24, decimal_places=12, allow_null=True
    )
    totalTokens = serializers.IntegerField(source="tokens")
    hasUnpriced = serializers.BooleanField(source="unpriced")
    truncated = serializers.BooleanField(help_text="More turns exist than listed.")
    turns = TurnSerializer(many=True)


class UserRowSerializer(serializers.Serializer):
    id = serializers.CharField(source="user_id")
    calls = serializers.IntegerField()
    errors = serializers.IntegerField()
    tokens = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=24, decimal_places=12)
    unpricedCalls = serializers.IntegerField(source="unpriced_calls")


class UserListSerializer(serializers.Serializer):
    data = UserRowSerializer(many=True)
    meta = serializers.DictField(help_text="from, to and truncated.")


class UserDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    calls = serializers.IntegerField()
    errors = serializers.IntegerField()
    tokens = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=24, decimal_places=12)


class UserDetailSerializer(serializers.Serializer):
    id = serializers.CharField()
    days = UserDaySerializer(many=True)
    sessions = SessionSerializer(many=True)


class SessionCollection(NativeApiView):
    @extend_schema(
        operation_id="sessions_list",
        tags=["explore"],
        summary="The project's sessions, latest activity first",
        parameters=[SessionFilterSerializer],
        responses=documented({200: SessionPageSerializer}),
    )
    def get(self, request, slug):
        project = open_project(request, slug)
        filters = parsed(SessionFilterSerializer, request.query_params)
        sessions, cursor = conversations.session_page(
            project,
            before=filters.get("before"),
            user=filters.get("user", ""),
            size=filters["limit"],
        )
        data = SessionSerializer(sessions, many=True).data
        return Response({"data": data, "meta": {"nextCursor": cursor}})


class SessionItem(NativeApiView):
    @extend_schema(
        operation_id="session_get",
        tags=["explore"],
        summary="One session's turns in order, with the session total",
        parameters=[SessionIdSerializer],
        responses=documented({200: ConversationSerializer}),
    )
    def get(self, request, slug):
        project = open_project(request, slug)
        session_id = parsed(SessionIdSerializer, request.query_params)["id"]
        talk = conversations.conversation(project, session_id)
        if talk is None:
            raise Http404("No trace of this project is in that session.")
        return Response(ConversationSerializer(talk).data)


class UserCollection(NativeApiView):
    @extend_schema(
        operation_id="end_users_list",
        tags=["explore"],
        summary="End users by cost in a period (daily roll-ups)",
        parameters=[PeriodSerializer],
        responses=documented({200: UserListSerializer}),
    )
    def get(self, request, slug):
        project = open_project(request, slug)
        period = parsed(PeriodSerializer, request.query_params)
        users, more = end_users.user_totals(project, period["from"], period["to"])
        meta = {"from": period["from"], "to": period["to"], "truncated": more}
        data = UserRowSerializer(users, many=True).data
        return Response({"data": data, "meta": meta})


class UserItem(NativeApiView):
    @extend_schema(
        operation_id="end_user_get",
        tags=["explore"],
        summary="One end user's daily calls and cost, and their latest sessions",
        parameters=[UserIdSerializer],
        responses=documented({200: UserDetailSerializer}),
    )
    def get(self, request, slug):
        project = open_project(request, slug)
        query = parsed(UserIdSerializer, request.query_params)
        days = end_users.user_daily(project, query["id"], query["from"], query["to"])
        sessions, _ = conversations.session_page(project, user=query["id"], size=20)
        detail = {"id": query["id"], "days": days, "sessions": sessions}
        return Response(UserDetailSerializer(detail).data)
