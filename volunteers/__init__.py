"""People: users (residents and staff), volunteer profiles, service records."""
