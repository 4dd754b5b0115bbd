"""Notices in the reader's language: the German catalogue covers every text of the notices, and
a German reader gets German inbox items, emails and digests (dates and numbers their way, in
their time zone) while English stays exactly as it was."""

import uuid

import pytest
import time_machine
from django.conf import settings
from django.core import mail

from apps.notifications.models import Delivery, ErasedSubject, Notification, NotificationSchedule, RecipientLocale
from apps.notifications.services import deliveries_send, delivery_attempt, events_ingest
from apps.notifications.tests.conftest import envelope, rating_event
from apps.notifications.tests.intake.digest_support import close, ingest, rating_at, utc
from tests.translations import ROOT, catalog, messages_of, untranslated

# Every file whose words reach a notice's reader.
SOURCES = [
    ROOT / "apps/notifications/events.py",
    ROOT / "apps/notifications/delivery/channels/email/message.py",
    ROOT / "apps/notifications/intake/erasure.py",
    ROOT / "apps/notifications/account_notices.py",
]
TEMPLATES = sorted((ROOT / "templates/notifications/email").glob("*.*"))


def test_the_notices_have_texts_to_translate():
    # The extraction itself works: a template or module without messages would pass vacuously.
    for path in [*SOURCES, *TEMPLATES]:
        assert messages_of(path), path
    assert (None, "New %(stars)s rating from %(name)s") in messages_of(SOURCES[0])
    assert ("digest day (Django date format)", "D d M Y") in messages_of(SOURCES[1])


@pytest.mark.parametrize("language", [code for code, _name in settings.LANGUAGES if code != "en"])
def test_every_text_of_the_notices_is_translated(language):
    assert untranslated(language, [*SOURCES, *TEMPLATES]) == []
    # Nor anything else in the file left fuzzy or empty.
    assert [m.id for m in catalog(language) if m.id and (m.fuzzy or not m.string)] == []


def _locale_set(recipient, locale: str, *, at: str = "2026-01-01T00:00:00+00:00") -> dict:
    return {
        "id": str(uuid.uuid4()),
        "type": "account.locale_set",
        "version": 1,
        "occurred_at": at,
        "data": {"recipient_user_id": str(recipient), "locale": locale},
    }


@pytest.mark.django_db
def test_a_german_provider_gets_the_inbox_item_and_the_email_in_german(
    send_task, django_capture_on_commit_callbacks, urls
):
    provider = uuid.uuid4()
    event = rating_event("rating.created", provider_user_id=provider, score=4, comment_excerpt="Schnell und sauber.")
    with django_capture_on_commit_callbacks(execute=True):
        # The language and the event in one batch: the notice is already German.
        events_ingest(envelopes=[_locale_set(provider, "de"), event])

    item = Notification.objects.get(recipient_id=provider)
    assert (item.type, item.title, item.body) == (
        "rating.created",
        "Neue 4-Sterne-Bewertung von Alice",
        "Schnell und sauber.",
    )
    delivery = Delivery.objects.get(recipient_id=provider, channel="email")
    assert delivery_attempt(delivery_id=delivery.pk) == "sent"
    (message,) = mail.outbox
    unsubscribe = message.extra_headers["List-Unsubscribe"][1:-1]
    assert message.subject == "Neue 4-Sterne-Bewertung von Alice"
    assert message.body == (
        "Neue 4-Sterne-Bewertung von Alice\n"
        "\n"
        "Bewertung: 4 / 5\n"
        "Kommentar: „Schnell und sauber.“\n"
        "\n"
        "Alle Ihre Benachrichtigungen finden Sie in Ihrem Marketplace-Ratings-Posteingang.\n"
        "\n"
        f"E-Mails zu neuen Bewertungen abbestellen: {unsubscribe}\n\n"
    )
    html = message.alternatives[0].content
    assert '<html lang="de">' in html
    assert f'E-Mails zu neuen Bewertungen <a href="{unsubscribe}">abbestellen</a>.' in html


