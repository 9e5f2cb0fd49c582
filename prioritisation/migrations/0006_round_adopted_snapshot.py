import django.db.models.deletion
from django.db import migrations, models


def link_adoptions(apps, schema_editor):
    """Rounds adopted before this field: their reorder is the product's latest vote-order
    snapshot whose note names the round (round_adopt wrote "… (#<round id>).")."""
    VotingRound = apps.get_model("prioritisation", "VotingRound")
    OrderSnapshot = apps.get_model("backlog", "OrderSnapshot")
    for round in VotingRound.objects.filter(adopted_at__isnull=False).only("pk", "product_id"):
        snapshot = (
            OrderSnapshot.objects.filter(
                product_id=round.product_id,
                kind="vote_order",
                note__endswith=f"(#{round.pk}).",
            )
            .order_by("-created_at", "-pk")
            .first()
        )
        if snapshot is not None:
            VotingRound.objects.filter(pk=round.pk).update(adopted_snapshot=snapshot)


class Migration(migrations.Migration):
    dependencies = [
        ("backlog", "0006_history_tracking"),
        ("prioritisation", "0005_pending_rescore"),
    ]

    operations = [
        migrations.AddField(
            model_name="votinground",
            name="adopted_snapshot",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="backlog.ordersnapshot",
            ),
        ),
        migrations.RunPython(link_adoptions, migrations.RunPython.noop),
    ]
