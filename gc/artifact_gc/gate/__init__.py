"""tf-gate rules over Terraform plan JSON. PURE: no AWS, no files, no terminal."""
