"""``PubSub``: subscriptions on a dedicated connection, re-subscribed after a drop."""

from __future__ import annotations

from ._config import ConnectionOptions, PoolOptions

__all__ = ["PubSub"]


class PubSub:
    """Placeholder while the module is written."""

    def __init__(
        self, connection: ConnectionOptions, options: PoolOptions, *, max_messages: int
    ) -> None:
        self.connection_options = connection

    def __repr__(self) -> str:
        return "<PubSub>"
