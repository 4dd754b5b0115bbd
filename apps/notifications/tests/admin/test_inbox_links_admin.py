"""From a user to their inbox items and deliveries in the admin, and readable notice/delivery rows."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.notifications.models import DeliveryStatus
from tests.factories import (
    CustomerFactory,
    DeliveryFactory,
    NotificationFactory,
    ProviderFactory,
    UserFactory,
    moderator_create,
)

pytestmark = pytest.mark.django_db

NOTIFICATIONS = "/admin/notifications/notification/"
DELIVERIES = "/admin/notifications/delivery/"


@pytest.fixture
def superuser_client():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def moderator_client():
    client = Client()
    client.force_login(moderator_create())
    return client


@pytest.mark.parametrize("kind", ["user", "customer", "provider"])
def test_a_user_page_links_the_inbox_and_deliveries_without_reading_them(superuser_client, kind):
    customer = CustomerFactory()
    provider = ProviderFactory()
    page_of = {
        "user": (f"/admin/accounts/user/{customer.user_id}/change/", customer.user_id),
        "customer": (f"/admin/customers/customer/{customer.pk}/change/", customer.user_id),
        "provider": (f"/admin/providers/provider/{provider.pk}/change/", provider.user_id),
    }
    url, user_id = page_of[kind]

    with CaptureQueriesContext(connection) as queries:
        page = superuser_client.get(url)

    html = page.content.decode()
    assert page.status_code == 200
    assert f'<a href="{NOTIFICATIONS}?recipient_id={user_id}">inbox items</a>' in html
    assert f'<a href="{DELIVERIES}?recipient_id={user_id}">deliveries</a>' in html
    # The notifications tables may be in another database: the page never reads them.
    assert [q["sql"] for q in queries.captured_queries if "notifications_" in q["sql"]] == []


def test_the_links_open_that_users_rows_only(moderator_client):
    mine = NotificationFactory(title="Your rating of Pipe Dreams Plumbing was hidden")
    DeliveryFactory(notification=mine, address="carol@example.com", status=DeliveryStatus.SENT)
    other = DeliveryFactory(address="someone@example.com")

    notices = moderator_client.get(NOTIFICATIONS, {"recipient_id": str(mine.recipient_id)})
    deliveries = moderator_client.get(DELIVERIES, {"recipient_id": str(mine.recipient_id)})
    everything = moderator_client.get(DELIVERIES)

    assert [n.pk for n in notices.context["cl"].result_list] == [mine.pk]
    assert [str(d) for d in deliveries.context["cl"].result_list] == ["Email to carol@example.com (sent)"]
    assert len(everything.context["cl"].result_list) == 2
    assert other.notification.title in everything.content.decode()
    # The active filter is shown (and can be cleared) like any other.
    assert str(mine.recipient_id) in notices.content.decode()


def test_a_malformed_recipient_id_is_the_admins_invalid_filter_page_not_an_error(moderator_client):
    response = moderator_client.get(DELIVERIES, {"recipient_id": "not-a-uuid"})

    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


@pytest.mark.parametrize("url", [NOTIFICATIONS, DELIVERIES])
def test_notice_and_delivery_lists_cost_the_same_queries_for_one_row_or_many(
    moderator_client, url, django_assert_num_queries
):
    DeliveryFactory()
    moderator_client.get(url)
    with CaptureQueriesContext(connection) as one:
        moderator_client.get(url)
    for _ in range(4):
        DeliveryFactory()

    with django_assert_num_queries(len(one.captured_queries)):
        page = moderator_client.get(url)

    assert len(page.context["cl"].result_list) == 5


def test_a_delivery_page_has_no_save_button_and_refuses_a_save(moderator_client):
    delivery = DeliveryFactory(status=DeliveryStatus.DEAD, last_error="SMTP 550")
    url = f"{DELIVERIES}{delivery.pk}/change/"

    page = moderator_client.get(url).content.decode()

    assert 'name="_save"' not in page and 'name="_continue"' not in page
    assert "Email to " in page  # the title, not the id
    assert moderator_client.post(url, {"status": "sent"}).status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DEAD
