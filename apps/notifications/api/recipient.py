"""Who is asking: the recipient of the inbox API is the authenticated user's id.

With the stateless JWT authentication of the separate deployment that is the token's
``user_id`` claim, read without touching the users table.
"""

from uuid import UUID

from rest_framework.authentication import SessionAuthentication

from apps.accounts.authentication import JWTStatelessAuthentication


def recipient_id_of(request) -> UUID:
    return UUID(str(request.user.id))


# The two hot reads (the inbox and its unread badge) need only the user id: take it from the
# verified token, as the notifications deployment does, instead of loading the user row (and
# its profiles) on every poll. The token is still checked (signature, expiry); a deactivated
# user keeps reading their own inbox until the access token expires (JWT_ACCESS_MINUTES).
# Writes keep the default authentication, which checks the user row.
STATELESS_READ_AUTHENTICATION = [JWTStatelessAuthentication, SessionAuthentication]
