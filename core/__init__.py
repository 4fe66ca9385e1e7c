"""Plumbing with no request in it: database, Redis, clock, errors, signed codes."""
