"""Previous / next case within a meeting (pure)."""
from __future__ import annotations


def neighbour(order: list[str], current: str | None, step: int) -> str | None:
    """The case ``step`` places from ``current`` in ``order``, clamped to the ends; first case if unknown."""
    if not order:
        return None
    if current not in order:
        return order[0]
    i = order.index(current) + step
    return order[max(0, min(len(order) - 1, i))]
