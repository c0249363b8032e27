"""Business hours tests."""
