"""The demo company's past: a month of service so reports, contacts and search have something
to show the first time someone opens `make run`."""
