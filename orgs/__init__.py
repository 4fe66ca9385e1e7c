"""City → district → station → room, and the staff roles that act on them."""
