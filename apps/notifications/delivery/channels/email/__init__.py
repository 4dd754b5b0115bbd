"""Email: the message (``message``, rendered from a delivery) and its SMTP transport (``channel``)."""
