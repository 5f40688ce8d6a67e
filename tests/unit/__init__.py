"""Tests that need no server: protocol, options, commands as data, the pool on fakes."""
