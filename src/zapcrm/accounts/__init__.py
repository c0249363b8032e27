"""Companies, users and roles: who works for which business and what they may do."""
