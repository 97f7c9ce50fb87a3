"""Browser journeys: pytest-playwright driving Chromium against a live storefront server."""
