"""A sample Tilores_X-style app that proves the drop-in path."""
