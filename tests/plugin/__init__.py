"""The plugin's own tests, driven with pytester."""
