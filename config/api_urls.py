"""The versioned REST API (v1). Same permissions as the pages."""

app_name = "api"

urlpatterns: list = []
