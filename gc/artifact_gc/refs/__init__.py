"""Reference spellings and reachability. PURE: no AWS, no files, no terminal."""
