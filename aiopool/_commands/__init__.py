"""Commands as values: each function returns a command's arguments and reply transform.

``Client``, ``Pipeline``, ``ClusterClient`` and ``ClusterPipeline`` put one
thin method on top of each function the binding table (``_bindings.BINDINGS``)
lists; ``tools/bind_commands.py`` writes those methods from the table, so a
command's arguments, checks, result type and docstring are written once, in
its family module (``strings``, ``hashes``, ...).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from . import (
    admin,
    bits,
    cluster_admin,
    geo,
    hashes,
    keys,
    lists,
    pubsub,
    scripting,
    server,
    sets,
    streams,
    strings,
    zsets,
)
from ._base import Command, Deadline, Expiry, Key, KeyOrKeys, Number, Value, apply
from ._bindings import ABSENT, BINDINGS, SURFACES

__all__ = [
    "ABSENT",
    "BINDINGS",
    "SURFACES",
    "Command",
    "Deadline",
    "Expiry",
    "Key",
    "KeyOrKeys",
    "Number",
    "Value",
    "admin",
    "apply",
    "bits",
    "cluster_admin",
    "describe",
    "geo",
    "hashes",
    "keys",
    "lists",
    "pubsub",
    "scripting",
    "server",
    "sets",
    "streams",
    "strings",
    "zsets",
]


def describe(method: Callable[..., Any], build: Callable[..., Any], returns: str) -> None:
    """Give a surface's method the name, docstring and signature of command ``build``.

    ``returns`` is the method's result annotation, with ``{}`` standing for
    the command's own result type (``"Coroutine[Any, Any, {}]"``).
    """
    method.__name__ = method.__qualname__ = build.__name__.removesuffix("_")
    method.__doc__ = build.__doc__
    signature = inspect.signature(build)
    result = signature.return_annotation
    if isinstance(result, str) and result.startswith("Command[") and result.endswith("]"):
        result = result[len("Command[") : -1]
    self = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    method.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[self, *signature.parameters.values()],
        return_annotation=returns.format(result),
    )
    method._command = build  # type: ignore[attr-defined]  # for the surface parity test
