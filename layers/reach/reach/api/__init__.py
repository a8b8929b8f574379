"""The clinic-facing REST API (API Gateway -> Lambda) and its authorizer."""
