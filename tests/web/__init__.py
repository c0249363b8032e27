"""Panel tests: pages over HTTP in process, and the real browser against the live app."""
