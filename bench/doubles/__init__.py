"""Misbehaving devices under test: they prove the bench's cases can fail."""
