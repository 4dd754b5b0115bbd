"""The demo marketplace of ``make run`` (``manage.py seed_demo``) and its sign-ins.

Every customer is left providers still to rate, the moderation queue holds a held and a reported
rating, and a provider has replied, so each role has something to do in its first minutes.
"""

from dataclasses import dataclass

DEMO_PASSWORD = "demo-pass-2026"
STAFF_EMAIL = "staff@example.com"
MODERATOR_EMAIL = "moderator@example.com"
CATEGORIES = [
    ("plumbing", "Plumbing"),
    ("cleaning", "Cleaning"),
    ("tutoring", "Tutoring"),
    ("electrical", "Electrical"),
]
PROVIDERS = [
    ("pipes@example.com", "Pipe Dreams Plumbing", "Leaks fixed the same day.", ["plumbing"]),
    ("sparkle@example.com", "Sparkle Cleaners", "Homes and offices, eco products.", ["cleaning"]),
    ("ada@example.com", "Ada's Maths Tutoring", "GCSE and A-level maths.", ["tutoring"]),
    ("volt@example.com", "Volt Electrical", "Certified electricians, 24/7.", ["electrical", "plumbing"]),
]
CUSTOMERS = [("alice@example.com", "Alice"), ("bob@example.com", "Bob"), ("carol@example.com", "Carol")]
SCORES = {  # customer index -> provider index -> (score, comment)
    0: {0: (5, "Fixed our boiler in an hour."), 1: (4, "Very thorough.")},
    # Held for review by the automatic rules (a link), so the moderation queue has work.
    1: {0: (4, "Good work, a bit late."), 1: (1, "Cheaper at https://example.com")},
    2: {0: (2, "Turned up late and left a puddle."), 3: (3, "Did the job.")},
}
# (provider index, customer index, reason, details): a report waiting in the moderation queue.
REPORTS = [(0, 2, "fake", "We have no job booked under this name.")]
# (provider index, customer index, body): the provider's public answers.
REPLIES = [(0, 0, "Thank you, Alice. Glad the house is warm again.")]


@dataclass(frozen=True)
class DemoAccount:
    role: str
    email: str
    try_first: str


def demo_accounts() -> list[DemoAccount]:
    """Who to sign in as, and what to try first with each role."""
    rated = {c: {PROVIDERS[p][1] for p in ratings} for c, ratings in SCORES.items()}
    accounts = [
        DemoAccount("staff (superuser)", STAFF_EMAIL, "the admin: users, partner API keys, delivery providers"),
        DemoAccount("moderator", MODERATOR_EMAIL, "the admin's moderation queue: publish or hide, with a reason"),
    ]
    for index, (email, _name) in enumerate(CUSTOMERS):
        still_to_rate = [name for _e, name, _d, _s in PROVIDERS if name not in rated.get(index, set())]
        accounts.append(DemoAccount("customer", email, "rate " + " or ".join(still_to_rate)))
    email, name, _description, _services = PROVIDERS[0]
    accounts.append(DemoAccount("provider", email, f"{name}'s inbox of ratings, and a reply to one"))
    return accounts
