"""Throughput: the data pipeline alone, and `factdyn fit` next to a plain PyTorch loop on the same model.

    python benchmarks/throughput.py                 # quickstart-sized model on CPU
    python benchmarks/throughput.py --preset paper --device cuda --precision bf16-mixed
    python benchmarks/throughput.py --as-run        # the quickstart as `factdyn fit` runs it (CPU)

Prints medians over ``--repeats`` alternating runs (machines are noisy) and the ratio factdyn / plain loop.

``--as-run`` compares in separate processes: ``factdyn fit`` on ``configs/quickstart.yaml`` with its
callbacks, defaults and process settings (``factdyn.process``), against a plain loop in a process with
none of them, on the same model and the DataModule that config builds. Each process also reports the
system share of its CPU time.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import lightning as L
import numpy as np
import torch
from data_pipeline import one_core_rate  # benchmarks/: the script folder is on sys.path
from plain_loop import plain_step

from factdyn.data.batches import to_torch
from factdyn.data.datamodule import BiographyDataModule
from factdyn.data.stream import BiographyStream
from factdyn.model import TransformerConfig
from factdyn.training.module import FactLearner

QUICKSTART = Path(__file__).resolve().parents[1] / "configs" / "quickstart.yaml"
PRESETS = {
    "quickstart": dict(n_layer=4, n_head=4, d_model=128, d_mlp=512, batch_size=32, n_individuals=2000),
    "tiny": dict(n_layer=2, n_head=2, d_model=32, d_mlp=64, batch_size=16, n_individuals=500),
    "paper": dict(n_layer=8, n_head=8, d_model=512, d_mlp=2048, batch_size=128, n_individuals=64000),
}


def datamodule(p: dict) -> BiographyDataModule:
    dm = BiographyDataModule(
        n_individuals=p["n_individuals"],
        n_unseen=256,
        batch_size=p["batch_size"],
        n_val_sequences=512,  # the quickstart's evaluation sets (for their pad fraction)
        n_unseen_sequences=256,
    )
    dm.setup()
    return dm


def model(dm: BiographyDataModule, p: dict) -> FactLearner:
    torch.manual_seed(0)
    shape = {k: p[k] for k in ("n_layer", "n_head", "d_model", "d_mlp")}
    return FactLearner(
        TransformerConfig(dm.vocab_size, dm.max_seq_len, **shape),
        dm.attributes,
        dm.attribute_cardinalities,
        dm.tokenizer_fingerprint,
    )


def data_rate(dm: BiographyDataModule, seconds: float = 2.0, batch_size: int | None = None) -> float:
    """Biographies per second of one core: sample individuals, assemble, build and pack the batch tensors."""
    batch_size = batch_size or dm.batch_size
    stream = BiographyStream(dm.assembler, dm.populations["train"], dm.sampler, batch_size, 0, 0, 0, True)
    return one_core_rate(stream, seconds)


def plain_loop(dm: BiographyDataModule, p: dict, steps: int, device: str, precision: str) -> list[float]:
    """Per-step seconds of a hand-written loop: same model, optimizer groups, batches and loss."""
    system = model(dm, p).to(device)
    net = system.model
    opt = torch.optim.AdamW(net.optimizer_groups(0.1), lr=4e-4, betas=(0.9, 0.95), fused=True)
    stream = BiographyStream(dm.assembler, dm.populations["train"], dm.sampler, dm.batch_size, 0, 0, 0, True)
    autocast = torch.autocast(device, dtype=torch.bfloat16, enabled=precision == "bf16-mixed")
    times = []
    for step in range(steps):
        start = time.perf_counter()
        plain_step(
            net, opt, to_torch(stream.batch_at(step))["tokens"].to(device, non_blocking=True), autocast
        )
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return times


class StepTimer(L.Callback):
    def __init__(self) -> None:
        self.times: list[float] = []
        self._last = 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if not self._last:
            self._last = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if pl_module.device.type == "cuda":
            torch.cuda.synchronize()
        now = time.perf_counter()
        self.times.append(now - self._last)
        self._last = now


def factdyn_fit(dm: BiographyDataModule, p: dict, steps: int, device: str, precision: str) -> list[float]:
    """Per-step seconds inside a real Lightning Trainer.fit (no evaluation, no logging to disk)."""
    timer = StepTimer()
    trainer = L.Trainer(
        max_steps=steps,
        accelerator=device,
        devices=1,
        precision=precision,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        callbacks=[timer],
        use_distributed_sampler=False,
    )
    trainer.fit(model(dm, p), datamodule=dm)
    return timer.times


def as_run_child(role: str, steps: int, out: str) -> None:
    """One process of ``--as-run``: the CLI's own fit (``role == "fit"``) or a plain loop."""
    import json
    import resource
    import tempfile

    from factdyn.cli import cli_main
    from factdyn.process import keep_freed_memory

    if role == "fit":
        keep_freed_memory()  # what the factdyn command does first
    with tempfile.TemporaryDirectory() as tmp:
        args = ["--config", str(QUICKSTART), "--trainer.max_steps", str(steps)]  # run=False: no subcommand
        args += ["--trainer.limit_val_batches", "0", "--trainer.enable_progress_bar", "false"]
        args += ["--trainer.logger.init_args.save_dir", tmp]
        cli = cli_main(args, run=False)
        dm = cli.datamodule
        if role == "fit":
            timer = StepTimer()
            cli.trainer.callbacks.append(timer)
            cli.trainer.fit(cli.model, datamodule=dm)
            times = timer.times
        else:
            dm.setup("fit")
            net = cli.model.model
            opt = torch.optim.AdamW(net.optimizer_groups(0.1), lr=3e-3, betas=(0.9, 0.95), fused=True)
            stream = BiographyStream(
                dm.assembler, dm.train_population, dm.sampler, dm.batch_size, dm.seed, 0, 0, True
            )
            times = []
            for step in range(steps):
                start = time.perf_counter()
                plain_step(
                    net, opt, to_torch(stream.batch_at(step))["tokens"], torch.autocast("cpu", enabled=False)
                )
                times.append(time.perf_counter() - start)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    Path(out).write_text(json.dumps({"times": times, "user": ru.ru_utime, "sys": ru.ru_stime}))


