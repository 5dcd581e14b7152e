"""A small wrapper around the ``gmx`` command line (gmxapi cannot be built against Debian's GROMACS).

Every call appends the engine's output to a log file and raises :class:`~cgbench.core.errors.EngineError`
naming the command, the working directory and the log's tail when the engine fails, when mdrun
reports LINCS warnings, or when energies turn into NaN.
"""

from pathlib import Path
import os
import re
import shutil
import subprocess

import numpy as np

from ..core.errors import EngineError
from ..core.logs import tail

#: Lines of mdrun output that mean the run is not trustworthy even if mdrun exits 0.
_BAD_SIGNS = re.compile(
    r"LINCS WARNING|SETTLE warning|potential energy is nan|Energy is nan|"
    r"particles? moved more than|Segmentation fault",
    re.IGNORECASE,
)




#: Starts of GROMACS' diagnostic blocks; each block runs to the next blank line.
_BLOCK_START = re.compile(r"^(WARNING \d+|ERROR \d+|Fatal error:|NOTE \d+)")


def diagnostics(text, kinds=("WARNING", "ERROR", "Fatal error")):
    """GROMACS' WARNING/ERROR/Fatal error blocks in ``text``, each as one string."""
    blocks, cur = [], None
    for line in text.splitlines():
        if _BLOCK_START.match(line):
            cur = [line]
            blocks.append(cur)
        elif cur is not None:
            if not line.strip() and len(cur) > 1:
                cur = None
            else:
                cur.append(line)
    return ["\n".join(b).strip() for b in blocks if b[0].startswith(kinds)]


def _since_last_command(log):
    text = tail(log, 100000)
    return text[text.rfind("\n$ ") + 1 :]


def _error_context(log):
    """What a user needs from a failed call's log: its diagnostic blocks, then its last lines."""
    text = _since_last_command(log)
    blocks = diagnostics(text)
    last = "\n".join(text.splitlines()[-15:])
    if blocks:
        return "\n\n".join(blocks[-4:]) + "\n...\n" + last
    return last


class Gromacs:
    """Runs GROMACS tools as subprocesses.

    Parameters
    ----------
    executable : str
        ``gmx``, ``gmx_mpi``, or a path to one of them.
    """

    def __init__(self, executable="gmx"):
        self.executable = executable

    def run(self, args, cwd, log, stdin=None, check_output=False):
        """Run ``<gmx> args`` in ``cwd``; output appended to ``log``.

        Raises
        ------
        EngineError
            The executable is missing, exits non-zero, or (``check_output``) printed a bad sign.
        """
        cmd = [self.executable, *map(str, args)]
        cwd = Path(cwd)
        cwd.mkdir(parents=True, exist_ok=True)
        log = Path(log).resolve()
        log.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, GMX_MAXBACKUP="-1")  # no #file.1# backups in results/
        with open(log, "a") as fh:
            fh.write(f"\n$ {' '.join(cmd)}   (in {cwd})\n")
            fh.flush()
            try:
                proc = subprocess.run(
                    cmd, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT, input=stdin, text=True, env=env
                )
            except FileNotFoundError:
                raise EngineError(
                    cmd, cwd, f"'{self.executable}' is not on PATH",
                    reason="not found: install GROMACS or set gromacs.executable in the config",
                ) from None
        if proc.returncode != 0:
            raise EngineError(
                cmd, cwd, _error_context(log), reason=f"exited with status {proc.returncode}"
            )
        if check_output:
            bad = _BAD_SIGNS.search(_since_last_command(log))
            if bad:
                raise EngineError(cmd, cwd, _error_context(log), reason=f"reported '{bad.group(0)}'")
        return proc

    def available(self):
        """Whether the executable can be found."""
        return shutil.which(self.executable) is not None

    def grompp(self, mdp, gro, top, tpr, cwd, log, allow=(), index=None):
        """Preprocess to a run input file. Any grompp warning is an error, except warnings whose
        text contains one of the phrases in ``allow`` (each allowance is deliberate and named).
        ``index`` is an index file (``-n``) for groups the mdp names.
        """
        mdout = Path(tpr).with_suffix(".mdout.mdp")
        args = ["grompp", "-f", mdp, "-c", gro, "-p", top, "-o", tpr, "-po", mdout]
        if index is not None:
            args += ["-n", index]
        try:
            return self.run([*args, "-maxwarn", 0], cwd, log)
        except EngineError:
            warnings = diagnostics(_since_last_command(log), kinds=("WARNING",))
            others = diagnostics(_since_last_command(log), kinds=("ERROR",))
            if not allow or not warnings or others:
                raise
            if not all(any(a in w for a in allow) for w in warnings):
                raise
            return self.run([*args, "-maxwarn", len(warnings)], cwd, log)

    def mdrun(self, tpr, deffnm, cwd, log, threads=1, resume=True, rerun=None, extra=(), maxh=None):
        """Run mdrun with ``-deffnm``; ``resume`` continues from ``<deffnm>.cpt`` when one exists.

        GROMACS writes a checkpoint every ``-cpt`` minutes (15 by default) and at the end, so a
        killed run loses at most that much work. With ``maxh`` mdrun stops itself, checkpoint
        written, after that many hours; :func:`stopped_at_maxh` then tells the run is unfinished.
        """
        # -v: progress and estimated finish time go to the log
        args = ["mdrun", "-v", "-s", tpr, "-deffnm", deffnm, "-nt", int(threads)]
        cpt = Path(cwd) / f"{deffnm}.cpt"
        if resume and rerun is None and cpt.exists():
            args += ["-cpi", cpt.name]
        if rerun is not None:
            args += ["-rerun", rerun]
        if maxh is not None:
            args += ["-maxh", f"{maxh:.4f}"]
        args += list(extra)
        return self.run(args, cwd, log, check_output=True)

    def insert_molecules(self, gro, nmol, box_nm, out, cwd, log, seed=1, tries=200):
        """Pack ``nmol`` copies of ``gro`` at random positions and orientations in a cubic box."""
        args = [
            "insert-molecules", "-ci", gro, "-nmol", int(nmol), "-box", *(f"{box_nm:.4f}",) * 3,
            "-try", int(tries), "-seed", int(seed), "-rot", "xyz", "-o", out,
        ]
        self.run(args, cwd, log)
        inserted = count_molecules(Path(cwd) / out, gro_atoms(Path(cwd) / gro))
        if inserted != nmol:
            raise EngineError(
                [self.executable, *map(str, args)], cwd, tail(log),
                reason=f"inserted only {inserted} of {nmol} molecules; lower the packing density",
            )


