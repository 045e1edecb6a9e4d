"""GPU benchmark of the paper-scale run: step rate, tokens/s, MFU, padding, data headroom, eval share, memory.

One H100 or H200 (about 4-6 minutes, compiles included):

    python benchmarks/gpu.py --out results/gpu_h100

CPU smoke test of the same code path (tiny sizes; ``--compile-backend eager`` skips the C++ compiler):

    python benchmarks/gpu.py --device cpu --preset tiny --steps 6 --warmup 2 --precision 32-true \\
        --modes plain,eager,plain-compiled,compiled --compile-backend eager --out /tmp/gpu_smoke

Every mode runs a real ``Trainer.fit`` of ``FactLearner`` on the ``BiographyDataModule`` stream (DataLoader
workers, pinned memory) with the TensorBoard logger on, and is timed over a window after ``--warmup`` steps
with one device synchronisation at each end (none per step). Each fit mode has a hand-written PyTorch loop as
its reference for the Lightning overhead, on the same model (compiled alike), batches, pinning and precision:
``plain`` for ``eager``, ``plain-unpinned`` for ``eager-unpinned``, ``plain-<mode>`` for the compiled modes.
``--repeats`` runs the modes in turn and reports medians. Writes ``results.json`` and ``results.md`` to
``--out``.

FLOPs per step count useful work on non-pad tokens only: ``6 * P * n`` (P: parameters of all matmuls, i.e.
without the embedding lookups) plus causal attention ``6 * n_layer * d_model * n^2`` per sequence of ``n``
non-pad input tokens (forward and backward). MFU divides by ``--peak-tflops`` (default from the device name:
989 TFLOP/s dense bf16 for H100 SXM and H200; H100 PCIe is 756: pass it).
"""

from __future__ import annotations

import argparse
import json
import math
import time
import traceback
import warnings
from pathlib import Path

import lightning as L
import numpy as np
import torch
from plain_loop import plain_step  # benchmarks/plain_loop.py: the script folder is on sys.path
from step_profile import StepProfileCallback, profile_loop

from factdyn.data.batches import padded_length
from factdyn.data.datamodule import BiographyDataModule
from factdyn.data.stream import BiographyStream
from factdyn.model import TransformerConfig
from factdyn.training.module import FactLearner, compile_model

PRESETS = {
    "paper": dict(
        n_layer=8, n_head=8, d_model=512, d_mlp=2048, batch_size=128, n_individuals=64000,
        n_unseen=16000, n_eval=4096, eval_batch_size=512, max_steps=16000,
    ),
    "quickstart": dict(
        n_layer=4, n_head=4, d_model=128, d_mlp=512, batch_size=32, n_individuals=2000,
        n_unseen=500, n_eval=512, eval_batch_size=256, max_steps=2500,
    ),
    "tiny": dict(
        n_layer=2, n_head=2, d_model=16, d_mlp=32, batch_size=8, n_individuals=64,
        n_unseen=16, n_eval=16, eval_batch_size=16, max_steps=8,
    ),
}  # fmt: skip
PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0}
FULL_LENGTH = 1024  # a pad_to_multiple >= max_seq_len: every batch at the one full length
MODES = {
    # name: (compiled, compile mode, compile_dynamic, pad_to_multiple; None: --pad-to-multiple)
    "eager": (False, None, None, None),
    "eager-unpinned": (False, None, None, None),  # data.pin_memory false: no pinning thread
    "compiled": (True, "default", True, None),
    "compiled-static": (True, "default", False, FULL_LENGTH),
    "compiled-reduce-overhead": (True, "reduce-overhead", True, None),
    "cudagraphs": (True, "reduce-overhead", False, FULL_LENGTH),  # configs/presets/gpu_fast.yaml
    "compiled-max-autotune": (True, "max-autotune", True, None),
}
# Each fit mode's hand-written counterpart: the same model (compiled alike), batches, pinning and precision.
PLAIN = {m: "plain" + m.removeprefix("eager") if m.startswith("eager") else f"plain-{m}" for m in MODES}
FIT_OF = {plain: mode for mode, plain in PLAIN.items()}


def paper_eval_steps(max_steps: int) -> list[int]:
    """The paper's evaluation schedule: every 125 steps up to 2,000, then 32 evenly spaced to the end."""
    early = list(range(125, min(2000, max_steps) + 1, 125))
    late = np.linspace(2000, max_steps, 33)[1:].round().astype(int).tolist() if max_steps > 2000 else []
    return sorted(set(early + late))


