"""Panel page handlers, one module per area; they call services and render templates."""
