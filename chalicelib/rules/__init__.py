"""The rulebook as pure functions and plain data: no I/O, no clock, no AWS.

Every function that depends on time takes ``now`` from its caller.
"""
