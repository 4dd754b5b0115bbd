"""Bodies of the partners' bulk invitation path (the one-invitation bodies are the ratings app's)."""

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.settings import api_settings

from apps.core.serializers import JSONInput
from apps.partners.services import BULK_INVITATIONS_MAX
from apps.ratings.api.serializers import RatingInvitationCreateInput, RatingInvitationOutput


class RatingInvitationBulkItemInput(RatingInvitationCreateInput):
    def validate_empty_values(self, data):
        # A null item is reported where any other item that is no object is (the item's
        # non_field_errors), which the error schema documents; DRF would name the item itself.
        if data is None:
            raise serializers.ValidationError(
                {
                    api_settings.NON_FIELD_ERRORS_KEY: [
                        ErrorDetail("Invalid data. Expected a dictionary, but got null.", code="null")
                    ]
                }
            )
        return super().validate_empty_values(data)


class RatingInvitationBulkInput(JSONInput):
    invitations = serializers.ListField(
        child=RatingInvitationBulkItemInput(),
        min_length=1,
        max_length=BULK_INVITATIONS_MAX,
        help_text=f"1 to {BULK_INVITATIONS_MAX} invitations, each as for one.",
    )


class BulkItemErrorOutput(serializers.Serializer):
    code = serializers.ChoiceField(choices=["does_not_exist", "already_invited"])
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class RatingInvitationBulkItemOutput(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["created", "existing", "failed"],
        help_text=(
            "`created`: a new invitation (the customer is told). `existing`: the partner's open invitation for "
            "this customer and provider, or its invitation with this reference, returned as it is (nothing "
            "new, nobody told again). `failed`: see `error`."
        ),
    )
    invitation = RatingInvitationOutput(allow_null=True)
    error = BulkItemErrorOutput(allow_null=True)


class RatingInvitationBulkOutput(serializers.Serializer):
    results = RatingInvitationBulkItemOutput(many=True, help_text="One per item of the request, in its order.")
    created = serializers.IntegerField()
    existing = serializers.IntegerField()
    failed = serializers.IntegerField()
