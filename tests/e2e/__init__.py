"""End-to-end tests against the real local control plane (tests/conftest.py starts it)."""
