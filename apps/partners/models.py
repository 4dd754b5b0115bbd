"""The partner keys, as the partner API reads them.

Staff issue keys in the admin (``apps.ratings.models.PartnerAPIKey``), and where the ratings
app is installed the partner views authenticate with that model. This unmanaged model reads
the same table without importing the ratings app, for the separate notifications deployment
(which does not install ratings); there a router sends its reads to the main database
(``PARTNER_KEYS_DATABASE_URL``, see ``config.routers.PartnerKeysRouter``).
"""

from rest_framework_api_key.models import AbstractAPIKey


class PartnerKey(AbstractAPIKey):
    class Meta(AbstractAPIKey.Meta):
        managed = False
        db_table = "ratings_partnerapikey"
