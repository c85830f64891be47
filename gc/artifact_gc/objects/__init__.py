"""Where object records come from (EDGE): LIST (parallel), S3 Inventory, every version for the report."""
