"""Operator to-dos ("tarefas pendentes") linked to a contact or a conversation."""
