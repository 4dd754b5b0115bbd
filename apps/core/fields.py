from rest_framework import serializers


class StrictIntegerField(serializers.IntegerField):
    """An integer field that accepts JSON integers only.

    DRF's ``IntegerField`` coerces ``"5"``, ``5.0`` and ``true``; a rating score must be a
    real JSON integer, so anything else is rejected with the ``invalid`` code.
    """

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)
