"""`fem-wlp` entry point. Bad input exits with code 2 and one message; never a traceback."""
from __future__ import annotations

import argparse
import os
import sys
from importlib import import_module
from pathlib import Path

from fem_wlp import __version__
from fem_wlp.errors import InputError
from fem_wlp.runtime import limit_threads

#: subcommand -> (module, one-line help)
COMMANDS = {
    "run": ("fem_wlp.cli.run", "run a study: fem-wlp run STUDY.toml --out DIR"),
    "check": ("fem_wlp.cli.check", "validate a study file without running it"),
    "mesh": ("fem_wlp.cli.mesh", "build the meshes of a study: fem-wlp mesh STUDY.toml --out DIR"),
    "materials": ("fem_wlp.cli.materials", "list the material library with units and sources"),
    "plot": ("fem_wlp.cli.plot", "redraw the plots of a results folder"),
    "export": ("fem_wlp.cli.export", "export a study's model as a CalculiX/Abaqus deck"),
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; only the chosen command's module is imported (the others would load the engine for nothing:
    `fem-wlp materials` and `--help` stay fast)."""
    parser = argparse.ArgumentParser(prog="fem-wlp", description="WLCSP solder-joint reliability analyzer")
    parser.add_argument("--version", action="version", version=f"fem-wlp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    args = sys.argv[1:] if argv is None else argv
    chosen = next((a for a in args if not a.startswith("-")), None)
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        if name == chosen:
            mod = import_module(module)
            mod.add_args(p)
            p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    limit_threads()                 # before build_parser imports the chosen subcommand (and numpy)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        code = int(args._run(args) or 0)
        sys.stdout.flush()               # a closed pipe shows here, not as a warning at interpreter exit
        return code
    except InputError as exc:
        return _error(args.command, str(exc))
    except KeyboardInterrupt:
        print("fem-wlp: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:              # the reader went away (`fem-wlp check x.toml | head -c1`): stop quietly
        _discard_stdout()
        return 128 + 13                  # what a shell reports for a producer killed by SIGPIPE
    except OSError as exc:
        # a file-system problem with a path the user gave (a study file, --out, a mesh folder: missing, not a
        # folder, read-only, name too long, disk full) is one message; the commands name their keys where they
        # can, this is the last resort. A path inside the package is an installation bug: keep its traceback.
        if exc.filename is None or _inside_package(exc.filename):
            raise
        return _error(args.command, f"{exc.filename}: {exc.strerror or exc}")


def _error(command: str, message: str) -> int:
    """The one-line message of bad input (exit code 2)."""
    message = " ".join(part.strip() for part in message.splitlines() if part.strip())
    print(f"fem-wlp {command}: error: {message}", file=sys.stderr)
    return 2


def _inside_package(path) -> bool:
    package = Path(__file__).resolve().parent.parent
    try:
        return Path(os.fsdecode(path)).resolve().is_relative_to(package)
    except (OSError, ValueError, TypeError):
        return False


def _discard_stdout():
    """Point stdout at /dev/null so that the interpreter's final flush does not fail again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):   # stdout without a file descriptor (captured, closed)
        pass


if __name__ == "__main__":
    sys.exit(main())
