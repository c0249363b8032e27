"""Campaign tests."""
