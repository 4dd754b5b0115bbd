import uuid

import factory

from apps.accounts.models import User
from apps.customers.models import Customer
from apps.notifications.models import Channel, Delivery, Notification
from apps.providers.models import Provider, ServiceCategory
from apps.ratings.services import rating_summary_create

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    user = factory.SubFactory(UserFactory)


class ServiceCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceCategory
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"service-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    name = factory.Faker("company")
    description = factory.Faker("sentence")

    @factory.post_generation
    def _summary(obj, create, extracted, **kwargs):
        # What provider_register's event does: every provider has its summary row.
        if create:
            rating_summary_create(provider_id=obj.pk)


def rating_make(*, customer=None, provider=None, score: int = 5, comment: str = ""):
    """Create a rating through the service, so the provider's summary stays exact."""
    from apps.ratings.services import rating_create

    return rating_create(
        customer=customer or CustomerFactory(),
        provider=provider or ProviderFactory(),
        score=score,
        comment=comment,
    )


def moderator_create(**kwargs) -> User:
    """A staff user (not a superuser) in the ``moderators`` group (see apps/accounts/staff_groups.py)."""
    from django.contrib.auth.models import Group

    user = UserFactory(is_staff=True, **kwargs)
    user.groups.add(Group.objects.get(name="moderators"))
    return user


def partner_key_create(name: str = "Partner", scopes: list[str] | None = None, partner=None) -> tuple:
    """A key of a partner (a new one named ``name`` unless given) and its plain-text secret
    (shown once, as in the admin); all scopes unless ``scopes``."""
    from apps.partners.keys import partner_key_create as key_create
    from apps.partners.models import Partner

    if partner is None:
        partner = Partner.objects.create(name=f"{name} {uuid.uuid4().hex[:8]}")
    return key_create(partner=partner, name=name, scopes=scopes)


def partner_grant(key, *providers) -> None:
    """Let the key's partner act for these providers (as staff grant it in the admin)."""
    from apps.partners.services import partner_provider_grant

    for provider in providers:
        partner_provider_grant(partner=key.partner, provider=provider)


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    recipient_id = factory.LazyFunction(uuid.uuid4)
    event_id = factory.LazyFunction(uuid.uuid4)
    type = "rating.created"
    title = factory.Sequence(lambda n: f"New 5-star rating #{n}")
    body = "Great job."
    data = factory.LazyFunction(lambda: {"rating_id": str(uuid.uuid4()), "score": 5})


class DeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delivery

    notification = factory.SubFactory(NotificationFactory)
    event_id = factory.SelfAttribute("notification.event_id")
    recipient_id = factory.SelfAttribute("notification.recipient_id")
    channel = Channel.EMAIL
    address = factory.Sequence(lambda n: f"provider{n}@example.com")
