"""`fem-wlp` entry point. Bad input exits with code 2 and one message; never a traceback."""
from __future__ import annotations

import argparse
import sys
from importlib import import_module

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fem-wlp", description="WLCSP solder-joint reliability analyzer")
    parser.add_argument("--version", action="version", version=f"fem-wlp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_) in COMMANDS.items():
        try:
            mod = import_module(module)
        except ModuleNotFoundError as exc:            # a subcommand not built yet
            if exc.name != module:
                raise
            continue
        p = sub.add_parser(name, help=help_, description=help_)
        mod.add_args(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    limit_threads()                 # before build_parser imports the subcommands (and numpy)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except InputError as exc:
        print(f"fem-wlp {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fem-wlp: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
