"""What the operations of a Newton iteration cost, estimated from the model's sizes: the figures modified Newton
weighs when it chooses between a stale and a fresh tangent (`newton.stale_pays`).

The estimates are operation counts times fixed per-operation constants, not the run's own clock: with the
clock (session 10) the choice depended on the machine's load, so that the same study took different Newton paths
-- two back-to-back flagship runs took 1837 and 1605 iterations and agreed only to ~1e-6 (benchmarks/README.md,
session 11). Now the same study takes the same path on any machine and under any load; what a wrong constant
costs is speed (a tangent kept a little too long or refreshed a little too early), never a result.

    a stale iteration   = back-substitution + material update + residual
    a fresh tangent     = tangent assembly + factorization

    back-substitution   = SOLVE_PER_CALL + SOLVE_PER_ENTRY * (entries of the factor)
    factorization       = FACTOR_PER_FLOP * (its flops) + FACTOR_PER_ENTRY * (entries of the factor)
    material update     = sum over the updated regions of points * material.update_cost (materials/)
    residual            = RESIDUAL_PER_CALL + RESIDUAL_PER_POINT_DOF * sum of points * element dofs
    tangent assembly    = TANGENT_PER_ENTRY * (entries of the assembled matrix)

The constants are seconds on one thread of the development machine (2 cores, under a load of ~5), fitted to the
operations timed in a run of a 2D slice (flagship embossed case, 23,556 DOF, linear triangles) and of a 3D
quadratic joint with contact (joint3d, 173,010 DOF, 10-node tetrahedra), each operation wrapped with a timer in
a one-thread run (session 12; the numbers are below, there is no benchmark script for them yet). Only their
ratios enter the choice.
"""
from __future__ import annotations

from dataclasses import dataclass

# -- linear solver (PARDISO, one thread): fitted to 2D 5.7e7 flops / 8.8e5 factor entries, factorization 0.084 s,
#    back-substitution 0.030 s, and 3D 2.18e11 flops / 1.17e8 entries, 32.8 s and 1.33 s
FACTOR_PER_FLOP = 1.0e-10
FACTOR_PER_ENTRY = 9.0e-8
SOLVE_PER_ENTRY = 1.1e-8
SOLVE_PER_CALL = 2.0e-2
# -- residual (internal force of the updated regions, the static regions' force, contact forces): 2D 0.010 s at
#    9.8e4 point-dofs, 3D 0.099 s at 3.0e6
RESIDUAL_PER_CALL = 7.0e-3
RESIDUAL_PER_POINT_DOF = 3.1e-8
# -- tangent assembly (element matrices, their sum into the CSR pattern, constraints): 2D 0.048 s for 3.2e5
#    matrix entries, 3D 2.1 s for 1.39e7 -- the CSR sum dominates both
TANGENT_PER_ENTRY = 1.5e-7


@dataclass(frozen=True)
class IterationCosts:
    """Estimated seconds of a stale iteration and of a fresh tangent (`estimate`)."""

    iteration: float      # back-substitution + material update + residual
    refresh: float        # tangent assembly + factorization


def estimate(points_dofs: list[tuple[int, int, float]], matrix_entries: int, factor: dict) -> IterationCosts:
    """The costs of a model whose updated regions have (points, element dofs, material update cost per point)
    `points_dofs`, whose assembled tangent has `matrix_entries` entries, and whose factorization is `factor`
    ({"flops", "entries"}: LinearSolver.factor_size)."""
    solve = SOLVE_PER_CALL + SOLVE_PER_ENTRY * factor["entries"]
    material = sum(n * cost for n, _, cost in points_dofs)
    residual = RESIDUAL_PER_CALL + RESIDUAL_PER_POINT_DOF * sum(n * nloc for n, nloc, _ in points_dofs)
    factorization = FACTOR_PER_FLOP * factor["flops"] + FACTOR_PER_ENTRY * factor["entries"]
    return IterationCosts(iteration=solve + material + residual,
                          refresh=TANGENT_PER_ENTRY * matrix_entries + factorization)