def as_run(steps: int, warmup: int, repeats: int) -> None:
    """``--as-run``: each loop in its own process, alternating, medians of ``repeats``."""
    import json
    import subprocess
    import sys
    import tempfile

    runs: dict[str, list[dict]] = {"plain": [], "fit": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            for role in runs:
                out = Path(tmp) / f"{role}{i}.json"
                cmd = [
                    sys.executable,
                    __file__,
                    "--as-run-child",
                    role,
                    "--steps",
                    str(steps),
                    "--out",
                    str(out),
                ]
                subprocess.run(cmd, check=True, capture_output=True)
                runs[role].append(json.loads(out.read_text()))
    step = {r: statistics.median(statistics.median(x["times"][warmup:]) for x in v) for r, v in runs.items()}
    for role, name in (("plain", "plain PyTorch loop"), ("fit", "factdyn fit")):
        share = statistics.median(x["sys"] / (x["user"] + x["sys"]) for x in runs[role])
        print(
            f"{name + ':':<20} {step[role] * 1e3:.1f} ms/step  system {share:.1%} of the process's CPU time"
        )
    print(
        f"ratio factdyn / plain (time per step): {step['fit'] / step['plain']:.3f}  "
        f"[quickstart config as run, separate processes, {repeats} rounds, torch threads "
        f"{torch.get_num_threads()}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), default="quickstart")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5, help="steps left out of each median")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="32-true", choices=["32-true", "bf16-mixed"])
    parser.add_argument("--as-run", action="store_true", help="the quickstart as `factdyn fit` runs it")
    parser.add_argument("--as-run-child", choices=["plain", "fit"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.as_run_child:
        as_run_child(args.as_run_child, args.steps, args.out)
        return
    if args.as_run:
        as_run(args.steps, args.warmup, args.repeats)
        return
    p = PRESETS[args.preset]
    dm = datamodule(p)
    stream = BiographyStream(dm.assembler, dm.populations["train"], dm.sampler, dm.batch_size, 0, 0, 0, True)
    batches = [stream.batch_at(s) for s in range(args.steps)]
    tokens_per_step = float(np.mean([b.lengths.sum() for b in batches]))
    pad = 1 - sum((b.lengths - 1).sum() for b in batches) / sum(b.tokens[:, 1:].size for b in batches)
    eval_targets = [b["tokens"][:, 1:] for name in dm.eval_set_names() for b in dm.eval_batches[name]]
    eval_pad = sum(int((t == 0).sum()) for t in eval_targets) / sum(t.numel() for t in eval_targets)
    print(f"pad fraction (targets): training batches {pad:.3f}, evaluation batches {eval_pad:.3f}")

    for batch_size in sorted({p["batch_size"], 128}):
        rates = [data_rate(dm, batch_size=batch_size) for _ in range(args.repeats)]
        print(
            f"data pipeline: {statistics.median(rates):,.0f} biographies/s on one core "
            f"(median of {args.repeats}; batch {batch_size}, N = {p['n_individuals']})"
        )

    plain, lit = [], []
    for _ in range(args.repeats):  # alternate so drifts in machine load hit both
        plain.append(
            statistics.median(plain_loop(dm, p, args.steps, args.device, args.precision)[args.warmup :])
        )
        lit.append(
            statistics.median(factdyn_fit(dm, p, args.steps, args.device, args.precision)[args.warmup :])
        )
    plain_s, lit_s = statistics.median(plain), statistics.median(lit)
    print(f"plain PyTorch loop: {plain_s * 1e3:.1f} ms/step  {tokens_per_step / plain_s:,.0f} tokens/s")
    print(f"factdyn fit:        {lit_s * 1e3:.1f} ms/step  {tokens_per_step / lit_s:,.0f} tokens/s")
    print(
        f"ratio factdyn / plain (time per step): {lit_s / plain_s:.3f}  "
        f"[{args.preset}, {args.device}, {args.precision}, torch threads {torch.get_num_threads()}]"
    )


if __name__ == "__main__":
    main()
