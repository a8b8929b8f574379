"""Ports: the interfaces services depend on, implemented by reach.adapters."""
