from streams.stack.errors import StackError
from streams.stack.manager import Stack

__all__ = ["Stack", "StackError"]
