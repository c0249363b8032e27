"""Satisfaction survey tests."""
