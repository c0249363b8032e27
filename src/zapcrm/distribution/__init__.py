"""Automatic distribution of waiting chats among the agents taking chats."""
