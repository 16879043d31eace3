"""Constructing frozen models from values that are already valid, without re-validating them.

Pydantic re-runs a nested model's ``mode="after"`` validators whenever an instance is passed to a
model field, so wrapping every target item through ``__init__`` would re-validate the subscription
and the item version once per period. The builder computes target items from a validated view,
so it builds them with a trusted constructor instead: the same object ``model_construct`` returns
(``__dict__``, fields set, no extras, no private state), without its per-field bookkeeping.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_set = object.__setattr__


def trusted_builder(cls: type[M], *, check_fields: bool = True) -> Callable[[dict[str, Any]], M]:
    """A constructor for ``cls`` from a dict holding every field (the dict becomes the instance's
    ``__dict__``), without validation. ``check_fields=False`` skips the check that the dict holds
    exactly the model's fields, for callers that build the dict from a literal.

    Falls back to ``model_construct`` for models it cannot build directly (post-init hooks,
    private attributes, extra fields allowed, root models).
    """
    field_names = frozenset(cls.model_fields)
    plain = (
        not cls.__pydantic_post_init__
        and not cls.__private_attributes__
        and cls.model_config.get("extra") != "allow"
        and not cls.__pydantic_root_model__
    )
    if not plain:
        return lambda values: cls.model_construct(**values)

    def construct(values: dict[str, Any]) -> M:
        if check_fields and values.keys() != field_names:
            raise TypeError(f"{cls.__name__}: a trusted construction needs exactly the fields {sorted(field_names)}")
        instance = cls.__new__(cls)
        _set(instance, "__dict__", values)
        _set(instance, "__pydantic_fields_set__", set(field_names))
        _set(instance, "__pydantic_extra__", None)
        _set(instance, "__pydantic_private__", None)
        return instance

    return construct


def trusted_constructor(cls: type[M]) -> Callable[..., M]:
    """Like ``trusted_builder``, taking every field as a keyword."""
    build = trusted_builder(cls)

    def construct(**values: Any) -> M:
        return build(values)

    return construct
