"""Speed and memory measurements, run against a baseline on the same machine in the same invocation."""
