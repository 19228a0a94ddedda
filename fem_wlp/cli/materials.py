"""`fem-wlp materials [NAME] [--json] [--sources]`: list the material library with units and sources.

Without NAME: every entry with its model, key parameters (units) and a summary of how well its constants are
sourced. With NAME: that entry with the full source of every parameter and the citations of the [Sx] tags it
uses. --json prints the spec dicts as they would be written inline in a study file. --sources prints the whole
source list (shipped with the package: fem_wlp/materials/data/sources.md).
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import textwrap

from fem_wlp.errors import InputError
from fem_wlp.materials.library import LIBRARY, STATUSES, entry_tags, parameters, source_list, source_status, \
    sources_text

#: parameter -> unit as shown (A depends on the model)
UNITS = {
    "E": "MPa", "nu": "", "alpha": "1/K", "T_alpha": "°C",
    "E1": "MPa", "E2": "MPa", "E3": "MPa", "G12": "MPa", "G13": "MPa", "G23": "MPa",
    "nu12": "", "nu13": "", "nu23": "", "alpha1": "1/K", "alpha2": "1/K", "alpha3": "1/K",
    "C11": "MPa", "C12": "MPa", "C44": "MPa", "rotation_deg": "deg",
    "s0": "MPa", "Q_over_R": "K", "xi": "", "m": "", "h0": "MPa", "s_hat": "MPa", "n": "", "a": "",
    "C1": "1/s", "C2": "1/MPa", "C3": "",
    "yield_stress": "MPa", "hardening_modulus": "MPa", "hardening": "",
}
A_UNITS = {"anand": "1/s", "norton": "1/(s·MPa^n)"}
ALPHA_KEYS = {"alpha", "alpha1", "alpha2", "alpha3"}


def add_args(p):
    p.add_argument("name", nargs="?", metavar="NAME", help="show one entry with the source of every parameter")
    p.add_argument("--json", action="store_true", help="print the entries as JSON spec dicts")
    p.add_argument("--sources", action="store_true",
                   help="print the source list: every [Sx] tag with its full citation")


def _num(key: str, x) -> str:
    if isinstance(x, str):
        return x
    if key in ALPHA_KEYS:
        return f"{x * 1e6:.4g}e-6"
    if x != 0 and (abs(x) >= 1e6 or abs(x) < 1e-4):
        mant, exp = f"{x:.9e}".split("e")
        return f"{mant.rstrip('0').rstrip('.')}e{int(exp)}"
    return f"{x:.10g}"


def _unit(key: str, model: str) -> str:
    u = A_UNITS.get(model, "1/s") if key == "A" else UNITS.get(key, "")
    return f" {u}" if u else ""


def format_value(key: str, value, model: str, full: bool) -> str:
    """`key = value unit`; tables as `v @ T °C, ...` (long tables summarized unless `full`)."""
    unit = _unit(key, model)
    if isinstance(value, list):
        pts = [f"{_num(key, v)} @ {T:g}" for T, v in value]
        if full or len(pts) <= 5:
            body = ", ".join(pts)
        else:
            mid = next((p for p in pts if p.endswith("@ 25")), None)
            body = f"{pts[0]}, ... {mid + ', ... ' if mid else ''}{pts[-1]} ({len(pts)} points)"
        return f"{key} = [{body} °C]{unit}"
    return f"{key} = {_num(key, value)}{unit}"


def _wrap(text: str, indent: str, width: int) -> str:
    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=indent + "  ",
                         break_on_hyphens=False)


def _entry_lines(name: str, spec: dict, full: bool, width: int) -> list[str]:
    model = spec.get("model", "elastic")
    lines = [_wrap(f"{name}  [{model}]  {spec.get('description', '')}".rstrip(), "", width)]
    params = parameters(spec)
    sources = spec.get("sources") or {}
    if full:
        if spec.get("source"):
            lines.append(_wrap(f"source: {spec['source']}", "    ", width))
        for k, v in params.items():
            lines.append(_wrap(format_value(k, v, model, True), "    ", width))
            src = sources.get(k, "NO SOURCE")
            lines.append(_wrap(f"[{source_status(src)}] {src}", "        ", width))
    else:
        lines.append(_wrap("; ".join(format_value(k, v, model, False) for k, v in params.items()), "    ",
                           width))
        counts: dict[str, int] = {}
        for k in params:
            s = source_status(sources[k]) if k in sources else "NO SOURCE"
            counts[s] = counts.get(s, 0) + 1
        order = {s: i for i, s in enumerate(STATUSES)}
        status = ", ".join(f"{s} {counts[s]}" for s in sorted(counts, key=lambda s: order.get(s, -1)))
        lines.append(_wrap(f"source: {spec.get('source', '')}  ({status})", "    ", width))
    return lines


def _citation_lines(spec: dict, width: int) -> list[str]:
    """The [Sx] tags an entry uses, each with its citation from the shipped source list."""
    cite = source_list()
    tags = entry_tags(spec)
    if not tags:
        return []
    return ["    sources cited:"] + [_wrap(f"[{t}] {cite.get(t, 'NOT IN THE SOURCE LIST')}", "      ", width)
                                    for t in tags]


def run(args) -> int:
    if args.sources:
        _print(sources_text().rstrip())
        return 0
    if args.name is not None and args.name not in LIBRARY:
        raise InputError("NAME", args.name, ", ".join(LIBRARY))
    names = [args.name] if args.name else list(LIBRARY)
    if args.json:
        _print(json.dumps({n: LIBRARY[n] for n in names}, indent=2, ensure_ascii=False))
        return 0
    width = max(60, min(shutil.get_terminal_size((110, 24)).columns, 140))
    out = []
    if not args.name:
        out.append(f"fem-wlp material library: {len(LIBRARY)} entries. Units MPa, 1/K, K, 1/s, °C; alpha "
                   "tables are secant coefficients about T_alpha. Sources: [Sx] tags of the project's reference "
                   "data (domain.md), listed with their citations by `fem-wlp materials --sources`; status "
                   "sourced | transcribed | computed | estimate | textbook (unsourced) | assumed. `fem-wlp "
                   "materials NAME` shows every parameter's source and the citations it uses; use a name in a "
                   "study as `region = \"NAME\"`.")
        out = [textwrap.fill(out[0], width=width, break_on_hyphens=False), ""]
    for n in names:
        out += _entry_lines(n, LIBRARY[n], full=bool(args.name), width=width)
        if args.name:
            out += _citation_lines(LIBRARY[n], width)
        out.append("")
    _print("\n".join(out).rstrip())
    return 0


def _print(text: str):
    """Print, and stop quietly when the reader closes the pipe (`fem-wlp materials | head`)."""
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
