"""The OPLS-AA energy of (parts of) molecules in PyTorch, as GROMACS defines each term.

Terms (GROMACS function types in brackets), all in kJ/mol with lengths in nm:

- bonds [1]: :math:`\\tfrac12 k_b (b - b_0)^2`
- angles [1]: :math:`\\tfrac12 k_\\theta (\\theta - \\theta_0)^2`
- proper dihedrals, Ryckaert-Bellemans [3]: :math:`\\sum_{n=0}^5 C_n \\cos^n\\psi`, :math:`\\psi = \\phi - 180^\\circ`
- impropers, periodic [1]: :math:`k (1 + \\cos(n\\phi - \\phi_s))`
- Lennard-Jones: :math:`4\\epsilon_{ij} [(\\sigma_{ij}/r)^{12} - (\\sigma_{ij}/r)^6]` with geometric
  combination (OPLS), 1-2 and 1-3 pairs excluded, 1-4 pairs scaled by ``fudge_lj`` and never cut off
  ("LJ-14"), all other pairs cut off at ``cutoff`` without shift ("LJ (SR)")
- Coulomb (optional), reaction field with :math:`\\epsilon_{rf} = \\infty`,
  :math:`f q_i q_j (1/r + k_{rf} r^2 - c_{rf})`, :math:`k_{rf} = 1/2r_c^3`, :math:`c_{rf} = 3/2r_c`,
  for non-excluded pairs, the :math:`1/r`-free part for excluded pairs inside the cut-off (as
  GROMACS' Verlet scheme does) and plain Coulomb scaled by ``fudge_qq`` for 1-4 pairs.

For the generator's energy prior, the pair potentials continue linearly below ``r_min``: the
force stays finite and still pushes overlapping atoms apart. With ``r_min = 0`` the terms are
exactly GROMACS' (the tests compare them with ``gmx mdrun -rerun``).
"""

import numpy as np
import torch

from ...geometry.pbc import minimum_image

#: GROMACS' electric conversion factor 1 / (4 pi eps0), kJ mol^-1 nm e^-2.
ONE_4PI_EPS0 = 138.935458

TERMS = ("Bond", "Angle", "Ryckaert-Bell.", "Improper", "LJ-14", "LJ (SR)", "Coulomb-14", "Coulomb (SR)")


def bond_energy(xi, xj, b0, kb):
    """Harmonic bonds. ``xi``, ``xj`` (..., 3) nm -> (...) kJ/mol."""
    return 0.5 * kb * (torch.linalg.norm(xj - xi, dim=-1) - b0) ** 2


def angle(xi, xj, xk):
    """Angle i-j-k in radians, (...). atan2 keeps the gradient finite at 0 and pi."""
    a, b = xi - xj, xk - xj
    return torch.atan2(torch.linalg.norm(torch.linalg.cross(a, b, dim=-1), dim=-1), (a * b).sum(-1))


def angle_energy(xi, xj, xk, theta0, k):
    """Harmonic angles; ``theta0`` in radians, ``k`` kJ/mol/rad^2."""
    return 0.5 * k * (angle(xi, xj, xk) - theta0) ** 2


def dihedral(xi, xj, xk, xl):
    """Dihedral angle i-j-k-l in radians, IUPAC convention (cis = 0, trans = pi), (...)."""
    b1, b2, b3 = xj - xi, xk - xj, xl - xk
    m = torch.linalg.cross(b1, b2, dim=-1)
    n = torch.linalg.cross(b2, b3, dim=-1)
    y = torch.linalg.norm(b2, dim=-1) * (b1 * n).sum(-1)
    return torch.atan2(y, (m * n).sum(-1))


def rb_energy(phi, c):
    """Ryckaert-Bellemans: ``phi`` (...) radians, ``c`` (..., 6) kJ/mol; :math:`\\psi = \\phi - \\pi`."""
    cpsi = -torch.cos(phi)
    powers = torch.stack([cpsi**n for n in range(6)], dim=-1)
    return (c * powers).sum(-1)


