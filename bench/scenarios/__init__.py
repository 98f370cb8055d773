"""Test scenarios: async functions with metadata that drive a rig through one handle."""
