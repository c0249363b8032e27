"""Quick replies: company-defined canned responses with `{{name}}`-style variables."""
