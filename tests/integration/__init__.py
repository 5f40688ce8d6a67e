"""Tests against real redis-server processes the suite starts on loopback ports."""