def stopped_at_maxh(log):
    """Whether the last mdrun in ``log`` stopped at its ``-maxh`` limit before the last step."""
    return "Run time exceeded" in _since_last_command(log)


def read_edr(path, terms=None):
    """Energy-file terms as arrays (``Time`` in ps plus GROMACS' own term names and units)."""
    import pyedr

    data = pyedr.edr_to_dict(str(path))
    if terms is None:
        return {k: np.asarray(v) for k, v in data.items()}
    return {k: np.asarray(data[k]) for k in ["Time", *terms] if k in data}


def gro_atoms(path):
    """Number of atoms in a ``.gro`` file."""
    with open(path) as fh:
        fh.readline()
        return int(fh.readline())


def count_molecules(path, atoms_per_molecule):
    return gro_atoms(path) // atoms_per_molecule


def write_gro(path, positions, atom_names, resname, box, title="cgbench", nmol=1):
    """Write ``nmol`` molecules of ``len(atom_names)`` atoms each (positions in nm).

    Parameters
    ----------
    positions : ndarray, shape (nmol * n_atoms, 3)
    box : sequence of 3 floats
        Orthorhombic box edges in nm.
    """
    positions = np.asarray(positions, dtype=float).reshape(-1, 3)
    n = len(atom_names)
    lines = [title, f"{len(positions):5d}"]
    for k, (x, y, z) in enumerate(positions):
        res, name = k // n + 1, atom_names[k % n]
        lines.append(f"{res % 100000:5d}{resname:<5s}{name:>5s}{(k + 1) % 100000:5d}{x:8.3f}{y:8.3f}{z:8.3f}")
    lines.append("  " + " ".join(f"{b:.5f}" for b in box))
    Path(path).write_text("\n".join(lines) + "\n")


def read_gro_box(path):
    """Box vector lengths (nm) from the last line of a ``.gro`` file (orthorhombic)."""
    with open(path) as fh:
        last = fh.read().rstrip("\n").splitlines()[-1]
    return np.array([float(v) for v in last.split()[:3]])


def system_top(itp_name, molecule_name, nmol, forcefield="oplsaa.ff", title=None):
    """Text of a ``.top`` that includes the force field and one molecule type."""
    ff = str(forcefield).rstrip("/")
    ff_inc = f"{ff}/forcefield.itp"
    return (
        f'#include "{ff_inc}"\n'
        f'#include "{itp_name}"\n\n'
        f"[ system ]\n{title or molecule_name}\n\n"
        f"[ molecules ]\n{molecule_name}  {int(nmol)}\n"
    )