def make_datamodule(p: dict, workers: int, pad_to_multiple: int) -> BiographyDataModule:
    dm = BiographyDataModule(
        n_individuals=p["n_individuals"],
        n_unseen=p["n_unseen"],
        batch_size=p["batch_size"],
        eval_batch_size=p["eval_batch_size"],
        n_val_sequences=p["n_eval"],
        n_unseen_sequences=p["n_eval"],
        num_workers=workers,
        pad_to_multiple=pad_to_multiple,
    )
    dm.setup()
    return dm


def make_system(dm: BiographyDataModule, p: dict, mode: str, backend: str) -> FactLearner:
    torch.manual_seed(0)
    compiled, compile_mode, dynamic, _ = MODES[FIT_OF.get(mode, mode)]
    shape = {k: p[k] for k in ("n_layer", "n_head", "d_model", "d_mlp")}
    system = FactLearner(
        TransformerConfig(dm.vocab_size, dm.max_seq_len, **shape),
        dm.attributes, dm.attribute_cardinalities, dm.tokenizer_fingerprint,
        compile=compiled and backend == "inductor", compile_mode=compile_mode or "default",
        compile_dynamic=dynamic,
    )  # fmt: skip
    if compiled and backend != "inductor":
        # Outside the module tree, as FactLearner keeps its own compiled model (no duplicate weights).
        system.__dict__["_forward"] = compile_model(system.model, dynamic=dynamic, backend=backend)
    return system


def matmul_params(system: FactLearner) -> int:
    wte, wpe = system.model.transformer.wte.weight, system.model.transformer.wpe.weight
    return sum(p.numel() for p in system.model.parameters()) - wte.numel() - wpe.numel()


def step_lengths(dm: BiographyDataModule, steps: range) -> list[np.ndarray]:
    """Sequence lengths of the training batches ``steps`` (a pure function of the step)."""
    stream = BiographyStream(
        dm.assembler, dm.populations["train"], dm.sampler, dm.batch_size, dm.seed, 0, 0, True
    )
    return [stream.batch_at(k).lengths for k in steps]


def step_work(lengths: list[np.ndarray], p: dict, params: int) -> dict[str, float]:
    """Non-pad input tokens and useful FLOPs per step of batches with these sequence lengths."""
    tokens = flops = 0.0
    for batch_lengths in lengths:
        n = batch_lengths - 1  # input tokens that predict a real target
        tokens += n.sum()
        flops += 6 * params * n.sum() + 6 * p["n_layer"] * p["d_model"] * (n.astype(float) ** 2).sum()
    return {"tokens": tokens / len(lengths), "flops": flops / len(lengths)}


def pad_fraction(lengths: list[np.ndarray], pad_to_multiple: int, max_seq_len: int) -> float:
    """Share of the input positions that are padding, batches padded as ``data.pad_to_multiple`` pads them."""
    tokens = sum(float((n - 1).sum()) for n in lengths)
    padded = sum(len(n) * (padded_length(int(n.max()), pad_to_multiple, max_seq_len) - 1) for n in lengths)
    return 1 - tokens / padded


def eval_pad_fraction(dm: BiographyDataModule) -> float:
    """Pad fraction of the fixed evaluation batches (sorted by length when built)."""
    targets = [b["tokens"][:, 1:] for name in dm.eval_set_names() for b in dm.eval_batches[name]]
    return float(sum((t == 0).sum() for t in targets) / sum(t.numel() for t in targets))


class WindowTimer(L.Callback):
    """Wall time of steps ``[warmup, warmup + steps)``; synchronises the device only at the window's ends."""

    def __init__(self, warmup: int, steps: int, count_syncs: bool) -> None:
        self.warmup = warmup
        self.stop = warmup + steps
        self.count_syncs = count_syncs
        self.start = self.end = 0.0
        self.steps = 0

    def _sync(self, module: L.LightningModule) -> None:
        if module.device.type == "cuda":
            torch.cuda.synchronize()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.warmup:
            self._sync(pl_module)
            if pl_module.device.type == "cuda":
                torch.cuda.reset_peak_memory_stats()
            if self.count_syncs and pl_module.device.type == "cuda":
                torch.cuda.set_sync_debug_mode("warn")
            self.start = time.perf_counter()
        elif trainer.global_step == self.stop:
            self._end(trainer, pl_module)

    def on_train_end(self, trainer, pl_module) -> None:
        if not self.end:
            self._end(trainer, pl_module)

    def _end(self, trainer, pl_module) -> None:
        if pl_module.device.type == "cuda":
            torch.cuda.set_sync_debug_mode("default")
        self._sync(pl_module)
        self.end = time.perf_counter()
        self.steps = trainer.global_step - self.warmup


