"""aiopool's tests: ``unit/`` needs no server, ``integration/`` starts its own."""
