"""Conversations and messages: ingestion, inbox queries, caches and live events."""
