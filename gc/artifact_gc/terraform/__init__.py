"""Terraform at the edge (EDGE): bounded subprocess runner, gc_config outputs, the lifecycle preview."""
