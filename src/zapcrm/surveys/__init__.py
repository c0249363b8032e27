"""Customer satisfaction survey: a 1-5 question sent when a person closes a chat."""
