"""tensorc.ops (this file makes the folder a regular package, so setuptools ships it)."""
