"""Each model's held-out metric at documented settings, measured again and printed beside the figure
README.md gives for it: every figure of the Models section comes from here.

    python benchmarks/fidelity.py [--list] [--only NAME[,NAME...]] [--update] [--keep DIR]
    python benchmarks/fidelity.py --apply OUTPUT      # write an earlier run's figures in

Each experiment trains with ``python -m engines train`` on an empty cache and evaluates with
``eval --json`` (``--list`` shows the commands and their cost: minutes per model on 2 cores, about
an hour and a half for them all). Beside the figures it checks the orderings they must keep
(:data:`CHECKS`: DRAW's attention beats none, a DBM beats the RBM of its budget, each AIS
estimate converged, each GAN beats itself after one step, the chair generator beats the nearest
view) and exits 1 when one does not hold. The last line printed is a JSON object:
``{"figures": {figure: {"readme": ..., "measured": ...}}, "checks": {name: true|false}, ...}``;
``results.json`` in the working folder holds every metric each ``eval --json`` printed (a GAN's
Parzen log-likelihood, the AIS schedules).
The options are :func:`figures.main`'s.
"""
from __future__ import annotations

import sys

from figures import ROOT, Check, Experiment, Figures, Read, engines, main, train_and_eval

RBM_REFERENCE = ("--set", "method=pcd", "--set", "k=15", "--set", "lr=0.1")
LONG_AIS = ("--set", "ais_temperatures=58000", "--set", "ais_max_temperatures=58000")

EXPERIMENTS = {e.name: e for e in (
    train_and_eval("rbm-reference", 9, "rbm", *RBM_REFERENCE, "--set", "momentum=0", "--set", "weight_decay=0",
                   "--epochs", "15",   # and how far log Z still moves on a longer schedule:
                   then=(engines("eval-58000", "eval", "runs/rbm-reference", "--json", *LONG_AIS),)),
    train_and_eval("rbm-reference-defaults", 6, "rbm", *RBM_REFERENCE, "--epochs", "15"),
    train_and_eval("rbm-3000", 4, "rbm", "--steps", "3000"),
    train_and_eval("dbm2", 15, "dbm", "--steps", "3000"),
    Experiment("ais-precision", (("precision", (sys.executable, str(ROOT / "benchmarks" / "ais_precision.py"),
                                                "runs/dbm2")),), 8),           # after dbm2, in its folder
    train_and_eval("dbm3", 25, "dbm", "--set", "layers=500,500,1000", "--steps", "4000"),
    train_and_eval("dbm-toys", 15, "dbm", "--data", "toys3d", "--steps", "3000"),
    train_and_eval("chairs", 8, "chairs", "--set", "width=64", "--set", "hidden=256", "--set", "batch_size=32",
                   "--steps", "5000"),
    train_and_eval("vae20", 1.5, "vae", "--epochs", "50", "--set", "hidden=400", "--set", "latent_dim=20"),
    train_and_eval("draw", 3, "draw", "--data", "multi-mnist", "--steps", "2000"),
    train_and_eval("draw-noatt", 3, "draw", "--data", "multi-mnist", "--set", "attention=false", "--steps", "2000"),
    train_and_eval("aligndraw", 8, "aligndraw", "--steps", "3000"),
    *(train_and_eval(f"{m}{suffix}", minutes, m, "--steps", steps)
      for m, minutes in (("dcgan", 3), ("gan", 2), ("lapgan", 6))
      for suffix, steps in (("", "2000"), ("-untrained", "1"))),
    train_and_eval("gan2d", 1.5, "gan2d", "--data", "ring", "--steps", "3000"),
)}


def interval(name: str, experiment: str) -> dict[str, Read]:
    """The two ends of a Boltzmann machine's AIS log-likelihood (conservative, optimistic)."""
    return {f"{name}_low": Read(experiment, "eval", "log_likelihood_conservative"),
            f"{name}_high": Read(experiment, "eval", "log_likelihood_optimistic")}


