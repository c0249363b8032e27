"""Operability: health, readiness and metrics endpoints."""
