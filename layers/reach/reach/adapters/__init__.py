"""Adapters: the only code besides data access that talks to AWS SDKs.

Each module implements a port from reach.ports; import the one you need (sms_factory picks
an SMS provider from settings) so that a function loads only the SDK clients it uses.
"""
