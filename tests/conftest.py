"""Shared fixtures: a few named actors and the shipped dataset."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from tests.factories import UserFactory


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


@pytest.fixture
def dataset(db):
    """The shipped historical dataset, loaded through the real loader."""
    from regulatory.loader import history_load

    return history_load()
