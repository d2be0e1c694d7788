"""Flag parsing for the commands that take `--config` (ml_collections config files with `--config.a.b=value`
overrides): a mistake in an override is one line naming the field, not a library traceback.

  app.run(main, flags_parser=config_cli.parse)
"""
import contextlib
import os
import re
import sys

from absl import flags
from ml_collections import config_flags

import configs
from srtd_jax.runtime import field_names, termination

_DID_YOU_MEAN = re.compile(r"'(?P<bad>[^'\\]+)'.*Did you mean", re.S)
_LOOKUP = re.compile(r"does not support indexing\. Attempting to lookup: (?P<path>\S+?)[\"']*$")


def _overrides(argv) -> dict:
    """{'rl.steps': '100'} from the '--config.rl.steps=100' arguments (also '--config.rl.steps 100')."""
    out = {}
    for i, arg in enumerate(argv):
        if arg.startswith("--config."):
            name, eq, value = arg[len("--config."):].partition("=")
            out[name] = value if eq else (argv[i + 1] if i + 1 < len(argv) else "")
    return out


def _fail(message: str):
    print(f"ConfigError: {message}", file=sys.stderr)
    sys.exit(2)


@contextlib.contextmanager
def one_line_errors(*also: type):
    """A user error (srtd_jax/runtime/errors.py), or one of the types `also`, raised inside exits with one line
    that names it and status 1, no traceback; any other exception (a bug) keeps its traceback. A stop by SIGTERM
    (termination.Terminated, inside termination.sigterm_raises) is one line saying where, status 143."""
    try:
        yield
    except termination.Terminated as stop:
        print(f"Terminated: {stop}", file=sys.stderr)
        sys.exit(termination.EXIT_STATUS)
    except Exception as err:
        from srtd_jax.runtime.errors import user_errors  # only now: a command that fails no other way loads no JAX
        if not isinstance(err, user_errors() + also):
            raise
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        sys.exit(1)


def _known_fields(argv) -> list[str]:
    """The dotted fields of the config file that argv's `--config=` names, loaded anew without the overrides ([]
    if that fails too: only the suggestion is lost)."""
    paths = [arg[len("--config="):] for arg in argv if arg.startswith("--config=")]
    try:
        config = flags.FLAGS["config"].parser.parse(paths[-1])
        return sorted(field_names.flatten(config.to_dict()))
    except Exception:  # noqa: BLE001 - the unknown field is still reported, without a suggestion
        return []


def unknown_field_message(err: Exception, overrides, known) -> str | None:
    """'unknown config field rl.stpes (did you mean rl.steps?)' from ml_collections' error for a missing key: the
    field named by the override that holds it, with the field of `known` (dotted names) it most likely meant; None
    when no override holds the key. An override that reaches below a value ('rl.steps.x') names that value."""
    text = str(err.args[0] if err.args else err).replace("\\'", "'").replace("\\n", "\n")
    below = _LOOKUP.search(text)
    if below and below["path"] in overrides:
        parts = below["path"].split(".")
        values = [".".join(parts[:i]) for i in range(1, len(parts)) if ".".join(parts[:i]) in known]
        if values:
            return f"unknown config field {below['path']} ({values[0]} is a value, not a section)"
    found = _DID_YOU_MEAN.search(text)
    bad = found["bad"] if found else text.strip("'\"")
    for name in overrides:
        parts = name.split(".")
        if bad in parts:
            field = ".".join(parts[:parts.index(bad) + 1])
            return field_names.unknown_field_message(field, known)
    return None


def _repository_path(argv) -> list:
    """argv with a `--config=configs/<file>` that is not found from the working directory taken from the installed
    configs package instead, so the commands run from any directory."""
    out = []
    for arg in argv:
        if arg.startswith("--config=configs/"):
            path, colon, rest = arg[len("--config="):].partition(":")
            installed = os.path.join(os.path.dirname(os.path.dirname(configs.__file__)), path)
            if not os.path.exists(path) and os.path.exists(installed):
                arg = f"--config={installed}{colon}{rest}"
        out.append(arg)
    return out


def parse(argv):
    """absl's parsing of argv -> the remaining arguments. A config file that cannot be loaded, an override naming
    no config field, or a single value given to a tuple field (`--config.rl.actor_hidden=64` would silently train a
    one-layer network) exits with one line."""
    argv = _repository_path(argv)
    overrides = _overrides(argv)
    try:
        rest = flags.FLAGS(argv)
        config = flags.FLAGS["config"].value
    except flags.Error as err:  # absl's own parsing errors (a bad value): one line, as absl prints them
        print(f"FATAL Flags parsing error: {err}", file=sys.stderr)
        sys.exit(1)
    except (AttributeError, KeyError) as err:
        message = unknown_field_message(err, overrides, _known_fields(argv))
        if message is None:
            raise
        _fail(message)
    error = getattr(config, "_error", None) if type(config).__name__ == "_ErrorConfig" else None
    if error is not None:  # ml_collections defers a failed load to the first use of the config
        _fail(f"--config: cannot load {config_flags.get_config_filename(flags.FLAGS['config'])}: "
              + " ".join(str(error).split()))
    for name, raw in overrides.items():
        value = config
        for part in name.split("."):
            value = value[part]
        if isinstance(value, tuple) and not any(c in raw for c in ",()[]"):
            item = raw if re.fullmatch(r"[-+0-9.e]+", raw) else repr(raw)
            _fail(f"config field {name} is a tuple: write --config.{name}=\"({item},)\" for one element, or "
                  f"\"({item}, {item})\" for more")
    return rest
