"""Everything computed once per model (bases, operators, assembly maps, constraint dofs, the static part of the
tangent), and the per-iteration operations of a Newton increment on top of it: material update, residual,
tangent, linear solve."""
from __future__ import annotations

import time as _time

import numpy as np
import scipy.sparse as sp

from fem_wlp.errors import ConvergenceError
from fem_wlp.fe.assembly import Assembler, constraint_positions
from fem_wlp.fe.contact import STATE_KEY, ContactSet
from fem_wlp.fe.kinematics import (bt, default_intorder, facet_dofs, positive_degree, region_ops, scalar_dofs,
                                  scalar_element, strain)
from fem_wlp.fe.la.linear import LinearSolver
from fem_wlp.fe.problem import Model
from fem_wlp.fe.solver import cost
from fem_wlp.fe.solver.condense import Condensation, partition, worth_it
from fem_wlp.fe.solver.newton import NotConverged
from fem_wlp.fe.solver.settings import SolverSettings

#: modified Newton with contact: a contact status that changed since the factorized tangent enters the
#: back-substitution as a low-rank update (Woodbury: `contact_update`, `resolve`) while the changed points give at
#: most this many columns (nc per point), else the tangent is refactorized. One column costs about 1/170 of a
#: factorization in a multi-right-hand-side PARDISO solve (a 207k-DOF P2 elasticity matrix: factorization 22 s,
#: 64 columns 8.2 s, one 0.46 s), so 60 columns stay under half a factorization even when all are new
MAX_UPDATE_RANK = 60


