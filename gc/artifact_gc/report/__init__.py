"""The storage report's edge (EDGE): reads the bucket, lifecycle documents and plans, hands plain data to cost/ and render/."""
