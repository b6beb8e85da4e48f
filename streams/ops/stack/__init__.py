from streams.ops.stack.errors import StackError
from streams.ops.stack.manager import Stack

__all__ = ["Stack", "StackError"]
