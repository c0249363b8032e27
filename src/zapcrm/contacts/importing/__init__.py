"""Contact import: CSV files in the background and bulk JSON, with one set of identity rules.

Entry points: `endpoints.router` (HTTP), `jobs.ContactImportHandler` on the `contacts:import`
stream (worker), `cli.contacts_app` (`zapcrm contacts import`). Limits are in `limits`.
"""
