"""The GC itself: plan, mark, the plan file, safety interlocks, apply, journal, lease, quarantine, restore.

PURE modules here: mark, safety, object_info. The others talk to S3 or write files."""
