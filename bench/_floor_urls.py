"""URLs for benchmarks: the app's own, plus a "floor" view to compare pages against."""

from django.contrib.auth.decorators import login_required
from django.urls import include, path

FLOOR_TEMPLATE = """<table>{% for item in items %}<tr><td>{{ forloop.counter }}</td>
<td><a href="/items/{{ item.pk }}/">{{ item.title }}</a></td><td>{{ item.status }}</td>
<td>{{ item.digitisation_level }}</td><td>{{ item.effort }}</td></tr>{% endfor %}</table>"""


@login_required
def floor_view(request, pk: int):
    """The floor: 100 rows of the product from one bare query, rendered by a template.

    Behind ``login_required`` like every page of the app, so both sides pay for the session
    and the user; everything else (tenancy, roles, filters, scores) is the page's own cost."""
    from django.http import HttpResponse
    from django.template import engines

    from backlog.models import BacklogItem

    items = BacklogItem.objects.filter(product_id=pk).order_by("rank_key")[:100]
    template = engines["django"].from_string(FLOOR_TEMPLATE)
    return HttpResponse(template.render({"items": items}))


urlpatterns = [
    path("bench-floor/<int:pk>/", floor_view),
    path("", include("config.urls")),
]
