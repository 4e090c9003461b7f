from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from regulatory.editors import editor_create


class Command(BaseCommand):
    help = "Create an editor (staff, in the Editors group, not a superuser) and print their API token."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")

    def handle(self, *args, username: str, email: str, **options):
        username = username.strip()
        if not username or len(username) > 150:
            raise CommandError("USERNAME must be 1 to 150 characters.")
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise CommandError(f"--email {email!r} is not a valid address.") from None
        user, token = editor_create(username=username, email=email)
        self.stderr.write(
            f"Editor {user.username!r} is ready. Set a password for the admin with:\n"
            f"  python manage.py changepassword {user.username}\n"
            "API token (send as 'Authorization: Token <token>'):"
        )
        self.stdout.write(token)
