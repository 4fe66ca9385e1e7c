"""Activities, registration and waitlist, the check-in log, check-out (settlement comes later)."""
