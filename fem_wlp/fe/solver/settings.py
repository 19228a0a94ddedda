"""Solver settings: the numerics of a run, apart from the problem."""
from __future__ import annotations

from dataclasses import dataclass

from fem_wlp.errors import InputError


@dataclass(frozen=True)
class SolverSettings:
    """Numerics, apart from the problem: tolerances, step control, linear solver."""

    linear_solver: str = "auto"       # auto | direct | pardiso | scipy | amg
    rtol: float = 1e-5                # residual norm / max(internal-force norm, the increment's first residual);
                                      # the default is chosen for dW within 1e-5 (2D slice) .. 1.5e-4 (3D) of
                                      # rtol 1e-8 (benchmarks/README.md). Verification tests set 1e-8..1e-10.
    max_iterations: int = 25
    max_cutbacks: int = 10            # smallest step = grid step / 2**max_cutbacks
    step_control: str = "error"       # error: local error control of the time integration within the grid's
                                      # steps (stepping.py); grid: the grid's steps (cut back on failure only)
    tolerance: float = 1e-6           # local error bound per increment (equivalent inelastic strain): the
                                      # estimated local error of the inelastic strain increment from its
                                      # difference to the trapezoidal one (stepping.integration_error), volume
                                      # RMS over each rate-dependent region, max over the regions. The default
                                      # with BDF2 meets issue 15 item 4 (tests/test_error_control.py): Norton /
                                      # Garofalo relaxation 0.38 / 0.54 % (bound 1 %), Anand dW +0.03 % (bound
                                      # 0.5 %), smaller errors than backward Euler at 3e-7 had (0.71 / 0.87 /
                                      # -0.12 %). The global error goes as tolerance^(2/3) with BDF2, as
                                      # sqrt(tolerance) with backward Euler (integration = "euler": at 1e-6
                                      # Norton relaxation is 1.24 % off; use 3e-7 there)
    integration: str = "auto"         # time integration of the rate-dependent regions: bdf2 (variable-step BDF2,
                                      # second order; stepping.py) | euler (backward Euler, first order) | auto
                                      # (bdf2 under step_control = "error", euler on the grid, as CalculiX)
    max_deps_in: float = 5e-3         # coarse guard: equivalent inelastic strain increment per step (reject
                                      # above 2x); the only step control rate-independent plasticity has
    growth: float = 1.5               # largest step growth factor per increment
    predictor: bool = True            # extrapolate the previous displacement increment (with BDF2: quadratically
                                      # through the last three states)
    modified_newton: str = "auto"     # on: the last factorized tangent (direct solvers; newton.py) while it
                                      # contracts the residual 5x per iteration (or 2x when the tolerance is then
                                      # reached for less than a factorization costs: newton.stale_pays), a fresh
                                      # one (then reused) for an iteration that does not, an increment that fails
                                      # so is retried with full Newton; with contact a status changed at a few
                                      # points enters as a low-rank update of the factorization, a larger change
                                      # gets a fresh tangent | off: full Newton |
                                      # auto: on under step_control = "error", off on the grid (as CalculiX)
    reuse_factorization: bool = False  # keep a factorization as CG preconditioner for later tangents (pays
                                       # off when only a small, mildly nonlinear part of the model changes)
    condense: str = "auto"            # static condensation of the constant elastic regions (solver/condense.py):
                                      # auto (when the elastic interior dominates) | on | off

    def __post_init__(self):
        if not (0 < self.rtol < 1e-2):
            raise InputError("solver.rtol", self.rtol, "0 < rtol < 1e-2")
        if not (isinstance(self.max_iterations, int) and self.max_iterations >= 2):
            raise InputError("solver.max_iterations", self.max_iterations, "an integer >= 2")
        if not (isinstance(self.max_cutbacks, int) and 0 <= self.max_cutbacks <= 30):
            raise InputError("solver.max_cutbacks", self.max_cutbacks, "an integer in [0, 30]")
        if not self.max_deps_in > 0:
            raise InputError("solver.max_deps_in", self.max_deps_in, "a number > 0")
        if self.step_control not in ("error", "grid"):
            raise InputError("solver.step_control", self.step_control, "error or grid")
        if not (0 < self.tolerance < 1e-2):
            raise InputError("solver.tolerance", self.tolerance, "0 < tolerance < 1e-2")
        if self.integration not in ("auto", "bdf2", "euler"):
            raise InputError("solver.integration", self.integration, "auto, bdf2 or euler")
        if self.modified_newton not in ("auto", "on", "off"):
            raise InputError("solver.modified_newton", self.modified_newton, "auto, on or off")
        if self.condense not in ("auto", "on", "off"):
            raise InputError("solver.condense", self.condense, "auto, on or off")
