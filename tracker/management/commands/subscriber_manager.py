"""Give a staff user (or take back) the right to see subscribers' addresses."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tracker.access import SUBSCRIBER_MANAGERS_GROUP, subscriber_manager_grant, subscriber_manager_revoke


class Command(BaseCommand):
    help = (
        f"Add a staff user (an editor, usually) to the {SUBSCRIBER_MANAGERS_GROUP!r} group, the only users "
        "besides superusers who see subscribers' email addresses in the admin; --remove takes them out. "
        "Creates the group, or brings its permissions up to date, each time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--remove", action="store_true", help="Take the user out of the group.")

    def handle(self, *args, username: str, remove: bool, **options) -> None:
        try:
            if remove:
                subscriber_manager_revoke(username=username)
            else:
                subscriber_manager_grant(username=username)
        except LookupError:
            raise CommandError(f"No user {username!r}.") from None
        except ValueError:
            raise CommandError(f"{username!r} is not staff; make them an editor first (create_editor).") from None
        verb = "removed from" if remove else "added to"
        self.stdout.write(f"{username} {verb} {SUBSCRIBER_MANAGERS_GROUP!r}.")
