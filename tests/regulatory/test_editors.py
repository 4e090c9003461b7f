import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from regulatory.editors import EDITORS_GROUP, user_is_editor

pytestmark = pytest.mark.django_db


def test_it_creates_a_staff_editor_who_is_not_a_superuser_and_prints_a_token(django_user_model):
    out = io.StringIO()

    call_command("create_editor", "carol", email="carol@example.org", stdout=out, stderr=io.StringIO())

    carol = django_user_model.objects.get(username="carol")
    assert carol.is_staff and not carol.is_superuser
    assert carol.groups.filter(name=EDITORS_GROUP).exists()
    assert carol.has_perm("regulatory.change_decision")
    assert not carol.has_perm("auth.change_user")
    assert out.getvalue().strip() == Token.objects.get(user=carol).key
    assert user_is_editor(carol)


def test_it_keeps_the_same_token_when_run_twice():
    first, second = io.StringIO(), io.StringIO()

    call_command("create_editor", "carol", stdout=first, stderr=io.StringIO())
    call_command("create_editor", "carol", stdout=second, stderr=io.StringIO())

    assert first.getvalue() == second.getvalue()


def test_it_rejects_a_bad_email():
    with pytest.raises(CommandError, match="--email"):
        call_command("create_editor", "carol", email="not-an-address", stdout=io.StringIO(), stderr=io.StringIO())


def test_it_does_not_count_a_plain_user_as_an_editor(bob):
    assert not user_is_editor(bob)
