"""artifact-gc: registry-aware garbage collection for ML artifact buckets on S3."""

__version__ = "0.1.0"

from artifact_gc.refs.reachability import Match, ReferenceSet

__all__ = ["Match", "ReferenceSet", "__version__"]