@pytest.mark.django_db
def test_the_same_notice_to_a_reader_without_a_language_stays_english(
    send_task, django_capture_on_commit_callbacks, urls
):
    provider = uuid.uuid4()
    event = rating_event("rating.created", provider_user_id=provider, score=4, comment_excerpt="Quick and tidy.")
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(envelopes=[event])

    item = Notification.objects.get(recipient_id=provider)
    assert (item.title, item.body) == ("New 4-star rating from Alice", "Quick and tidy.")
    assert delivery_attempt(delivery_id=Delivery.objects.get(recipient_id=provider, channel="email").pk) == "sent"
    (message,) = mail.outbox
    unsubscribe = message.extra_headers["List-Unsubscribe"][1:-1]
    assert message.body == (
        "New 4-star rating from Alice\n"
        "\n"
        "Score: 4 / 5\n"
        'Comment: "Quick and tidy."\n'
        "\n"
        "Read all your notifications in your Marketplace Ratings inbox.\n"
        "\n"
        f"Unsubscribe from new-rating emails: {unsubscribe}\n\n"
    )
    assert '<html lang="en">' in message.alternatives[0].content


@pytest.mark.django_db
def test_a_german_invitation_shows_its_last_day_in_the_readers_zone_and_format(django_capture_on_commit_callbacks):
    customer, english = uuid.uuid4(), uuid.uuid4()
    # 23:30 UTC on the 30th is already the 31st in Berlin.
    invitation = {
        "invitation_id": str(uuid.uuid4()),
        "provider_name": "Pipes Ltd",
        "expires_at": "2026-12-30T23:30:00+00:00",
        "url": "https://app.example.com/rate?invitation=x",
    }
    NotificationSchedule.objects.create(recipient_id=customer, time_zone="Europe/Berlin")
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(
            envelopes=[
                _locale_set(customer, "de"),
                envelope(type="rating.invited", recipient_id=customer, **invitation),
                envelope(type="rating.invited", recipient_id=english, **invitation),
            ]
        )

    german = Notification.objects.get(recipient_id=customer)
    assert (german.title, german.body) == (
        "Bewerten Sie Pipes Ltd: Ihre Bewertung wird verifiziert",
        "Pipes Ltd hat einen Auftrag für Sie erledigt. Bewerten Sie ihn (oder aktualisieren Sie Ihre Bewertung) "
        "mit dieser Einladung bis zum 31.12.2026, dann wird die Bewertung als verifiziert angezeigt.",
    )
    plain = Notification.objects.get(recipient_id=english)
    assert (plain.title, plain.body) == (
        "Rate Pipes Ltd: your rating will be verified",
        "Pipes Ltd did a job for you. Rate it (or update your rating) with this invitation before 2026-12-30 "
        "and it is shown as verified.",
    )