def run_fit(dm, p, mode, args, out: Path, first: bool = True) -> dict:
    system = make_system(dm, p, mode, args.compile_backend)
    timer = WindowTimer(args.warmup, args.steps, count_syncs=True)
    callbacks: list[L.Callback] = [timer]
    extra = 0
    if args.profile_train and first:  # after the timed window, so the profilers do not slow the timed steps
        path = out / f"train_profile_{mode}.txt"
        callbacks.append(StepProfileCallback(args.warmup + args.steps, args.profile_train, str(path)))
        extra = 2 * args.profile_train + 1
    trainer = L.Trainer(
        max_steps=args.warmup + args.steps + extra,
        accelerator=args.device,
        devices=1,
        precision=args.precision,
        logger=L.pytorch.loggers.TensorBoardLogger(out / "tb", name=mode, default_hp_metric=False),
        log_every_n_steps=50,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        use_distributed_sampler=False,
        callbacks=callbacks,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(system, datamodule=dm)
    syncs = sum("synchroniz" in str(w.message) for w in caught)
    result = {"seconds": timer.end - timer.start, "steps": timer.steps, "syncs": syncs}
    result["peak_memory_gib"] = (
        torch.cuda.max_memory_allocated() / 2**30 if args.device == "cuda" else float("nan")
    )
    if first:
        result["eval_seconds"] = time_eval(system, dm, args)
    return result


def time_eval(system: FactLearner, dm: BiographyDataModule, args) -> float:
    """Seconds of one evaluation of both eval sets (second of two runs: compiled shapes are warm)."""
    trainer = L.Trainer(
        accelerator=args.device, devices=1, precision=args.precision, logger=False,
        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
    )  # fmt: skip
    seconds = []
    for _ in range(2):
        start = time.perf_counter()
        trainer.validate(system, datamodule=dm, verbose=False)
        if args.device == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
    if args.profile_eval and not (args.out / "eval_profile.txt").exists():
        # Where an evaluation's time goes (operators by total CPU time, and device time), once per run.
        with torch.profiler.profile() as prof:
            trainer.validate(system, datamodule=dm, verbose=False)
            if args.device == "cuda":
                torch.cuda.synchronize()
        table = prof.key_averages().table(sort_by="cpu_time_total", row_limit=40)
        (args.out / "eval_profile.txt").write_text(table)
    return seconds[-1]


def run_plain(dm, p, args, mode: str, first: bool = True) -> dict:
    """A hand-written loop: the fit mode's model (compiled alike), fused AdamW, autocast, its batches."""
    device = torch.device(args.device)
    system = make_system(dm, p, FIT_OF[mode], args.compile_backend).to(device)
    forward = system.__dict__["_forward"]  # the compiled model where the fit mode compiles
    opt = torch.optim.AdamW(system.model.optimizer_groups(0.1), lr=4e-4, betas=(0.9, 0.95), fused=True)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.precision == "bf16-mixed")
    loader = iter(dm.train_dataloader())

    def step() -> None:
        batch = dm.on_after_batch_transfer(next(loader).to(device, non_blocking=True), 0)
        plain_step(forward, opt, batch["tokens"], autocast)

    start = 0.0
    for k in range(args.warmup + args.steps):
        if k == args.warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    if args.profile_train and first:
        profile_loop(step, 0, args.profile_train, args.out / f"train_profile_{mode}.txt")
    return {"seconds": seconds, "steps": args.steps, "syncs": float("nan")}


def data_rate(dm: BiographyDataModule, seconds: float) -> float:
    """Biographies per second out of the training DataLoader with the configured workers."""
    loader = iter(dm.train_dataloader())
    next(loader)  # workers started
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        n += next(loader).shape[0]  # packed batches: (B, width)
    return n / (time.perf_counter() - start)


