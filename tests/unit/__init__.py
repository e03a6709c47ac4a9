"""The harness's unit tests: pure, fast, no Docker."""
