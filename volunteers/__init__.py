"""Volunteers: profiles (志愿者), service records and star levels, certificates, the working-day calendar."""
