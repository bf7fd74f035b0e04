"""Test corpora: messages kept as data, shared by the tests that feed them to Pulse."""