def ais(name: str, experiment: str) -> dict[str, Read]:
    """How far apart AIS's two ends are, at how many temperatures, and the seconds it took."""
    return {f"{name}_gap": Read(experiment, "eval", "ais_gap"),
            f"{name}_temperatures": Read(experiment, "eval", "ais_temperatures"),
            f"{name}_seconds": Read(experiment, "eval", "ais_seconds")}


FIGURES = (
    Figures("test log-likelihood {rbm_ref_low} nats at the conservative end and {rbm_ref_high} at the optimistic "
            "one (reverse minus forward log Z: {rbm_ref_gap} nats at {rbm_ref_temperatures} temperatures, "
            "{rbm_ref_seconds} s of AIS in all); with the default momentum 0.5 and weight decay 1e-4 (the same "
            "command without those two settings): {rbm_def_low} and {rbm_def_high}",
            {**interval("rbm_ref", "rbm-reference"), **ais("rbm_ref", "rbm-reference"),
             **interval("rbm_def", "rbm-reference-defaults")}),
    Figures("log Z {rbm_ref_log_z} forward and {rbm_ref_log_z_rev} reverse; at 58,000 temperatures "
            "{rbm_ref58_log_z} and {rbm_ref58_log_z_rev} ({rbm_ref58_seconds} s)",
            {"rbm_ref_log_z": Read("rbm-reference", "eval", "log_z"),
             "rbm_ref_log_z_rev": Read("rbm-reference", "eval", "log_z_reverse"),
             "rbm_ref58_log_z": Read("rbm-reference", "eval-58000", "log_z"),
             "rbm_ref58_log_z_rev": Read("rbm-reference", "eval-58000", "log_z_reverse"),
             "rbm_ref58_seconds": Read("rbm-reference", "eval-58000", "ais_seconds")}),
    Figures("500-1000 on MNIST, bound {dbm2_low} nats at the conservative end and {dbm2_high} at the optimistic "
            "one (reverse minus forward log Z: {dbm2_gap} nats at {dbm2_temperatures} temperatures, {dbm2_seconds} s "
            "of AIS in all) against the same budget's RBM (500 hidden): {rbm_3000_low} and {rbm_3000_high}",
            {**interval("dbm2", "dbm2"), **ais("dbm2", "dbm2"), **interval("rbm_3000", "rbm-3000")}),
    Figures("500-500-1000 after 4,000 steps: {dbm3_low} and {dbm3_high} ({dbm3_gap} nats at "
            "{dbm3_temperatures} temperatures, {dbm3_seconds} s); `toys3d` (Gaussian units, densities of the "
            "standardized pixels): {toys_low} and {toys_high} ({toys_gap} nats at {toys_temperatures} "
            "temperatures, {toys_seconds} s)",
            {**interval("dbm3", "dbm3"), **ais("dbm3", "dbm3"), **interval("toys", "dbm-toys"),
             **ais("toys", "dbm-toys")}),
    Figures("on the 500-1000 DBM they move log Z by {ais_float32_shift} nats from float64's at 14,500 temperatures",
            {"ais_float32_shift": Read("ais-precision", "precision", "float32_minus_float64")}),
    Figures("`heldout_mse` {chairs_mse} against the nearest-view baseline's {chairs_baseline_mse}, `mask_iou` "
            "{chairs_iou} against {chairs_baseline_iou}.",
            {"chairs_mse": Read("chairs", "eval", "heldout_mse"),
             "chairs_baseline_mse": Read("chairs", "eval", "baseline_mse"),
             "chairs_iou": Read("chairs", "eval", "mask_iou"),
             "chairs_baseline_iou": Read("chairs", "eval", "baseline_mask_iou")}),
    Figures("test ELBO {vae_elbo} nats, IWAE (k = 5,000) {vae_iwae} nats",
            {"vae_elbo": Read("vae20", "eval", "elbo"), "vae_iwae": Read("vae20", "eval", "iwae_nll")}),
    Figures("`nll_bound` {draw_bound} nats with attention against {draw_noatt_bound} without; `aligndraw` after "
            "3,000 steps: {align_bound} on held-out captions, {align_novel_bound} on novel compositions",
            {"draw_bound": Read("draw", "eval", "nll_bound"),
             "draw_noatt_bound": Read("draw-noatt", "eval", "nll_bound"),
             "align_bound": Read("aligndraw", "eval", "nll_bound"),
             "align_novel_bound": Read("aligndraw", "eval", "nll_bound_novel")}),
    Figures("digit classifier, {classifier_pct} % test accuracy",
            {"classifier_pct": Read("dcgan", "eval", "classifier_accuracy", 100)}),
    Figures("Fréchet distance `dcgan` {dcgan_fid} (after one step {dcgan_fid_0}), class coverage {dcgan_coverage}; "
            "`gan` {gan_fid} ({gan_fid_0}); `lapgan` {lapgan_fid} ({lapgan_fid_0}); `gan2d` on the ring finds "
            "{gan2d_modes} of 8 modes.",
            {"dcgan_fid": Read("dcgan", "eval", "frechet_distance"),
             "dcgan_fid_0": Read("dcgan-untrained", "eval", "frechet_distance"),
             "dcgan_coverage": Read("dcgan", "eval", "class_coverage"),
             "gan_fid": Read("gan", "eval", "frechet_distance"),
             "gan_fid_0": Read("gan-untrained", "eval", "frechet_distance"),
             "lapgan_fid": Read("lapgan", "eval", "frechet_distance"),
             "lapgan_fid_0": Read("lapgan-untrained", "eval", "frechet_distance"),
             "gan2d_modes": Read("gan2d", "eval", "modes_covered")}),
    Figures("Parzen-window log-likelihood of the test digits (nats, ± standard error, σ chosen on the "
            "validation split): `dcgan` {dcgan_parzen} ± {dcgan_parzen_se} (σ {dcgan_sigma}), `gan` "
            "{gan_parzen} ± {gan_parzen_se} (σ {gan_sigma}); after one step {dcgan_parzen_0} and {gan_parzen_0}",
            {key: Read(f"{m}{suffix}", "eval", field)
             for m in ("dcgan", "gan")
             for key, suffix, field in ((f"{m}_parzen", "", "parzen_log_likelihood"),
                                        (f"{m}_parzen_se", "", "parzen_log_likelihood_se"),
                                        (f"{m}_sigma", "", "parzen_sigma"),
                                        (f"{m}_parzen_0", "-untrained", "parzen_log_likelihood"))}),
)


