"""The operator panel: server-rendered pages (Jinja2 + htmx) mounted at `/panel`."""
