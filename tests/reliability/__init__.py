"""Reliability tests under faults and hostile input (grows with the functions)."""
