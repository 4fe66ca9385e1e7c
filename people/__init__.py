"""People: who someone is (users and their credentials: passwords, sign-in, refresh
tokens, the token version). Below every other domain package, above `core` only."""
