"""Chapter analysis modules (one per chapter notebook)."""
