"""Namespace settings credit purchases read (charges.md §1.9)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class PurchaseSettings(BaseModel):
    """``credit_grant_tax_code`` is stamped on an intent without a tax code (§1.1); ``None`` means the
    namespace has no default and such an intent is refused. ``known_tax_codes`` lists the tax codes that
    exist (``None``: every non-empty code exists; subsync keeps no tax-code catalogue of its own).
    ``locked_namespaces`` refuse purchase creation (lock-down)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    credit_grant_tax_code: str | None = "txcd_10000000"
    known_tax_codes: frozenset[str] | None = None
    locked_namespaces: frozenset[str] = frozenset()


DEFAULT_SETTINGS = PurchaseSettings()
