"""The demo catalogue loaded by ``flask --app storefront seed``."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from .models import Product

DEMO_PRODUCTS: list[dict[str, str | int]] = [
    {
        "slug": "ceramic-mug",
        "name": "Ceramic Mug",
        "price_cents": 1800,
        "stock": 40,
        "description": "A stoneware mug that holds 350 ml and keeps its glaze in the dishwasher.",
    },
    {
        "slug": "canvas-tote",
        "name": "Canvas Tote",
        "price_cents": 2400,
        "stock": 25,
        "description": "Heavy cotton canvas with long handles and an inside pocket for keys.",
    },
    {
        "slug": "field-notebook",
        "name": "Field Notebook",
        "price_cents": 1200,
        "stock": 60,
        "description": "Three pocket notebooks of 48 dot-grid pages, stitched, with a card cover.",
    },
    {
        "slug": "wool-beanie",
        "name": "Wool Beanie",
        "price_cents": 3200,
        "stock": 15,
        "description": "Merino wool, ribbed knit, one size. Warm without the itch.",
    },
    {
        "slug": "desk-plant",
        "name": "Desk Plant",
        "price_cents": 2800,
        "stock": 8,
        "description": "A hardy pothos in a 12 cm terracotta pot. Forgives missed waterings.",
    },
    {
        "slug": "steel-bottle",
        "name": "Steel Bottle",
        "price_cents": 3600,
        "stock": 30,
        "description": "Double-walled stainless steel, 750 ml: cold for 24 hours, hot for 12.",
    },
    {
        "slug": "linen-apron",
        "name": "Linen Apron",
        "price_cents": 4200,
        "stock": 3,
        "description": "Stonewashed linen with cross-back straps and two deep pockets.",
    },
    {
        "slug": "brass-pen",
        "name": "Brass Pen",
        "price_cents": 5400,
        "stock": 12,
        "description": "Machined solid brass that darkens with use. Takes standard refills.",
    },
]


def seed_catalogue() -> tuple[int, int]:
    """Add every demo product that is missing (by slug). Existing products, and their stock, are
    left alone, so seeding twice changes nothing. Returns (added, already there)."""
    existing = set(db.session.execute(select(Product.slug)).scalars())
    added = 0
    for data in DEMO_PRODUCTS:
        if data["slug"] in existing:
            continue
        db.session.add(Product(image=f"{data['slug']}.svg", **data))
        added += 1
    db.session.commit()
    return added, len(DEMO_PRODUCTS) - added
