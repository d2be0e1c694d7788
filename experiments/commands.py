"""The command line that made a result, as one shell line: what command.txt, results files and tables cite."""
import shlex
import sys


def quote(arg: str) -> str:
    """shlex.quote on one line: a newline inside an argument becomes bash's $'\\n', so a multi-line argument still
    gives a one-line command that the shell reads back as the same argument."""
    return shlex.quote(arg).replace("\n", "'$'\\n''")


def command_line(module: str, args) -> str:
    """'python -m <module> <args quoted>'."""
    return " ".join([f"python -m {module}", *map(quote, args)])


def this_command() -> str:
    """The command line of the running `python -m` program, arguments as given."""
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    module = spec.name if spec is not None else sys.argv[0]
    return command_line(module, sys.argv[1:])