def periodic_energy(phi, phi_s, k, mult):
    """Periodic dihedral :math:`k(1 + \\cos(n\\phi - \\phi_s))`; angles in radians."""
    return k * (1.0 + torch.cos(mult * phi - phi_s))


def lj_energy(r, sigma, eps, r_min=0.0):
    """12-6 Lennard-Jones, continued linearly below ``r_min`` (nm). All arguments broadcast."""
    if r_min > 0:
        rr = torch.clamp(r, min=r_min)
    else:
        rr = r
    s6 = (sigma / rr) ** 6
    e = 4.0 * eps * (s6 * s6 - s6)
    if r_min > 0:
        s6m = (sigma / r_min) ** 6
        slope = 4.0 * eps * (-12.0 * s6m * s6m + 6.0 * s6m) / r_min
        e = e + torch.where(r < r_min, slope * (r - r_min), torch.zeros_like(r))
    return e


def coulomb_rf_energy(r, qq, cutoff, r_min=0.0):
    """Reaction-field Coulomb with :math:`\\epsilon_{rf}=\\infty`, zero at the cut-off."""
    rr = torch.clamp(r, min=r_min) if r_min > 0 else r
    k_rf = 0.5 / cutoff**3
    c_rf = 1.0 / cutoff + k_rf * cutoff**2
    return ONE_4PI_EPS0 * qq * (1.0 / rr + k_rf * rr**2 - c_rf)


