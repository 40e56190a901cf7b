"""Print the GraphQL contract (``graphql/schema.graphql``) from the code.

``--check`` exits non-zero when the committed file is stale, and lists the
breaking changes the code would make against it.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.api.contract import SCHEMA_PATH, breaking_changes, current_sdl


class Command(BaseCommand):
    help = "Write graphql/schema.graphql from the code (or --check it)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Fail when the file is stale.")
        parser.add_argument("--out", default=str(SCHEMA_PATH))

    def handle(self, *args, check, out, **options):
        sdl = current_sdl()
        path = Path(out)
        if check:
            committed = path.read_text() if path.exists() else ""
            if committed != sdl:
                changes = breaking_changes(committed, sdl) if committed else []
                detail = "".join(f"\n  breaking: {c}" for c in changes)
                raise CommandError(f"{path} is stale; run 'make schema'.{detail}")
            self.stdout.write("graphql/schema.graphql is up to date.")
            return
        path.write_text(sdl)
        self.stdout.write(
            f"Wrote {path.relative_to(settings.BASE_DIR) if path.is_absolute() else path}"
        )
