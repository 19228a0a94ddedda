"""Nonlinear quasi-static solution: settings, the discretization of a model, the Newton increment, time stepping
(yielding converged frames) and the static condensation of the constant elastic regions."""
from fem_wlp.fe.solver.discretization import Discretization
from fem_wlp.fe.solver.settings import SolverSettings
from fem_wlp.fe.solver.stepping import Frame, run

__all__ = ["Discretization", "Frame", "SolverSettings", "run"]