class ForceField(torch.nn.Module):
    """The OPLS-AA force field of one molecule as tensors (buffers move with the module).

    Parameters
    ----------
    spec : cgbench.backmap.dbm.molecule.MoleculeSpec
    cutoff : float, nm
        Cut-off of the short-range pair terms.
    r_min : float, nm
        Below this distance pair potentials continue linearly (0 disables).
    coulomb : bool
        Include reaction-field Coulomb terms.
    """

    def __init__(self, spec, cutoff=1.0, r_min=0.0, coulomb=False):
        super().__init__()
        self.cutoff, self.r_min, self.coulomb = float(cutoff), float(r_min), bool(coulomb)
        self.fudge_lj, self.fudge_qq = float(spec.fudge_lj), float(spec.fudge_qq)
        f32 = lambda a: torch.as_tensor(np.asarray(a, dtype=float), dtype=torch.float32)
        i64 = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.long)
        self.register_buffer("bonds", i64(spec.bonds))
        self.register_buffer("b0", f32(spec.bond_params[:, 0]))
        self.register_buffer("kb", f32(spec.bond_params[:, 1]))
        self.register_buffer("angles", i64(spec.angles))
        self.register_buffer("theta0", f32(np.deg2rad(spec.angle_params[:, 0])))
        self.register_buffer("ktheta", f32(spec.angle_params[:, 1]))
        self.register_buffer("propers", i64(spec.propers))
        self.register_buffer("rb", f32(spec.proper_params))
        self.register_buffer("impropers", i64(spec.impropers))
        self.register_buffer("phi_s", f32(np.deg2rad(spec.improper_params[:, 0])))
        self.register_buffer("kimp", f32(spec.improper_params[:, 1]))
        self.register_buffer("mult", f32(spec.improper_params[:, 2]))
        self.register_buffer("sigma", f32(spec.sigma))
        self.register_buffer("epsilon", f32(spec.epsilon))
        self.register_buffer("charge", f32(spec.charges))
        dist = spec.graph_distance()
        n = spec.n_atoms
        # nrexcl = 3: pairs up to three bonds apart (and i == j) have no short-range term; the
        # three-bond ones come back through the scaled 1-4 list
        self.register_buffer("excluded", torch.as_tensor(dist <= 3))
        pair14 = np.zeros((n, n), bool)
        pair14[spec.pairs[:, 0], spec.pairs[:, 1]] = pair14[spec.pairs[:, 1], spec.pairs[:, 0]] = True
        self.register_buffer("pair14", torch.as_tensor(pair14))
        # bonds between two beads: they set the projected bead forces, so their error is logged apart
        self.register_buffer("junction", torch.as_tensor(spec.bead_of_atom[spec.bonds[:, 0]]
                                                         != spec.bead_of_atom[spec.bonds[:, 1]]), persistent=False)
        # which bonded terms each bead takes part in: the local energy of a bead counts these
        b = spec.bead_of_atom
        for name, idx in (("bonds", spec.bonds), ("angles", spec.angles), ("propers", spec.propers),
                          ("impropers", spec.impropers)):
            inv = np.zeros((spec.n_beads, len(idx)), bool)
            for col in range(idx.shape[1]):
                inv[b[idx[:, col]], np.arange(len(idx))] = True
            self.register_buffer(f"in_bead_{name}", torch.as_tensor(inv))

    # ---- bonded -------------------------------------------------------------------------------
    def bonded_terms(self, x):
        """Per-interaction bonded energies of molecules ``x`` (..., n_atoms, 3) nm.

        Returns
        -------
        dict of str -> Tensor
            ``Bond`` (..., nb), ``Angle`` (..., na), ``Ryckaert-Bell.`` (..., nd), ``Improper`` (..., ni)
        """
        g = lambda idx, c: x[..., idx[:, c], :]
        out = {
            "Bond": bond_energy(g(self.bonds, 0), g(self.bonds, 1), self.b0, self.kb),
            "Angle": angle_energy(g(self.angles, 0), g(self.angles, 1), g(self.angles, 2), self.theta0, self.ktheta),
            "Ryckaert-Bell.": rb_energy(dihedral(*(g(self.propers, c) for c in range(4))), self.rb),
            "Improper": periodic_energy(dihedral(*(g(self.impropers, c) for c in range(4))), self.phi_s,
                                        self.kimp, self.mult),
        }
        return out

    def _pair(self, r, ai, aj, same, valid, cutoff=True):
        """LJ (and Coulomb) of atom pairs: molecule-local indices ``ai``, ``aj``; ``same`` molecule.

        Returns a dict of per-pair energies (zero where not counted), split like GROMACS' terms.
        """
        sig = torch.sqrt(self.sigma[ai] * self.sigma[aj])
        eps = torch.sqrt(self.epsilon[ai] * self.epsilon[aj])
        excl = same & self.excluded[ai, aj]
        is14 = same & self.pair14[ai, aj]
        sr = valid & ~excl & (r < self.cutoff)
        p14 = valid & is14
        r_safe = torch.where(sr | p14, r, torch.ones_like(r))  # keeps gradients finite at r = 0 (self pairs)
        e = lj_energy(r_safe, sig, eps, self.r_min)
        zero = torch.zeros_like(r)
        out = {"LJ-14": torch.where(p14, self.fudge_lj * e, zero), "LJ (SR)": torch.where(sr, e, zero)}
        if self.coulomb:
            qq = self.charge[ai] * self.charge[aj]
            rr = torch.clamp(r_safe, min=self.r_min) if self.r_min > 0 else r_safe
            out["Coulomb-14"] = torch.where(p14, self.fudge_qq * ONE_4PI_EPS0 * qq / rr, zero)
            e_sr = coulomb_rf_energy(r_safe, qq, self.cutoff, self.r_min)
            # GROMACS keeps the reaction-field part of excluded pairs (but not their 1/r): without it
            # the term differs from mdrun's "Coulomb (SR)" by geometry-dependent amounts
            rf_excl = valid & excl & (r < self.cutoff)
            e_excl = ONE_4PI_EPS0 * qq * (0.5 / self.cutoff**3 * r**2 - 1.5 / self.cutoff)
            out["Coulomb (SR)"] = torch.where(sr, e_sr, zero) + torch.where(rf_excl, e_excl, zero)
        return out

    # ---- whole systems ------------------------------------------------------------------------
    def system(self, x, box):
        """Total energy terms of a periodic system of whole molecules (dense pairs: small systems).

        Parameters
        ----------
        x : Tensor, shape (n_molecules, n_atoms, 3), nm
        box : Tensor, shape (3,), nm

        Returns
        -------
        dict of str -> scalar Tensor, kJ/mol
            GROMACS' term names; ``Improper`` is GROMACS' "Proper Dih." for these type-1 impropers.
        """
        m, n, _ = x.shape
        out = {k: v.sum() for k, v in self.bonded_terms(x).items()}
        flat = x.reshape(-1, 3)
        d = minimum_image(flat[None, :, :] - flat[:, None, :], box)
        r = torch.linalg.norm(d + (torch.eye(m * n, dtype=x.dtype, device=x.device)[..., None]), dim=-1)
        atom = torch.arange(m * n, device=x.device)
        ai, aj = (atom % n)[:, None].expand(-1, m * n), (atom % n)[None, :].expand(m * n, -1)
        mol = atom // n
        same = mol[:, None] == mol[None, :]
        upper = atom[:, None] < atom[None, :]
        for k, v in self._pair(r, ai, aj, same, upper).items():
            out[k] = v.sum()
        if self.coulomb:
            # GROMACS' reaction-field self term, -1/2 c_rf q_i^2 per atom (c_rf = 3 / 2 r_c)
            out["Coulomb (SR)"] = out["Coulomb (SR)"] - 0.75 / self.cutoff * ONE_4PI_EPS0 * m * (self.charge**2).sum()
        return out

    # ---- local environments -------------------------------------------------------------------
    def slots(self, env):
        """(B, n_atoms) environment slot of each atom of the central molecule, -1 if absent."""
        B, A = env.atom_local.shape
        n = self.sigma.shape[0]
        own = env.atom_same & env.atom_mask
        # one extra column swallows the atoms of other molecules
        slot = torch.full((B, n + 1), -1, dtype=torch.long, device=env.atom_local.device)
        col = torch.where(own, env.atom_local, torch.full_like(env.atom_local, n))
        slot.scatter_(1, col, torch.arange(A, device=slot.device).expand(B, -1))
        return slot[:, :n]

    def local_bonds(self, env_pos, env):
        """Lengths (B, nb) nm of the bonds that involve the central bead, and their mask (B, nb)."""
        s = self.slots(env)[:, self.bonds]
        ok = (s >= 0).all(-1) & self.in_bead_bonds[env.centre_local]
        B = s.shape[0]
        p = torch.gather(env_pos, 1, s.clamp_min(0).reshape(B, -1, 1).expand(-1, -1, 3)).reshape(*s.shape, 3)
        return torch.linalg.norm(p[..., 1, :] - p[..., 0, :], dim=-1), ok

    def local(self, env_pos, env, n_bead_atoms):
        """Energy of the terms that involve the central bead's atoms, per environment.

        Bonded terms with any atom in the central bead, and pair terms between the central bead's
        atoms and every environment atom (pairs inside the bead counted once). A bonded term with
        an atom outside the environment would be left out; it cannot happen, because environments
        always hold every bead that shares a bonded term with the central bead.

        Parameters
        ----------
        env_pos : Tensor, shape (B, A, 3), nm
            Environment atom positions (central bead atoms in slots ``0 .. K-1``), any frame.
        env : cgbench.backmap.dbm.frames.Environment
            Supplies ``atom_local``, ``atom_same``, ``atom_mask`` and ``centre_local``.
        n_bead_atoms : int
            K, the padded number of atoms per bead.

        Returns
        -------
        dict of str -> Tensor, shape (B,), kJ/mol
        """
        B, A, _ = env_pos.shape
        K = n_bead_atoms
        slot = self.slots(env)
        out = {}
        names = {"bonds": "Bond", "angles": "Angle", "propers": "Ryckaert-Bell.", "impropers": "Improper"}
        for kind, name in names.items():
            idx = getattr(self, kind)
            s = slot[:, idx]  # (B, nt, w)
            ok = (s >= 0).all(-1) & getattr(self, f"in_bead_{kind}")[env.centre_local]
            p = torch.gather(env_pos, 1, s.clamp_min(0).reshape(B, -1, 1).expand(-1, -1, 3)).reshape(*s.shape, 3)
            if kind == "bonds":
                e = bond_energy(p[..., 0, :], p[..., 1, :], self.b0, self.kb)
            elif kind == "angles":
                e = angle_energy(p[..., 0, :], p[..., 1, :], p[..., 2, :], self.theta0, self.ktheta)
            elif kind == "propers":
                e = rb_energy(dihedral(*(p[..., c, :] for c in range(4))), self.rb)
            else:
                e = periodic_energy(dihedral(*(p[..., c, :] for c in range(4))), self.phi_s, self.kimp, self.mult)
            out[name] = torch.where(ok, e, torch.zeros_like(e)).sum(-1)
        xi = env_pos[:, :K]
        r = torch.linalg.norm(xi[:, :, None, :] - env_pos[:, None, :, :], dim=-1)  # (B, K, A)
        ai = env.atom_local[:, :K, None].expand(-1, -1, A)
        aj = env.atom_local[:, None, :].expand(-1, K, -1)
        same = env.atom_same[:, None, :].expand(-1, K, -1)
        j = torch.arange(A, device=env_pos.device)
        i = torch.arange(K, device=env_pos.device)
        # inside the bead count i < j once; outside the bead every pair counts
        once = (j[None, :] >= K) | (j[None, :] > i[:, None])
        valid = env.atom_mask[:, :K, None] & env.atom_mask[:, None, :] & once[None]
        for k, v in self._pair(r, ai, aj, same, valid).items():
            out[k] = v.sum(dim=(1, 2))
        return out

    def worst_contact(self, env_pos, env, n_bead_atoms):
        """Each central atom's largest Lennard-Jones pair energy, as GROMACS computes it (kJ/mol).

        Every counted partner (environment atoms and the other atoms of the bead; 1-4 pairs scaled)
        is considered, without the prior's linear continuation below ``r_min``: an overlap shows its
        full repulsion. Atoms with no counted partner get -inf.

        Parameters
        ----------
        env_pos : Tensor, shape (B, A, 3), nm
        env : cgbench.backmap.dbm.frames.Environment
        n_bead_atoms : int

        Returns
        -------
        Tensor, shape (B, n_bead_atoms)
        """
        B, A, _ = env_pos.shape
        K = n_bead_atoms
        r = torch.linalg.norm(env_pos[:, :K, None, :] - env_pos[:, None, :, :], dim=-1)  # (B, K, A)
        ai = env.atom_local[:, :K, None].expand(-1, -1, A)
        aj = env.atom_local[:, None, :].expand(-1, K, -1)
        same = env.atom_same[:, None, :].expand(-1, K, -1)
        other = torch.arange(A, device=r.device)[None, :] != torch.arange(K, device=r.device)[:, None]
        valid = env.atom_mask[:, :K, None] & env.atom_mask[:, None, :] & other[None]
        is14 = same & self.pair14[ai, aj]
        counted = valid & ((~(same & self.excluded[ai, aj]) & (r < self.cutoff)) | is14)
        sig = torch.sqrt(self.sigma[ai] * self.sigma[aj])
        eps = torch.sqrt(self.epsilon[ai] * self.epsilon[aj])
        e = lj_energy(torch.where(counted, r, torch.ones_like(r)), sig, eps)
        e = torch.where(is14, self.fudge_lj * e, e)
        return torch.where(counted, e, torch.full_like(e, -np.inf)).amax(-1)


def total(terms):
    """Sum of a dict of energy terms."""
    return sum(terms.values())
