"""The shipped aliases of the tracked substances (editors add more in the admin)."""

from django.db import migrations

ALIASES = {
    "MDMA": [
        "midomafetamine",  # the INN
        "3,4-methylenedioxymethamphetamine",
        "methylenedioxymethamphetamine",
        "3,4-methylenedioxy-N-methylamphetamine",
    ],
    "Psilocybin": [
        "psilocybine",  # French, Dutch
        "psilocibina",  # Spanish, Italian, Portuguese
        "COMP360",  # Compass Pathways' psilocybin formulation
    ],
}


def forward(apps, schema_editor):
    SubstanceAlias = apps.get_model("watch", "SubstanceAlias")
    for substance, aliases in ALIASES.items():
        for alias in aliases:
            SubstanceAlias.objects.get_or_create(substance=substance, alias=alias)


def backward(apps, schema_editor):
    SubstanceAlias = apps.get_model("watch", "SubstanceAlias")
    for substance, aliases in ALIASES.items():
        SubstanceAlias.objects.filter(substance=substance, alias__in=aliases).delete()


class Migration(migrations.Migration):
    dependencies = [("watch", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
