"""Shared fixtures: a few named actors and the shipped dataset."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import UserFactory

# The HTTP cache stays out of every test's way (tests/httpcache/ turns it on).
pytest_plugins = ["tests.httpcache.fixtures"]


@pytest.fixture
def alice(db):
    """An editor (staff, in the Editors group, not a superuser)."""
    from regulatory.editors import editor_create

    user, _token = editor_create(username="alice", email="alice@example.org")
    return user


@pytest.fixture
def bob(db):
    """A logged-in nobody: not staff, no permissions."""
    return UserFactory(username="bob")


@pytest.fixture(scope="module")
def dataset(django_db_setup, django_db_blocker):
    """The shipped dataset, loaded through the real loader once per module (it
    takes seconds) inside a transaction rolled back after the module's last
    test; each test's own transaction is a savepoint within it, so tests still
    cannot see each other's writes. Tests using it also need `db`."""
    from django.db import transaction

    from regulatory.loader import history_load

    with django_db_blocker.unblock(), transaction.atomic():
        yield history_load()
        transaction.set_rollback(True)


# API clients for the named actors: anonymous, alice (editor), bob (not an editor).
@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def alice_client(alice) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user=alice).key}")
    return client


@pytest.fixture
def bob_client(bob) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=bob)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client
