"""Staff see a rating's revisions in the admin, and publish or hide provider replies there."""

import pytest
from django.test import Client

from apps.ratings.models import RatingReply
from apps.ratings.services import rating_create, rating_update, reply_set
from tests.factories import moderator_create

pytestmark = pytest.mark.django_db

REPLIES = "/admin/ratings/ratingreply/"


@pytest.fixture
def moderator_client():
    client = Client()
    client.force_login(moderator_create())
    return client


@pytest.fixture
def rating(customer, provider):
    return rating_create(customer=customer, provider=provider, score=4, comment="First version")


def test_the_rating_page_shows_its_revisions_read_only(moderator_client, rating, customer):
    rating_update(rating=rating, score=2, comment="Second version", editor=customer.user)

    page = moderator_client.get(f"/admin/ratings/rating/{rating.pk}/change/")

    assert page.status_code == 200
    (revisions,) = [f for f in page.context["inline_admin_formsets"] if f.opts.verbose_name_plural.startswith("rev")]
    shown = [(r.kind, r.score, r.comment, r.status, r.changed_by_id) for r in revisions.formset.queryset]
    assert shown == [("edit", 4, "First version", "published", customer.user.pk)]
    assert revisions.has_add_permission is revisions.has_change_permission is revisions.has_delete_permission is False
    assert b"First version" in page.content


def test_hide_reply_action_asks_for_a_reason_then_hides_it(moderator_client, rating, api_client):
    reply = reply_set(rating=rating, body="Thanks!")
    data = {"action": "hide_selected", "_selected_action": [str(reply.pk)]}

    page = moderator_client.post(REPLIES, data)

    assert page.status_code == 200
    assert b'name="reason"' in page.content
    assert RatingReply.objects.get().status == "published"

    done = moderator_client.post(REPLIES, {**data, "apply": "1", "reason": "Off topic"})

    assert done.status_code == 302
    reply.refresh_from_db()
    assert (reply.status, reply.moderation_reason) == ("hidden", "Off topic")
    assert api_client.get(f"/api/v1/ratings/{rating.pk}/").json()["reply"] is None


def test_publish_reply_action_releases_a_held_reply(moderator_client, rating, api_client):
    reply = reply_set(rating=rating, body="Visit www.example.com for a discount")
    assert reply.status == "pending_review"

    moderator_client.post(
        REPLIES, {"action": "publish_selected", "_selected_action": [str(reply.pk)], "apply": "1", "reason": "Ok"}
    )

    reply.refresh_from_db()
    assert reply.status == "published"
    assert api_client.get(f"/api/v1/ratings/{rating.pk}/").json()["reply"]["body"] == reply.body


def test_the_reply_queue_filters_by_status_and_its_form_writes_nothing(moderator_client, rating):
    reply = reply_set(rating=rating, body="Call 0123 456 789")

    held = moderator_client.get(REPLIES, {"status__exact": "pending_review"})
    assert [r.pk for r in held.context["cl"].result_list] == [reply.pk]

    moderator_client.post(f"{REPLIES}{reply.pk}/change/", {"status": "published", "body": "Edited by staff"})

    reply.refresh_from_db()
    assert (reply.status, reply.body) == ("pending_review", "Call 0123 456 789")
    assert moderator_client.get(f"{REPLIES}add/").status_code == 403
