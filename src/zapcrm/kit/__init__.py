"""Building blocks with no domain knowledge: phones, time, pagination, repository helpers."""
