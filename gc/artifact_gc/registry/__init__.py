"""Registry sources (EDGE): every place a reference can come from, one module per source, one protocol."""
