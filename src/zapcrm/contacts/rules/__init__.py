"""List rules: contacts created through the API or the bulk endpoint, or imported from a CSV,
that match a rule's filter join the rule's static list (a segment of kind `static`)."""
