"""Prices, cost maths, lifecycle projection and lint. PURE: no AWS, no files, no terminal."""
