"""Messages scheduled for later in a chat, queued as ordinary sends when their moment comes."""
