"""Incremental Newton solution over a time grid, yielding converged frames.

Per increment t_n -> t_{n+1}: every region's material integrates from its last *converged* state; stresses give
the residual, consistent tangents the Newton matrix. Only regions whose tangent changed are re-assembled:
elastic regions with constant moduli once per run, elastic regions with E(T) once per increment, inelastic
regions every iteration. After convergence the new state is committed and a `Frame` is yielded; on failure the
trial state is discarded and the increment is cut back. When even the smallest increment fails, a
`ConvergenceError` carries a report (time, region, last residuals); frames already yielded are final.
"""
from __future__ import annotations

import time as _time
from dataclasses import dataclass, field

import numpy as np

from fem_wlp.fe.assembly import Assembler, constraint_positions
from fem_wlp.errors import ConvergenceError, InputError
from fem_wlp.fe.kinematics import bt, default_intorder, facet_dofs, region_ops, scalar_dofs, scalar_element, strain
from fem_wlp.fe.la.linear import LinearSolver
from fem_wlp.fe.problem import Model


@dataclass(frozen=True)
class SolverSettings:
    """Numerics, apart from the problem: tolerances, step control, linear solver."""

    linear_solver: str = "auto"       # auto | direct | pardiso | scipy | amg
    rtol: float = 1e-5                # residual norm / max(internal-force norm, the increment's first residual).
                                      # Measured effect on dW against rtol 1e-8: flagship slice (1 cycle)
                                      # <= 1e-5 relative, 3D joint study at 20 °C steps <= 1.5e-4, with 25-30 %
                                      # fewer Newton iterations (1e-4 saved another 20 % but moved the 3D dW by
                                      # 1.3e-3). Verification tests set their own (1e-8..1e-10).
    max_iterations: int = 25
    max_cutbacks: int = 10            # smallest step = grid step / 2**max_cutbacks
    max_deps_in: float = 5e-3         # equivalent inelastic strain increment per step (reject above 2x)
    growth: float = 1.5               # step growth after easy increments
    predictor: bool = True            # extrapolate the displacement increment of the previous step
    reuse_factorization: bool = False  # keep a factorization as CG preconditioner for later tangents (pays
                                       # off when only a small, mildly nonlinear part of the model changes)
    condense: str = "auto"            # static condensation of the constant elastic regions (fem_wlp/condense.py):
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
        if self.condense not in ("auto", "on", "off"):
            raise InputError("solver.condense", self.condense, "auto, on or off")


class Frame:
    """A converged increment: time, displacements u (node*ncomp + c), e_zz (generalized plane strain, else 0),
    committed material states per region, temperatures at the quadrature points, Newton record.

    In a run with condensed elastic regions (fem_wlp/condense.py) the interior displacements and the stresses of
    the condensed regions are completed on the first access of `u` or `states` (one solve with the interior
    factor and one elastic update): a consumer that reads only the solder pays nothing for them."""

    def __init__(self, index: int, time: float, dt: float, u: np.ndarray, ezz: float, states: dict,
                 temperature: dict, iterations: int, residuals: list, cutbacks: int = 0, complete=None):
        self.index, self.time, self.dt, self.ezz = index, time, dt, ezz
        self.temperature, self.iterations, self.residuals, self.cutbacks = temperature, iterations, residuals, cutbacks
        self._u, self._states, self._complete = u, states, complete

    def _finish(self):
        if self._complete is not None:
            self._u, self._states = self._complete(self._u, self._states)
            self._complete = None

    @property
    def u(self) -> np.ndarray:
        self._finish()
        return self._u

    @property
    def states(self) -> dict:
        self._finish()
        return self._states

    def state(self, region: str) -> dict:
        """One region's state; completes the frame only when the region was condensed."""
        if self._complete is not None and region in self._states:
            return self._states[region]
        return self.states[region]


class NotConverged(Exception):
    def __init__(self, message, report):
        super().__init__(message)
        self.report = report


