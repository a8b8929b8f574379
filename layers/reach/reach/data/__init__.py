"""Data access: PynamoDB models and the repositories built on them. Only this package and
reach.adapters talk to AWS SDKs."""
