from django import template

register = template.Library()


@register.filter
def bar_width(value: float, largest: float) -> str:
    """Width of a bar as a percentage of the largest bar, for CSS (0–100)."""
    try:
        if not largest:
            return "0"
        return f"{max(0.0, min(100.0, 100.0 * abs(float(value)) / abs(float(largest)))):.1f}"
    except (TypeError, ValueError):
        return "0"


@register.filter
def largest_share(shares, attribute: str = "mine") -> float:
    return max((abs(getattr(s, attribute)) for s in shares), default=0.0)


@register.filter
def signed(value: float, digits: int = 3) -> str:
    return f"{float(value):+.{int(digits)}f}"