def metric(results: dict, experiment: str, key: str):
    return results[experiment]["eval"][key]


CHECKS = (
    *(Check(f"{name} AIS converged", (name,), lambda r, name=name: metric(r, name, "ais_converged") is True)
      for name in ("rbm-reference", "rbm-reference-defaults", "rbm-3000", "dbm2", "dbm3", "dbm-toys")),
    Check("dbm2 beats the RBM of its budget", ("dbm2", "rbm-3000"),
          lambda r: metric(r, "dbm2", "log_likelihood_conservative")
          > metric(r, "rbm-3000", "log_likelihood_optimistic")),
    Check("DRAW's attention beats none", ("draw", "draw-noatt"),
          lambda r: metric(r, "draw", "nll_bound") < metric(r, "draw-noatt", "nll_bound")),
    *(Check(f"{m} beats itself after one step", (m, f"{m}-untrained"),
            lambda r, m=m: metric(r, m, "frechet_distance") < metric(r, f"{m}-untrained", "frechet_distance"))
      for m in ("dcgan", "gan", "lapgan")),
    Check("chairs beats the nearest view", ("chairs",),
          lambda r: metric(r, "chairs", "heldout_mse") < metric(r, "chairs", "baseline_mse")),
)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], __doc__, EXPERIMENTS, FIGURES, CHECKS))
