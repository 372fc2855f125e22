"""Narrowing for mypy on tests/: a value typed more loosely than the test knows it to be, as what it is - asserted,
so that a surprise fails as an assertion on that value rather than as "'NoneType' object has no attribute ...".

`present(x)`: an `X | None` that is there. `of_type(x, Block)`: a value typed `Module` (an `nn.ModuleList` item, a
submodule reached through `Module.__getattr__`) or `object` that is a `Block`."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def present(value: T | None) -> T:
    assert value is not None
    return value


def of_type(value: object, kind: type[T]) -> T:
    assert isinstance(value, kind), f"{type(value).__name__}, not {kind.__name__}"
    return value