@pytest.mark.django_db
def test_a_german_daily_digest_is_german_with_its_numbers_and_day_written_the_german_way(
    recipient, send_task, django_capture_on_commit_callbacks, urls
):
    NotificationSchedule.objects.create(recipient_id=recipient, time_zone="Europe/Berlin", rating_emails="daily")
    first = rating_at(
        recipient, utc(2026, 11, 30, 8, 59), name="Alice", score=5, summary={"count": 11, "sum": 44}, comment="Top."
    )
    second = rating_at(recipient, utc(2026, 11, 30, 21, 15), name="Bob", score=5, summary={"count": 12, "sum": 49})
    with time_machine.travel(utc(2026, 11, 30, 21, 15, 1), tick=False):
        ingest([_locale_set(recipient, "de"), first, second], django_capture_on_commit_callbacks)
    assert sorted(Notification.objects.filter(recipient_id=recipient).values_list("title", flat=True)) == [
        "Neue 5-Sterne-Bewertung von Alice",
        "Neue 5-Sterne-Bewertung von Bob",
    ]
    with time_machine.travel(utc(2026, 11, 30, 23, 0, 30), tick=False):
        assert close(django_capture_on_commit_callbacks) == 1
        delivery = Delivery.objects.get()
        assert deliveries_send(delivery_ids=[delivery.pk]) == {str(delivery.pk): "sent"}

    (message,) = mail.outbox
    unsubscribe = message.extra_headers["List-Unsubscribe"][1:-1]
    assert message.subject == "Ihre tägliche Zusammenfassung: 2 neue Bewertungen am Mo, 30. November 2026"
    assert message.body == (
        "Ihre tägliche Zusammenfassung: 2 neue Bewertungen am Mo, 30. November 2026\n"
        "\n"
        '- 09:59 5/5 von Alice: "Top."\n'
        "- 22:15 5/5 von Bob\n"
        "\n"
        "Ihre Bewertung: 3,90 aus 10 → 4,08 aus 12 Bewertungen.\n"
        "\n"
        "Uhrzeiten in Europe/Berlin. Alle Ihre Benachrichtigungen finden Sie in Ihrem "
        "Marketplace-Ratings-Posteingang.\n"
        "\n"
        f"E-Mails zu neuen Bewertungen abbestellen: {unsubscribe}\n"
    )
    html = message.alternatives[0].content
    assert "3,90 aus 10 → 4,08 aus 12 Bewertungen." in html
    assert "09:59 <strong>5/5</strong> von Alice" in html


@pytest.mark.django_db
def test_the_newest_language_wins_whatever_order_the_events_arrive_in():
    reader = uuid.uuid4()
    events_ingest(envelopes=[_locale_set(reader, "de", at="2026-03-01T00:00:00+00:00")])
    # An older event delivered late (or again) changes nothing.
    events_ingest(envelopes=[_locale_set(reader, "en", at="2026-02-01T00:00:00+00:00")])
    assert RecipientLocale.objects.get(recipient_id=reader).locale == "de"
    events_ingest(envelopes=[_locale_set(reader, "en", at="2026-04-01T00:00:00+00:00")])
    assert RecipientLocale.objects.get(recipient_id=reader).locale == "en"


@pytest.mark.django_db
def test_an_unknown_language_is_skipped_and_an_erased_account_keeps_none():
    reader, erased = uuid.uuid4(), uuid.uuid4()
    ErasedSubject.objects.create(subject_id=erased, kind=ErasedSubject.Kind.USER)
    events_ingest(envelopes=[_locale_set(reader, "xx"), _locale_set(erased, "de")])
    assert not RecipientLocale.objects.exists()
    events_ingest(envelopes=[_locale_set(reader, "de")])
    events_ingest(
        envelopes=[
            {
                "id": str(uuid.uuid4()),
                "type": "account.deleted",
                "version": 1,
                "data": {"recipient_user_id": str(reader), "rating_ids": []},
            }
        ]
    )
    assert not RecipientLocale.objects.exists()


@pytest.mark.django_db
def test_an_item_redacted_after_its_author_is_erased_stays_in_its_readers_language(
    send_task, django_capture_on_commit_callbacks
):
    german, english, author = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    rating = str(uuid.uuid4())
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(
            envelopes=[
                _locale_set(german, "de"),
                envelope(recipient_id=german, rating_id=rating, score=2),
                envelope(recipient_id=english, rating_id=rating, score=2, type="rating.updated", previous_score=4),
            ]
        )
    erased = {"recipient_user_id": str(author), "rating_ids": [rating]}
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(envelopes=[{"id": str(uuid.uuid4()), "type": "account.deleted", "version": 1, "data": erased}])

    assert Notification.objects.get(recipient_id=german).title == "Neue 2-Sterne-Bewertung von Gelöschter Nutzer"
    assert Notification.objects.get(recipient_id=english).title == "Rating changed (about an account since deleted)"