class Discretization:
    """Everything computed once per model: bases, operators, assembly maps, constraint dofs."""

    def __init__(self, model: Model, settings: SolverSettings | None = None):
        t0 = _time.perf_counter()
        self.model, self.settings = model, settings or SolverSettings()
        mesh = model.mesh.mesh
        self._build_regions(mesh)
        self.nscalar, self.dof_x, sb = scalar_dofs(mesh, self.elem)     # sb: a scikit-fem Basis, or None for P1/Q1
        self.nc = model.ncomp
        self.ndof = self.nscalar * self.nc
        self.gps = model.formulation == "generalized_plane_strain"
        # contact pairs (fe/contact.py): their 2-node blocks join the sparsity pattern; none without contacts
        self.contact = ContactSet(model, self.ops, self.materials) if model.contacts else None
        if self.contact is not None and self.widths is not None:
            _weight_contact(self.contact, self.ops, self.widths, self.nscalar)
        self.asm = Assembler(self.nscalar, self.nc, self.ops + ([self.contact.pattern] if self.contact else []),
                             extra=self.gps)
        self.node_x = mesh.p[:, : mesh.nvertices]
        self._build_constraints(mesh, sb)
        self._build_static()
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
        self.factored_status = None          # contact status of the factorized tangent (contact_status)
        self._factored_blocks = None         # ... and its pairs' stiffness blocks (contact_update)
        self._update = None                  # (points, V, Z = K_f^-1 V) of the low-rank update since then
        self.timing = {"setup_s": _time.perf_counter() - t0, "assembly_s": 0.0, "material_s": 0.0,
                       "solve_s": 0.0, "residual_s": 0.0}
        self.counts = {"assemblies": 0, "newton_iterations": 0, "increments": 0, "cutbacks": 0}

    # -- setup steps ------------------------------------------------------------------------------------------------
    def _build_regions(self, mesh):
        """Scalar element, quadrature order, and per region (named by the model's materials): the material (oriented
        to the model's thickness axis) and the quadrature-point operators."""
        model = self.model
        self.elem = scalar_element(mesh, model.order)
        # (a requested order whose rule has a negative weight is raised to the next with positive weights)
        self.intorder = positive_degree(mesh, model.intorder or default_intorder(mesh, model.order,
                                                                                 model.formulation))
        parts = model.mesh.assign(list(model.materials))
        self.names = list(parts)
        self.materials = []
        for name in self.names:
            mat = model.materials[name]
            self.materials.append(mat.oriented(model.thickness_axis) if hasattr(mat, "oriented") else mat)
        # out-of-plane widths (Model.widths): a per-element weight, None = unit depth (nothing multiplied)
        self.widths = model.element_widths()
        self.ops = [region_ops(mesh, self.elem, parts[n], model.formulation, self.intorder, n,
                               width=None if self.widths is None else self.widths[parts[n]]) for n in self.names]

    def _build_constraints(self, mesh, sb):
        """Each constraint -> (scalar dofs, vector dofs); boundary constraints take every dof of their facets."""
        self.cdofs = []
        for c in self.model.constraints:
            sd = (facet_dofs(mesh, c.facets, sb) if c.facets is not None
                  else np.asarray(c.nodes, dtype=np.int64))
            self.cdofs.append((sd, (sd[None, :] * self.nc + np.array(c.components)[:, None]).ravel()))
        self.asm.set_constraints(np.concatenate([v for _, v in self.cdofs]) if self.cdofs
                                 else np.zeros(0, dtype=np.int64))

    def _build_static(self):
        """Static regions (elastic with constant moduli): assembled once. Under a uniform temperature they are also
        "fast": their internal force is K_s u (+ c_s e_zz) - sum_a s_a(T) g_a with the thermal-strain scalars s_a(T)
        of each normal axis, so no per-iteration material update or quadrature-point residual is needed (stresses
        are recovered once per converged increment for output)."""
        T0 = self.model.temperature.T0
        init = self.model.initial
        activated = set(init.activated) if init is not None else set()
        # an activated region's strain is measured from the starting displacement: not a static K u region
        self.static = {i for i, m in enumerate(self.materials) if m.elastic and m.E.constant
                       and self.names[i] not in activated}
        self.T0 = [self.model.temperature.T0_of(n) for n in self.names]
        self.strain_offset = ({i: strain(self.ops[i], init.u, init.ezz) for i, n in enumerate(self.names)
                               if n in activated} if init is not None else {})
        self.asm.set_static({i: self.materials[i].stiffness(T0) for i in self.static})
        self.fast = self.static if self.model.temperature.field is None else set()
        self.dynamic = [i for i in range(len(self.names)) if i not in self.fast]
        if self.fast:
            self.K_static = self.asm.csr(self.asm._static)     # shares the assembler's static data (never changes)
            self.thermal_vectors = []        # (region, axis, g (ndof,), h = int (D e_a)_zz)
            for i in sorted(self.fast):
                o = self.ops[i]
                D = np.asarray(self.materials[i].stiffness(T0))
                for ax in range(3):
                    g = np.bincount(o.vdofs.ravel(), weights=bt(o, D[:, ax]).ravel(), minlength=self.ndof)
                    self.thermal_vectors.append((i, ax, g, float(D[2, ax] * o.w.sum())))

    # -- per increment and iteration ---------------------------------------------------------------------------------------------------
    def initial_states(self) -> dict:
        given = self.model.initial.states if self.model.initial is not None else {}
        states = {n: given[n] if n in given else m.init_state(o.npoints)
                  for n, m, o in zip(self.names, self.materials, self.ops)}
        if self.contact is not None:          # the contact status is committed with the material states
            states[STATE_KEY] = self.contact.initial_state()
        return states

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

    def evaluate(self, u, ezz, T, states_old, dt, regions=None, history=None):
        """Material update of `regions` (default: all but the fast static ones) at displacement u: stresses,
        tangents and trial states. A material that cannot integrate the increment (its ConvergenceError: a local
        iteration that does not converge, a non-finite result) makes the increment fail like a Newton failure
        (NotConverged: the stepper cuts back).

        history = (states before states_old, omega = dt / previous dt), or None: the rate-dependent regions whose
        material names its integrated variables (`multistep_vars`) are integrated by the variable-step BDF2
        formula instead of backward Euler (`bdf2_update`); the others always by their own (backward Euler)
        update."""
        t0 = _time.perf_counter()
        sig, tan, new = {}, {}, {}
        for i in (self.dynamic if regions is None else regions):
            n, m, o = self.names[i], self.materials[i], self.ops[i]
            eps = strain(o, u, ezz)
            if i in self.strain_offset:                  # activated at the start (model.initial)
                eps = eps - self.strain_offset[i]
            eps_mech = eps - m.thermal_strain(T[n], self.T0[i])
            try:
                prev = history[0].get(n) if history is not None else None
                if prev is not None and multistep(m, states_old[n]):
                    s, D, st = bdf2_update(m, states_old[n], prev, history[1], eps_mech, T[n], dt)
                else:
                    s, D, st = m.update(states_old[n], eps_mech, T[n], dt)
            except ConvergenceError as exc:
                self.timing["material_s"] += _time.perf_counter() - t0
                raise NotConverged(str(exc), {"region": n, "material": {"message": str(exc), **exc.report}}) \
                    from None
            sig[i], tan[i], new[n] = s, D, st
        if self.contact is not None and regions is None:      # contact forces and status (fe/contact.py)
            try:
                new.update(self.contact.evaluate(u, states_old, dt))
            except ConvergenceError as exc:                     # status chattering: cut back like a failure
                raise NotConverged(str(exc), {"region": STATE_KEY, **exc.report}) from None
        self.timing["material_s"] += _time.perf_counter() - t0
        return sig, tan, new

    def condensation(self):
        """The superelement of the static regions (built at the first increment), or None when not used."""
        if self._cond is None:
            self._cond = False
            mode = self.settings.condense
            if mode != "off" and self.fast and self.dynamic and self.linear.name in ("pardiso", "scipy"):
                N, I = partition(self)
                # contact pairs must stay on the reduced set (their stiffness and forces change every iterate);
                # a pair on a condensed dof (an interface of a static region) turns condensation off
                inI = np.zeros(self.ndof, bool)
                inI[I] = True
                paired = self.contact is not None and bool(inI[self.contact.ldofs.ravel()].any())
                if I.size and not paired and (mode == "on" or worth_it(self, N, I)):
                    t0 = _time.perf_counter()
                    # one PARDISO thread for the interior and the reduced system: their factorizations and
                    # solves are short calls, between which OpenMP threads only wake up (benchmarks/README.md)
                    def factory(n):
                        return LinearSolver(self.linear.name, self.model.mesh.mesh.dim(), n, threads=1)

                    self._cond = Condensation(self, N, I, factory)
                    self.linear = factory(self._cond.size)
                    self.timing["setup_s"] += _time.perf_counter() - t0
        return self._cond or None

    def thermal_scalars(self, T) -> dict:
        """Thermal strain (6,) of each fast static region at the (uniform) temperature T."""
        return {i: self.materials[i].thermal_strain(T[self.names[i]][:1], self.T0[i])[:, 0] for i in self.fast}

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
        if self.contact is not None:       # contact forces of the last evaluate (same u)
            fint += self.contact.force
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
        if self.contact is not None:       # contact pair stiffness (on the reduced set, see condensation())
            contribs.append(self.contact.tangent_contribution(self.asm))
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
        and are ordered last -- so a Newton iteration needs one solve instead of the two of a Schur complement.
        The augmented pattern is cached."""
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

    def factored(self, status, factorizations: int) -> None:
        """Record the contact status (and pair blocks) of the tangent just solved with, if the linear solver did
        factorize it (`factorizations`: its count before the solve; a reused factorization keeps its own)."""
        if self.linear.stats["factorizations"] == factorizations:
            return
        self.factored_status = status
        self._factored_blocks = None if self.contact is None else self.contact._blocks.copy()
        self._update = None

    def contact_update(self):
        """The change of the pairs' stiffness since the factorized tangent as a low-rank update (V, Z, C) of the
        factorized system -- K_f + V C V^T is the factorized tangent with the current pairs' stiffness, Z =
        K_f^-1 V -- or None when the changed points give more than MAX_UPDATE_RANK columns, () when no block
        changed. The columns of the points changed at earlier iterates stay (their C block is 0 when they changed
        back), so each point's columns are solved for once per factorization (one multi-right-hand-side
        back-substitution)."""
        c = self.contact
        if c is None or self._factored_blocks is None or c.revisited:
            return None                     # (a status seen before in this increment: a fresh tangent breaks the
                                            # cycle, as before session 8)
        old = self._update[0] if self._update is not None else np.zeros(0, np.int64)
        pts = np.union1d(old, c.changed_points(self._factored_blocks))
        if pts.size * self.nc > MAX_UPDATE_RANK:
            return None
        if pts.size == 0:                   # a status change that leaves every block as it was (an open point's
            return ()                       # stick flag): nothing to update
        new = np.setdiff1d(pts, old)
        if new.size:
            t0 = _time.perf_counter()
            Vn = self._system_columns(c.point_columns(new), new.size * self.nc)
            Zn = self.linear.solve(Vn.toarray())
            Zn = Zn.reshape(-1, new.size * self.nc)
            if self._update is None:
                self._update = (new, Vn, Zn)
            else:
                _, V, Z = self._update
                self._update = (np.concatenate([old, new]), sp.hstack([V, Vn], format="csr"), np.hstack([Z, Zn]))
            self.timing["solve_s"] += _time.perf_counter() - t0
        pts, V, Z = self._update
        return V, Z, c.block_change(pts, self._factored_blocks)

    def _system_columns(self, coo, ncols: int) -> sp.csr_matrix:
        """Columns given on the model's dofs (COO triplets) in the numbering of the factorized system (its size is
        the factorized matrix's): the reduced set of a condensed run (contact dofs always belong to it), else the
        dofs themselves (a bordered matrix's e_zz row stays 0); zero on constrained dofs (their rows and columns of
        the tangent are the identity's)."""
        dofs, cols, vals = coo
        keep = self.asm.free_mask[dofs]
        dofs, cols, vals = dofs[keep], cols[keep], vals[keep]
        cond = self.condensation()
        if cond is not None:
            dofs = cond.gmap[dofs]
        return sp.csr_matrix((vals, (dofs, cols)), shape=(self.linear._K.shape[0], ncols))

    def contact_status(self, trial) -> bytes | None:
        """The contact status (active set and stick/slip of every pair) of a trial state, as a key; None without
        contact. Modified Newton reuses a factorized tangent only while this is unchanged (newton.py)."""
        st = trial.get(STATE_KEY) if self.contact is not None else None
        return None if st is None else np.concatenate([st["active"], st["stick"]]).tobytes()

    def iteration_costs(self):
        """Estimated seconds of a modified-Newton iteration with the factorized tangent and of a fresh tangent
        (cost.IterationCosts: from the sizes of the updated regions, of the factorized matrix and of its factor), or
        None before a direct factorization."""
        factor = self.linear.factor_size if self.linear._factored else None
        if factor is None:
            return None
        regions = [(self.ops[i].npoints, self.ops[i].vdofs.shape[1], self.materials[i].update_cost)
                   for i in self.dynamic]
        return cost.estimate(regions, self.linear._K.nnz, factor)

    def can_resolve(self) -> bool:
        """Whether `resolve` can run: a direct solver holding a factorized tangent."""
        return self.linear.name in ("pardiso", "scipy") and self.linear._factored

    def resolve(self, r, re, update=None):
        """A modified-Newton correction: the last factorized tangent K_f solved for (r, re) (back-substitution
        only); with `update` (V, Z, C from contact_update) the solve is with K_f + V C V^T by the Woodbury identity,
        x = y - Z (I + C V^T Z)^-1 C V^T y, y = K_f^-1 b (exact also for a singular C)."""
        t0 = _time.perf_counter()
        cond = self.condensation()
        solve = self.linear.solve
        if update:
            V, Z, C = update

            def solve(b):
                y = self.linear.solve(b)
                w = np.linalg.solve(np.eye(C.shape[0]) + C @ (V.T @ Z), C @ (V.T @ y))
                return y - Z @ w

            self.counts["contact_updates"] = self.counts.get("contact_updates", 0) + 1
        if cond is not None:
            du, de = cond.expand(solve(cond.reduced(r, re)))
        elif self.gps:                           # direct solvers factorize the bordered matrix
            x = solve(np.append(r, re))
            du, de = x[:-1], float(x[-1])
        else:
            du, de = solve(r), 0.0
        self.counts["resolves"] = self.counts.get("resolves", 0) + 1
        self.timing["solve_s"] += _time.perf_counter() - t0
        return du, de

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

    def worst_region(self, trial, old):
        """The region with the largest equivalent inelastic strain increment of a trial state (a failure report)."""
        best, val = None, -1.0
        for n in self.names:
            if n in trial and "eps_in_eq" in trial[n]:
                inc = trial[n]["eps_in_eq"] - old[n]["eps_in_eq"]
                d = float(np.nanmax(np.abs(inc))) if inc.size else 0.0
                if not np.isfinite(d) or d > val:
                    best, val = n, (np.inf if not np.isfinite(d) else d)
        return best


def multistep(material, state) -> bool:
    """Whether a region may be integrated by BDF2: a rate-dependent material ("rate_in" in its state) that names
    every variable its update integrates in time (`multistep_vars`; a material without the declaration -- e.g.
    rate-independent plasticity -- always takes its own backward-Euler update)."""
    return bool(getattr(material, "multistep_vars", ())) and "rate_in" in state


def bdf2_coefficients(omega: float) -> tuple[float, float, float]:
    """Variable-step BDF2, y_n+1 = a y_n - b y_n-1 + beta dt f(y_n+1), omega = dt_n+1 / dt_n (Hairer, Norsett &
    Wanner, Solving ODEs I, section III.5): a = (1+w)^2/(1+2w), b = w^2/(1+2w), beta = (1+w)/(1+2w). omega = 0 is
    backward Euler (1, 0, 1)."""
    w = float(omega)
    return (1 + w) ** 2 / (1 + 2 * w), w * w / (1 + 2 * w), (1 + w) / (1 + 2 * w)


def bdf2_update(material, old, prev, omega, eps_mech, T, dt):
    """One BDF2 step of a material whose `update` is backward Euler: BDF2 is backward Euler from the extrapolated
    history y* = a y_n - b y_n-1 (each integrated variable of `multistep_vars`) over beta dt, so the material's own
    return map and consistent tangent apply unchanged (y* is fixed within the increment). The accumulated
    quantities are then re-based on the committed state y_n: eps_in_eq += sqrt(2/3) |d eps_in|, w_in += (sigma_n +
    sigma_n+1)/2 : d eps_in with d eps_in = eps_in_n+1 - eps_in_n (not - y*); "rate_in" = (y_n+1 - y*) / (beta dt)
    is the rate at the end of the increment, as for backward Euler. Should an extrapolated positive variable (Anand's
    s) not stay positive, the region takes a backward-Euler step instead."""
    a, b, beta = bdf2_coefficients(omega)
    hist = dict(old)
    for v in material.multistep_vars:
        x = a * old[v] - b * prev[v]
        if v != "eps_in" and np.all(old[v] > 0) and not np.all(x > 0):
            return material.update(old, eps_mech, T, dt)
        hist[v] = x
    sig, D, st = material.update(hist, eps_mech, T, beta * dt)
    d = st["eps_in"] - old["eps_in"]
    st["eps_in_eq"] = old["eps_in_eq"] + np.sqrt(2.0 / 3.0) * np.sqrt(np.einsum("in,in->n", d, d))
    st["w_in"] = old["w_in"] + 0.5 * np.einsum("in,in->n", old["stress"] + sig, d)
    return sig, D, st


def _weight_contact(contact: ContactSet, ops, widths: np.ndarray, nscalar: int) -> None:
    """Out-of-plane widths at an unbonded interface: each contact point's area (and with it its penalty
    stiffness, which is proportional to the area) is multiplied by the width of the narrower side. The two sides
    of a split interface are different regions; where a body of width t_a presses on one of width t_b > t_a (a
    narrow ridge on a continuous layer), the contact area per unit model depth is t_a -- so the reported pressure
    is force / real area, not force per unit depth. A node is as wide as the widest element it belongs to, a
    facet side as its narrowest node. (Without this the penalty would be 1/t_a too stiff against the narrow side
    and the reported pressure t_a times the real one; the equilibrium is the same.)"""
    wd = np.zeros(nscalar)
    for o in ops:
        np.maximum.at(wd, o.sdofs, np.broadcast_to(widths[o.elements][:, None], o.sdofs.shape))
    nq = contact.area.size // contact.fa.shape[0]
    side = np.minimum(wd[contact.fa].min(axis=1), wd[contact.fb].min(axis=1))      # (nf,)
    factor = np.repeat(side, nq)
    contact.area = contact.area * factor
    contact.k = contact.k * factor
