"""Exceptions that carry enough context for a user to act on them."""


class CgbenchError(Exception):
    """Base class of every error cgbench raises on purpose."""


class InputError(CgbenchError, ValueError):
    """An argument has a value the function cannot work with (a shape, a range, a missing column).

    Also a :class:`ValueError`, so callers that catch the built-in keep working.
    """


class ConfigError(CgbenchError):
    """The configuration does not match the schema; the message names each bad key's path."""


class MoleculeError(CgbenchError):
    """A molecule, its atom types, its bead definitions or its parameters do not make sense."""


class EngineError(CgbenchError):
    """An external engine (gmx, lmp, csg_inverse) failed.

    The message names the command, its working directory and the tail of its log.
    """

    def __init__(self, command, cwd, log_tail, reason="exited with an error"):
        self.command = list(map(str, command))
        self.cwd = str(cwd)
        self.log_tail = log_tail
        self.reason = reason
        super().__init__(
            f"{self.command[0]} {reason}\n"
            f"  command: {' '.join(self.command)}\n"
            f"  working directory: {self.cwd}\n"
            f"  last lines of its log:\n{_indent(log_tail)}"
        )


def _indent(text, prefix="    "):
    return "\n".join(prefix + line for line in text.rstrip().splitlines())
