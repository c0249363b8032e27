"""Messaging rules, split by topic: ingestion of gateway events, inbox reads."""