def markdown(summary: dict) -> str:
    head = summary["setup"]
    lines = [
        f"Device: {head['device']}; precision {head['precision']}; preset {head['preset']} "
        f"(batch {head['batch_size']}); peak {head['peak_tflops']} TFLOP/s assumed; torch {head['torch']}.",
        f"Pad fraction: training batches {head['pad_fraction']:.3f} at pad_to_multiple "
        f"{head['pad_to_multiple']} (per mode in the table), evaluation {head['eval_pad_fraction']:.3f}. "
        f"Data pipeline: {head['data_rate']:,.0f} biographies/s with "
        f"{head['workers']} workers, {head['data_rate_one_core']:,.0f} on one core.",
        "",
        "| mode | pad fraction | ms/step | steps/s | non-pad tokens/s | MFU | syncs/step | data headroom | "
        "eval s | eval share (paper schedule) | projected run min | peak GiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, r in summary["modes"].items():
        lines.append(
            f"| {mode} | {r['pad_fraction']:.3f} | {r['ms_per_step']:.2f} | {r['steps_per_s']:.1f} | "
            f"{r['tokens_per_s']:,.0f} | "
            f"{r['mfu']:.3f} | {r['syncs_per_step']:.2f} | {r['data_headroom']:.1f}x | "
            f"{r.get('eval_seconds', float('nan')):.2f} | {r.get('eval_share', float('nan')):.3f} | "
            f"{r['projected_minutes']:.1f} | {r['peak_memory_gib']:.2f} |"
        )
    if summary.get("fit_over_plain"):
        ratios = "; ".join(f"{mode} {ratio:.3f}" for mode, ratio in summary["fit_over_plain"].items())
        lines += [
            "",
            f"factdyn fit / plain loop on the same model, batches and precision (median ms/step of "
            f"{head['repeats']} runs each): {ratios}",
        ]
    for mode, error in summary.get("failed", {}).items():
        lines += ["", f"{mode} failed: {error.splitlines()[0] if error else ''}"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="paper")
    parser.add_argument("--precision", default="bf16-mixed", choices=["bf16-mixed", "32-true"])
    parser.add_argument(
        "--modes", default="plain,eager,plain-cudagraphs,cudagraphs",
        help=f"fit modes {', '.join(MODES)}, and their plain loops {', '.join(PLAIN.values())}",
    )  # fmt: skip
    parser.add_argument("--steps", type=int, default=300, help="timed steps per mode")
    parser.add_argument("--repeats", type=int, default=1, help="runs per mode, in turn; medians reported")
    parser.add_argument("--warmup", type=int, default=40, help="untimed steps first (compilation)")
    parser.add_argument("--workers", type=int, default=4, help="DataLoader workers")
    parser.add_argument("--pad-to-multiple", type=int, default=8)
    parser.add_argument("--peak-tflops", type=float, default=None)
    parser.add_argument("--compile-backend", default="inductor", help="'eager' for CPU smoke tests")
    parser.add_argument("--data-seconds", type=float, default=3.0)
    parser.add_argument("--profile-eval", action="store_true", help="write eval_profile.txt (one evaluation)")
    parser.add_argument(
        "--profile-train", type=int, default=0, metavar="N",
        help="after the timed steps, profile N steps per mode (train_profile_<mode>.txt)",
    )  # fmt: skip
    args = parser.parse_args()
    modes = args.modes.split(",")
    unknown = set(modes) - set(MODES) - set(FIT_OF)
    if unknown:
        parser.error(f"--modes: unknown {sorted(unknown)}; allowed: {', '.join([*MODES, *FIT_OF])}")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    p = PRESETS[args.preset]
    name = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    peak = args.peak_tflops or next((v for k, v in PEAK_TFLOPS.items() if k in name), None)

    dm = make_datamodule(p, args.workers, args.pad_to_multiple)
    params = matmul_params(make_system(dm, p, "eager", "eager"))
    lengths = step_lengths(dm, range(args.warmup, args.warmup + args.steps))
    work = step_work(lengths, p, params)
    rate = data_rate(dm, args.data_seconds)
    one_core = data_rate(make_datamodule(p, 0, args.pad_to_multiple), args.data_seconds)
    eval_steps = paper_eval_steps(p["max_steps"])
    summary: dict = {
        "setup": {
            "device": name, "precision": args.precision, "preset": args.preset, "batch_size": p["batch_size"],
            "peak_tflops": peak, "torch": torch.__version__, "matmul_params": params,
            "pad_fraction": pad_fraction(lengths, args.pad_to_multiple, dm.max_seq_len),
            "pad_to_multiple": args.pad_to_multiple,
            "workers": args.workers, "repeats": args.repeats,
            "data_rate": rate, "data_rate_one_core": one_core,
            "useful_flops_per_step": work["flops"], "non_pad_tokens_per_step": work["tokens"],
            "eval_pad_fraction": eval_pad_fraction(dm),
            "paper_eval_steps": len(eval_steps), "max_steps": p["max_steps"],
        },
        "modes": {},
        "failed": {},
    }  # fmt: skip
    print(json.dumps(summary["setup"], indent=1), flush=True)
    runs: dict[str, list[dict]] = {}
    for repeat in range(args.repeats):  # in turn, so drifts of a noisy machine hit every mode alike
        for mode in modes:
            if mode in summary["failed"]:
                continue
            print(f"--- {mode} (run {repeat + 1} of {args.repeats})", flush=True)
            dm.pad_to_multiple = MODES[FIT_OF.get(mode, mode)][3] or args.pad_to_multiple
            # Pinned on a GPU (factdyn's default there) unless the mode says otherwise; the plain loops too.
            dm.pin_memory = args.device == "cuda" and not mode.endswith("-unpinned")
            try:
                if mode in FIT_OF:
                    r = run_plain(dm, p, args, mode, first=repeat == 0)
                else:
                    r = run_fit(dm, p, mode, args, args.out, first=repeat == 0)
            except Exception as error:  # one broken mode must not cost the others' measurements
                traceback.print_exc()
                summary["failed"][mode] = f"{type(error).__name__}: {error}"[:2000]
                save(summary, args.out)
                continue
            runs.setdefault(mode, []).append(r)
            summary["modes"][mode] = summarize(runs[mode], dm, p, lengths, work, rate, peak, eval_steps)
            print(json.dumps(summary["modes"][mode]), flush=True)
            summary["fit_over_plain"] = {
                fit: summary["modes"][fit]["ms_per_step"] / summary["modes"][plain]["ms_per_step"]
                for fit, plain in PLAIN.items()
                if fit in summary["modes"] and plain in summary["modes"]
            }
            save(summary, args.out)
    print(markdown(summary))


def summarize(runs: list[dict], dm, p, lengths, work, rate, peak, eval_steps) -> dict:
    """One mode's figures from its runs: the median time per step; evaluation and memory from the first."""
    per_step = [r["seconds"] / r["steps"] for r in runs]
    s = float(np.median(per_step))
    r = dict(runs[0])
    r.update(
        ms_per_step_runs=[x * 1e3 for x in per_step],
        pad_to_multiple=dm.pad_to_multiple,
        pad_fraction=pad_fraction(lengths, dm.pad_to_multiple, dm.max_seq_len),
        ms_per_step=s * 1e3,
        steps_per_s=1 / s,
        tokens_per_s=work["tokens"] / s,
        mfu=work["flops"] / s / (peak * 1e12) if peak else float("nan"),
        syncs_per_step=sum(x["syncs"] for x in runs) / sum(x["steps"] for x in runs),
        data_headroom=rate / (p["batch_size"] / s),
        peak_memory_gib=r.get("peak_memory_gib", float("nan")),
    )
    train_seconds = p["max_steps"] * s
    if "eval_seconds" in r:
        # Share of the run spent evaluating, and the worst interval (125 steps between evaluations).
        r["eval_share"] = len(eval_steps) * r["eval_seconds"] / train_seconds
        r["eval_share_worst_interval"] = r["eval_seconds"] / (125 * s)
        train_seconds += len(eval_steps) * r["eval_seconds"]
    r["projected_minutes"] = train_seconds / 60
    return r


def save(summary: dict, out: Path) -> None:
    """Write results.json and results.md (after every mode: a run cut short keeps what it measured)."""
    (out / "results.json").write_text(json.dumps(_jsonable(summary), indent=1))
    (out / "results.md").write_text(markdown(summary))


def _jsonable(x):
    """NaN (not measured, e.g. memory on CPU) as null, numpy numbers as Python numbers."""
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (float, np.floating)):
        return None if math.isnan(x) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    return x


if __name__ == "__main__":
    main()
