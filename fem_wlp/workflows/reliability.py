"""Temporary compatibility names for modules of other owners that still import them (reporting/report.py
imports DEFAULT_MATERIALS, benchmarks/bench_calculix.py build_case_model). Remove once they import
fem_wlp.wlcsp.regions and fem_wlp.workflows.case."""
from __future__ import annotations

from fem_wlp.study.spec import Study
from fem_wlp.wlcsp.regions import DEFAULT_MATERIALS, LAYERS, MODEL_KINDS
from fem_wlp.workflows import case

__all__ = ["DEFAULT_MATERIALS", "LAYERS", "MODEL_KINDS", "build_case_model"]


def build_case_model(data: dict, mesh_path, kind: str, mesh_report: dict | None = None):
    """(model, profile) of a generated-geometry case given as a raw study dict with one design."""
    spec = Study.from_dict({**data, "model": {**data.get("model", {}), "kind": kind}}, purpose="case")
    return case.build_case_model(spec, mesh_path)
