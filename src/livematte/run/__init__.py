"""The drivers: the offline (file) run, the live (camera) run, and what they share."""
