class StackError(Exception):
    """A problem starting or stopping the local stack, worded for the user (no traceback needed)."""