class Discretization:
    """Everything computed once per model: bases, operators, assembly maps, constraint dofs."""

    def __init__(self, model: Model, settings: SolverSettings | None = None):
        t0 = _time.perf_counter()
        self.model, self.settings = model, settings or SolverSettings()
        mesh = model.mesh.mesh
        self.elem = scalar_element(mesh, model.order)
        self.intorder = model.intorder or default_intorder(mesh, model.order, model.formulation)
        parts = model.mesh.assign(list(model.materials))
        self.names = list(parts)
        self.materials = []
        for name in self.names:
            mat = model.materials[name]
            self.materials.append(mat.oriented(model.thickness_axis) if hasattr(mat, "oriented") else mat)
        self.ops = [region_ops(mesh, self.elem, parts[n], model.formulation, self.intorder, n) for n in self.names]
        self.nscalar, self.dof_x, sb = scalar_dofs(mesh, self.elem)     # sb: a scikit-fem Basis, or None for P1/Q1
        self.nc = model.ncomp
        self.ndof = self.nscalar * self.nc
        self.gps = model.formulation == "generalized_plane_strain"
        self.asm = Assembler(self.nscalar, self.nc, self.ops, extra=self.gps)
        self.node_x = mesh.p[:, : mesh.nvertices]
        # each constraint -> (scalar dofs, vector dofs); boundary constraints take every dof of their facets
        self.cdofs = []
        for c in model.constraints:
            sd = (facet_dofs(mesh, c.facets, sb) if c.facets is not None
                  else np.asarray(c.nodes, dtype=np.int64))
            self.cdofs.append((sd, (sd[None, :] * self.nc + np.array(c.components)[:, None]).ravel()))
        self.asm.set_constraints(np.concatenate([v for _, v in self.cdofs]) if self.cdofs
                                 else np.zeros(0, dtype=np.int64))
        # static regions: elastic with constant moduli
        self.static = {i for i, m in enumerate(self.materials) if m.elastic and m.E.constant}
        self.asm.set_static({i: self.materials[i].stiffness(model.temperature.T0) for i in self.static})
        # Fast path for constant-stiffness elastic regions under a uniform temperature: their internal force is
        # K_s u (+ c_s e_zz) - sum_a s_a(T) g_a with the thermal-strain scalars s_a(T) of each normal axis, so no
        # per-iteration material update or quadrature-point residual is needed (stresses are recovered once per
        # converged increment for output).
        self.fast = self.static if model.temperature.field is None else set()
        self.dynamic = [i for i in range(len(self.names)) if i not in self.fast]
        if self.fast:
            self.K_static = self.asm.csr(self.asm._static)     # shares the assembler's static data (never changes)
            self.thermal_vectors = []        # (region, axis, g (ndof,), h = int (D e_a)_zz)
            for i in sorted(self.fast):
                o = self.ops[i]
                D = np.asarray(self.materials[i].stiffness(model.temperature.T0))
                for ax in range(3):
                    g = np.bincount(o.vdofs.ravel(), weights=bt(o, D[:, ax]).ravel(), minlength=self.ndof)
                    self.thermal_vectors.append((i, ax, g, float(D[2, ax] * o.w.sum())))
        # iterative solves (AMG-CG, CG on a reused factorization) stop at a relative residual of 1e-8 (max |u| within
        # ~1e-10 of the direct solution on the 3D benchmark box) or half the Newton tolerance if that is tighter:
        # the Newton residual after the update is the linear residual, so a linear problem needs one iteration
        self.linear = LinearSolver(self.settings.linear_solver, mesh.dim(), self.ndof, coords=self.dof_x,
                                   nc=self.nc, rtol=min(1e-8, 0.5 * self.settings.rtol),
                                   reuse=self.settings.reuse_factorization)
        Emax = max(float(np.max(m.E.v)) for m in self.materials)
        vol = sum(o.volume for o in self.ops)
        self.force_floor = 1e-12 * Emax * vol ** ((mesh.dim() - 1) / mesh.dim())
        self._cache: dict[int, tuple] = {}
        self._cond = None
        self._fast_base = None
        self._border = None
        self.timing = {"setup_s": _time.perf_counter() - t0, "assembly_s": 0.0, "material_s": 0.0,
                       "solve_s": 0.0, "residual_s": 0.0}
        self.counts = {"assemblies": 0, "newton_iterations": 0, "increments": 0, "cutbacks": 0}

    # -- helpers ---------------------------------------------------------------------------------------------------
    def initial_states(self) -> dict:
        return {n: m.init_state(o.npoints) for n, m, o in zip(self.names, self.materials, self.ops)}

    def temperatures(self, t: float) -> dict:
        return {n: self.model.temperature.at(t, o.x).reshape(-1) for n, o in zip(self.names, self.ops)}

    def prescribed(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        dofs, vals = [], []
        for c, (sd, d) in zip(self.model.constraints, self.cdofs):
            if c.value is None:
                v = np.zeros(d.size)
            else:
                v = np.broadcast_to(np.asarray(c.value(t, self.dof_x[:, sd]), float),
                                    (len(c.components), sd.size)).ravel()
            dofs.append(d)
            vals.append(v)
        if not dofs:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return np.concatenate(dofs), np.concatenate(vals)

    def evaluate(self, u, ezz, T, states_old, dt, regions=None):
        """Material update of `regions` (default: all but the fast static ones) at displacement u: stresses,
        tangents and trial states."""
        t0 = _time.perf_counter()
        sig, tan, new = {}, {}, {}
        T0 = self.model.temperature.T0
        for i in (self.dynamic if regions is None else regions):
            n, m, o = self.names[i], self.materials[i], self.ops[i]
            eps = strain(o, u, ezz)
            eps_mech = eps - m.thermal_strain(T[n], T0)
            s, D, st = m.update(states_old[n], eps_mech, T[n], dt)
            sig[i], tan[i], new[n] = s, D, st
        self.timing["material_s"] += _time.perf_counter() - t0
        return sig, tan, new

    def condensation(self):
        """The superelement of the static regions (built at the first increment), or None when not used."""
        if self._cond is None:
            self._cond = False
            mode = self.settings.condense
            if (mode != "off" and self.fast and self.dynamic and self.linear.name in ("pardiso", "scipy")):
                from fem_wlp.fe.solver import condense

                N, I = condense.partition(self)
                if I.size and (mode == "on" or condense.worth_it(self, N, I)):
                    t0 = _time.perf_counter()
                    # one PARDISO thread for the interior and the reduced system: measured on the 44k-DOF
                    # benchmark (2 cores), 549 reduced factorizations 4.3 s on 1 thread vs 8.0-9.4 s on 2, and
                    # 297 interior recoveries 15 vs 27 ms each (OpenMP wake-ups between short calls)
                    factory = lambda n: LinearSolver(self.linear.name, self.model.mesh.mesh.dim(), n, threads=1)
                    self._cond = condense.Condensation(self, N, I, factory)
                    self.linear = factory(self._cond.size)
                    self.timing["setup_s"] += _time.perf_counter() - t0
        return self._cond or None

    def thermal_scalars(self, T) -> dict:
        """Thermal strain (6,) of each fast static region at the (uniform) temperature T."""
        T0 = self.model.temperature.T0
        return {i: self.materials[i].thermal_strain(T[self.names[i]][:1], T0)[:, 0] for i in self.fast}

    def static_force(self, u, ezz, T):
        """Internal force (and GPS out-of-plane resultant) of the fast static regions."""
        cond = self.condensation()
        if cond is not None:
            return cond.static_force(u, ezz, self.thermal_scalars(T))
        f = self.K_static @ u
        fzz = 0.0
        if self.gps:
            f += ezz * self.asm._static_coupling
            fzz = float(self.asm._static_coupling @ u + self.asm._static_kee * ezz)
        eth = self.thermal_scalars(T)
        for i, ax, g, h in self.thermal_vectors:
            f -= eth[i][ax] * g
            fzz -= eth[i][ax] * h
        return f, fzz

    def residual(self, sig, prescribed_dofs, u=None, ezz=0.0, T=None):
        t0 = _time.perf_counter()
        fint, fzz = self.asm.internal_force(sig)
        if self.fast:
            fs, fzzs = self.static_force(u, ezz, T)
            fint += fs
            fzz += fzzs
        r = -fint
        r[prescribed_dofs] = 0.0
        scale = max(np.linalg.norm(fint), self.force_floor)
        re = -fzz
        self.timing["residual_s"] += _time.perf_counter() - t0
        return r, re, scale

    def tangent(self, tan, t_key):
        t0 = _time.perf_counter()
        cond = self.condensation()
        out = cond.buffer() if cond is not None else None   # condensed: accumulate in place (touched entries)
        contribs = []
        for i, D in tan.items():
            if i in self.static:
                continue
            m = self.materials[i]
            if m.elastic:                          # E(T): once per increment
                hit = self._cache.get(i)
                if hit is None or hit[0] != t_key:
                    hit = (t_key, self.asm.contribution(i, D))
                    self._cache[i] = hit
                contribs.append(hit[1])
            else:
                d, c_, k_ = self.asm.contribution(i, D, out=out)
                contribs.append((None if out is not None else d, c_, k_))
        if cond is not None:
            K, c, kee = cond.tangent(contribs), None, None      # reduced (superelement) tangent
        elif self.gps and self.linear.name in ("pardiso", "scipy"):
            K, c, kee = self.bordered_matrix(*self.asm.matrix(contribs)), None, None  # e_zz: K's last unknown
        else:
            K, c, kee = self.asm.matrix(contribs)
            self.asm.apply_constraints(K)
            if c is not None:
                c = c.copy()
                c[self.asm.constrained] = 0.0
        self.counts["assemblies"] += 1
        self.timing["assembly_s"] += _time.perf_counter() - t0
        return K, c, kee

    def bordered_matrix(self, K, c, kee):
        """Generalized plane strain: the tangent bordered by the e_zz unknown, [[K, c], [c^T, k_ee]], as one
        (ndof+1)-square CSR matrix with the constraints applied (e_zz is the last unknown).

        A direct solver factorizes it as it is -- the dense last row and column add ndof entries to the factor
        and are ordered last -- so a Newton iteration needs one solve instead of the two of a Schur complement
        (measured, 44k-DOF Q2: factor + solve 51 ms instead of 66 ms). The augmented pattern is cached."""
        n, nnz = self.ndof, K.nnz
        if self._border is None:
            indptr0 = self.asm.csr_indptr
            rowlen = np.diff(indptr0)
            indptr = np.concatenate([[0], np.cumsum(rowlen + 1), [nnz + 2 * n + 1]])
            pos_K = np.arange(nnz) + np.repeat(np.arange(n), rowlen)     # K's entries, shifted by one per row
            pos_c = indptr0[1:] + np.arange(n)                            # the last entry of each row: c_i
            indices = np.empty(nnz + 2 * n + 1, dtype=np.int64)
            indices[pos_K], indices[pos_c], indices[nnz + n:] = self.asm.csr_indices, n, np.arange(n + 1)
            perm = np.empty(nnz + 2 * n + 1, dtype=np.int64)              # from [K.data, c, k_ee] to CSR order
            perm[pos_K], perm[pos_c] = np.arange(nnz), nnz + np.arange(n)
            perm[nnz + n: nnz + 2 * n], perm[-1] = nnz + np.arange(n), nnz + n
            zero_pos, diag_pos = constraint_positions(indptr, indices, np.append(~self.asm.free_mask, False))
            self._border = (perm, indices, indptr, zero_pos, diag_pos)
        perm, indices, indptr, zero_pos, diag_pos = self._border
        data = np.concatenate([K.data, c, [kee]])[perm]
        data[zero_pos] = 0.0
        data[diag_pos] = 1.0
        import scipy.sparse as sp

        return sp.csr_matrix((data, indices, indptr), shape=(n + 1, n + 1))

    def linear_solve(self, K, c, kee, r, re):
        t0 = _time.perf_counter()
        cond = self.condensation()
        if cond is not None:
            du, de = cond.expand(self.linear.solve_reuse(K, cond.reduced(r, re)))
        elif K.shape[0] == self.ndof + 1:        # generalized plane strain, bordered matrix (direct solvers)
            x = self.linear.solve_reuse(K, np.append(r, re))
            du, de = x[:-1], float(x[-1])
        elif c is None:
            du, de = self.linear.solve_reuse(K, r), 0.0
        else:   # iterative solver: bordered system [[K, c], [c^T, kee]] by the Schur complement
            x = self.linear.solve_reuse(K, np.column_stack([r, c]))
            x1, x2 = x[:, 0], x[:, 1]
            de = (re - c @ x1) / (kee - c @ x2)
            du = x1 - x2 * de
        self.timing["solve_s"] += _time.perf_counter() - t0
        return du, de

    # -- one increment -----------------------------------------------------------------------------------------------
    def increment(self, t_old, t_new, u_old, ezz_old, states_old, du_pred=None, de_pred=0.0):
        s = self.settings
        dt = t_new - t_old
        T = self.temperatures(t_new)
        pdofs, pvals = self.prescribed(t_new)
        u = u_old.copy()
        ezz = ezz_old
        if du_pred is not None:
            u += du_pred
            ezz += de_pred
        u[pdofs] = pvals
        residuals = []
        trial = {}
        r0 = 0.0                 # the increment's initial residual: the load this increment applies
        for it in range(s.max_iterations + 1):
            sig, tan, trial = self.evaluate(u, ezz, T, states_old, dt)
            r, re, scale = self.residual(sig, pdofs, u, ezz, T)
            if it == 0:
                r0, re0 = np.linalg.norm(r), abs(re)
            scale = max(scale, r0)
            if self.gps:
                gscale = max(sum(float((np.abs(sg[2]).reshape(self.ops[i].w.shape) * self.ops[i].w).sum())
                                 for i, sg in sig.items()), self.force_floor, re0)
                rel = max(np.linalg.norm(r) / scale, abs(re) / gscale)
            else:
                rel = np.linalg.norm(r) / scale
            residuals.append(float(rel))
            if not np.isfinite(rel):
                break
            if rel <= s.rtol:
                self.counts["newton_iterations"] += it
                if self.fast and self.condensation() is None:   # stresses of the fast static regions
                    trial.update(self.evaluate(u, ezz, T, states_old, dt, regions=sorted(self.fast))[2])
                return u, ezz, trial, T, it, residuals
            if it == s.max_iterations or (it >= 3 and rel > 1e3 * residuals[0]):
                break
            K, c, kee = self.tangent(tan, t_new)
            du, de = self.linear_solve(K, c, kee, r, re)
            u += du
            ezz += de
        worst = self._worst_region(trial, states_old)
        raise NotConverged(f"Newton did not converge at t = {t_new:g} s",
                           {"time_s": t_new, "dt_s": dt, "residuals": residuals, "region": worst})

    def completion(self, ezz, T, dt):
        """For a condensed run: the function that completes a frame (interior displacements recovered with the
        interior factor, stresses of the condensed regions), or None."""
        cond = self.condensation()
        if cond is None:
            return None

        def complete(u, states):
            t0 = _time.perf_counter()
            u = cond.recover(u, ezz, self.thermal_scalars(T))
            self.timing["solve_s"] += _time.perf_counter() - t0
            base = self._fast_base or self.initial_states()
            self._fast_base = base
            return u, {**states, **self.evaluate(u, ezz, T, base, dt, regions=sorted(self.fast))[2]}

        return complete

    def _worst_region(self, trial, old):
        best, val = None, -1.0
        for n in self.names:
            if n in trial and "eps_in_eq" in trial[n]:
                d = float(np.nanmax(np.abs(trial[n]["eps_in_eq"] - old[n]["eps_in_eq"]))) if trial[n]["eps_in_eq"].size else 0.0
                if not np.isfinite(d) or d > val:
                    best, val = n, (np.inf if not np.isfinite(d) else d)
        return best


def run(model: Model, times, settings: SolverSettings | None = None, disc: Discretization | None = None):
    """Solve over the time grid `times` (every grid time is hit); yields a Frame per converged increment.

    Frame 0 is the initial state at times[0]. Increments are cut back (halved) on Newton failure or when the
    equivalent inelastic strain increment exceeds 2x settings.max_deps_in, and grow again after easy increments.
    """
    disc = disc or Discretization(model, settings)
    s = disc.settings
    times = np.asarray(times, float)
    if times.ndim != 1 or times.size < 2 or np.any(np.diff(times) <= 0):
        raise InputError("times", times.tolist()[:5], "an increasing time grid with at least two times")
    u = np.zeros(disc.ndof)
    ezz = 0.0
    states = disc.initial_states()
    T = disc.temperatures(times[0])
    yield Frame(0, float(times[0]), 0.0, u.copy(), ezz, states, T, 0, [])
    k = 0
    du_prev, de_prev, dt_prev = None, 0.0, None
    corners = sorted(set(model.temperature.corners).union(*[set(c.corners) for c in model.constraints]))
    for ta, tb in zip(times[:-1], times[1:]):
        t = ta
        h = tb - ta
        hmin = (tb - ta) / 2 ** s.max_cutbacks
        cut = 0
        while t < tb - 1e-12 * (tb - ta):
            t_new = min(t + h, tb)
            if tb - t_new < 1e-6 * (tb - ta):
                t_new = tb
            dt = t_new - t
            # predictor: extrapolate the last increment with the factor capped at 1 (a fast load step followed by
            # a long hold must not be extrapolated 1e8 times), and not across a load corner (the rate changes)
            pred, fac = None, 0.0
            at_corner = any(abs(t - c) <= 1e-9 * max(1.0, abs(c)) for c in corners)
            if s.predictor and du_prev is not None and dt_prev and not at_corner:
                fac = min(dt / dt_prev, 1.0)
                pred = du_prev * fac
            try:
                u_new, ezz_new, trial, T, its, res = disc.increment(t, t_new, u, ezz, states, pred, de_prev * fac)
                deps = max((float(np.max(trial[n]["eps_in_eq"] - states[n]["eps_in_eq"], initial=0.0))
                            for n in disc.names if n in trial), default=0.0)
                if deps > 2 * s.max_deps_in and dt > hmin * 1.0001:
                    raise NotConverged("inelastic strain increment too large",
                                       {"time_s": t_new, "deps_in": deps, "residuals": res})
            except NotConverged as exc:
                if dt <= hmin * 1.0001:
                    rep = dict(exc.report)
                    rep.update({"newton": str(exc), "last_converged_time_s": t, "smallest_dt_s": dt})
                    raise ConvergenceError(
                        f"no convergence at t = {t_new:g} s even with dt = {dt:.3g} s"
                        + (f" (region {rep.get('region')})" if rep.get("region") else "")
                        + f"; last residuals {['%.2e' % x for x in rep.get('residuals', [])[-4:]]}", rep) from None
                h = dt / 2
                cut += 1
                disc.counts["cutbacks"] += 1
                continue
            du_prev, de_prev, dt_prev = u_new - u, ezz_new - ezz, dt
            u, ezz, states, t = u_new, ezz_new, trial, t_new
            k += 1
            disc.counts["increments"] += 1
            yield Frame(k, t, dt, u.copy(), ezz, states, T, its, res, cut, complete=disc.completion(ezz, T, dt))
            cut = 0
            if its <= 4 and deps <= s.max_deps_in:
                h = min(h * s.growth, tb - ta)
            elif deps > s.max_deps_in:
                h = max(h * s.max_deps_in / deps, hmin)
