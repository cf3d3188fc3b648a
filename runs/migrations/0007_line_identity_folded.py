import django.contrib.postgres.indexes
import django.db.models.functions.comparison
import django.db.models.functions.text
from django.db import migrations, models

import runs.models


class AddIndexWithoutLockingWrites(migrations.AddIndex):
    """On PostgreSQL the index is built CONCURRENTLY: a table of millions of lines keeps
    taking the workers' writes while it is built (a plain CREATE INDEX would block them)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):  # type: ignore[no-untyped-def]
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            concurrently = schema_editor.connection.vendor == "postgresql"
            schema_editor.add_index(
                model, self.index, **({"concurrently": True} if concurrently else {})
            )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("runs", "0006_open_items"),
    ]

    operations = [
        AddIndexWithoutLockingWrites(
            model_name="runline",
            index=runs.models.PatternIndex(
                models.F("integration"),
                models.F("kind"),
                django.contrib.postgres.indexes.OpClass(
                    django.db.models.functions.text.Upper(
                        django.db.models.functions.comparison.Cast("identifier", models.TextField())
                    ),
                    name="text_pattern_ops",
                ),
                name="line_identity_folded",
            ),
        ),
    ]
