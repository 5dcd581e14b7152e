"""The all-atom protocol: pack -> minimise -> (compress) -> anneal -> cool -> NPT -> NVT.

This module decides what each stage runs (mdp values, box size, the stage order) and summarises
what the runs did (density, temperature, pressure); the GROMACS calls live in
:mod:`cgbench.engines.gromacs` and the files in the workflow scripts.
"""

import numpy as np
import pandas as pd

from ..core.units import AVOGADRO

#: Stages in the order they run. ``compress`` is skipped when its time is 0.
STAGES = ("em", "compress", "anneal", "cool", "npt", "nvt")
MD_STAGES = STAGES[1:]
_TEMPLATE = {
    "em": "em.mdp",
    "compress": "md_npt_berendsen.mdp",
    "anneal": "md_npt_berendsen.mdp",
    "cool": "md_npt_berendsen.mdp",
    "npt": "md_npt_pr.mdp",
    "nvt": "md_nvt.mdp",
}


def active_stages(aa):
    """The stages this configuration runs (``compress`` only when its time is > 0)."""
    return [s for s in STAGES if s != "compress" or aa["compress"]["time_ps"] > 0]


def previous_stage(aa, stage):
    """The stage whose final structure starts ``stage`` (``None`` for the first)."""
    stages = active_stages(aa)
    i = stages.index(stage)
    return stages[i - 1] if i > 0 else None


def template(stage):
    return _TEMPLATE[stage]


def box_edge_nm(n_molecules, molar_mass_g_mol, density_g_cm3):
    """Edge of a cubic box that holds ``n_molecules`` at ``density_g_cm3`` (nm)."""
    volume_cm3 = n_molecules * molar_mass_g_mol / AVOGADRO / density_g_cm3
    return (volume_cm3 * 1e21) ** (1.0 / 3.0)


def _steps(time_ps, dt_ps):
    return int(round(time_ps / dt_ps))


def mdp_values(stage, aa, seed):
    """Placeholder values for ``stage``'s template.

    Parameters
    ----------
    aa : dict
        The validated ``aa`` section of the config.
    seed : int
        Seed for generated velocities.
    """
    dt = aa["timestep_fs"] / 1000.0
    common = {
        "cutoff_nm": aa["cutoff_nm"],
        "fourier_spacing_nm": aa["fourier_spacing_nm"],
        "ewald_rtol": aa["ewald_rtol"],
    }
    if stage == "em":
        return {**common, "nsteps": aa["em"]["nsteps"], "emtol": aa["em"]["emtol"]}
    nst_e = max(1, _steps(aa["energy_interval_ps"], dt))
    md = {
        **common,
        "dt_ps": dt,
        "nstenergy": nst_e,
        "nstcalcenergy": min(100, nst_e),
        "nstlog": nst_e * 10,
        "tau_t_ps": aa["tau_t_ps"],
        "compressibility_per_bar": aa["compressibility_per_bar"],
        "seed": seed,
    }
    st = aa[stage]
    md["nsteps"] = _steps(st["time_ps"], dt)
    md["nstxout_compressed"] = max(1, _steps(aa["snapshot_interval_ps"], dt))
    if stage in ("compress", "anneal", "cool"):
        first_md = stage == active_stages(aa)[1]
        t_hot = aa["anneal"]["temperature_K"]
        md.update(
            tau_p_ps=aa["berendsen_tau_p_ps"],
            pressure_bar=st.get("pressure_bar", aa["pressure_bar"]),
            temperature_K=st.get("temperature_K", t_hot),
            gen_vel=first_md,
            continuation=not first_md,
            annealing="no",
            annealing_npoints="",
            annealing_time="",
            annealing_temp="",
        )
        if stage == "cool":
            # linear ramp from the anneal temperature to the target (GROMACS simulated annealing)
            md.update(
                temperature_K=aa["temperature_K"],
                annealing="single",
                annealing_npoints=2,
                annealing_time=f"0 {st['time_ps']}",
                annealing_temp=f"{t_hot} {aa['temperature_K']}",
            )
    elif stage == "npt":
        md.update(
            nstpcouple=aa["pr_nstpcouple"],
            # energies must be computed on every coupling step
            nstcalcenergy=_common_divisor(md["nstcalcenergy"], aa["pr_nstpcouple"]),
            tau_p_ps=aa["pr_tau_p_ps"],
            pressure_bar=aa["pressure_bar"],
            temperature_K=aa["temperature_K"],
        )
    elif stage == "nvt":
        md.update(
            temperature_K=aa["temperature_K"],
            nstxout=max(1, _steps(st["output_interval_ps"], dt)),
        )
    return md


def _common_divisor(a, b):
    import math

    return math.gcd(int(a), int(b))


#: Energy-file terms collected for the thermodynamics table, and their CSV column names.
THERMO_TERMS = {"Density": "density_kg_m3", "Temperature": "temperature_K", "Pressure": "pressure_bar"}


def thermo_table(stage_data):
    """One table of density, temperature and pressure over the whole protocol.

    Parameters
    ----------
    stage_data : list of (str, dict)
        ``(stage, {"Time": ps array, "Density": ..., ...})`` in protocol order, as read from
        each stage's energy file. Each stage's time restarts at 0; the table adds a running time.

    Returns
    -------
    pandas.DataFrame
        Columns ``stage``, ``time_ps`` (running), ``stage_time_ps``, and :data:`THERMO_TERMS`
        columns (density in kg/m^3 as GROMACS reports it; NaN where a stage has no such term).
    """
    frames, offset = [], 0.0
    for stage, data in stage_data:
        t = np.asarray(data["Time"], dtype=float)
        if t.size == 0:
            continue
        df = pd.DataFrame({"stage": stage, "time_ps": t - t[0] + offset, "stage_time_ps": t - t[0]})
        for term, col in THERMO_TERMS.items():
            df[col] = np.asarray(data[term], dtype=float) if term in data else np.nan
        frames.append(df)
        offset = df["time_ps"].iloc[-1]
    return pd.concat(frames, ignore_index=True)


def stage_summary(table, fraction=0.5):
    """Mean and standard deviation of each term over the last ``fraction`` of each stage."""
    rows = []
    for stage, df in table.groupby("stage", sort=False):
        tail = df[df["stage_time_ps"] >= df["stage_time_ps"].max() * (1 - fraction)]
        row = {"stage": stage, "length_ps": float(df["stage_time_ps"].max())}
        for col in THERMO_TERMS.values():
            row[f"{col}_mean"] = float(tail[col].mean())
            row[f"{col}_std"] = float(tail[col].std())
        rows.append(row)
    return pd.DataFrame(rows)


def plot_thermo(table, path):
    """Density (g/cm^3), temperature and pressure against running time, coloured by stage."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = [
        ("density_kg_m3", "density (g/cm$^3$)", 1e-3),
        ("temperature_K", "temperature (K)", 1.0),
        ("pressure_bar", "pressure (bar)", 1.0),
    ]
    fig, axes = plt.subplots(3, 1, figsize=(7, 7), sharex=True)
    for ax, (col, label, scale) in zip(axes, cols):
        for stage, df in table.groupby("stage", sort=False):
            if df[col].notna().any():
                ax.plot(df["time_ps"], df[col] * scale, lw=0.8, label=stage)
        ax.set_ylabel(label)
    axes[0].legend(ncol=6, fontsize=8, loc="lower right")
    axes[-1].set_xlabel("time (ps)")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
