"""Per-step cost of attention patching and of the attention statistics.

    python benchmarks/patching_overhead.py [--size quickstart] [--device cpu|cuda] [--steps 20] [--repeats 5]

Times one training step (forward, backward, AdamW update) on real biography batches for:
  fused     the default path (scaled_dot_product_attention, no hooks);
  explicit  the explicit-softmax path alone (what any pattern hook forces);
  patched   the fused-config model patched in every layer from a frozen reference of the same shape
            (includes the reference's no-grad forward and the hooks, as AttentionPatching does).
Prints the median per-step time of ``--repeats`` interleaved repeats, the ratios to ``fused``, and the time of
one AttentionStatistics measurement on 512 sequences. Peak GPU memory is printed on CUDA.
"""

from __future__ import annotations

import argparse
import statistics
import time
from contextlib import nullcontext

import torch

from factdyn.callbacks import AttentionStatistics
from factdyn.data import BiographyDataModule
from factdyn.data.batches import to_torch
from factdyn.data.stream import BiographyStream
from factdyn.interp.patching import patched_attention
from factdyn.model import Transformer, TransformerConfig

SIZES = {  # (n_layer, n_head, d_model, d_mlp, batch_size)
    "tiny": (2, 2, 16, 32, 8),
    "quickstart": (4, 4, 128, 512, 32),
    "paper": (8, 8, 512, 2048, 128),
}


def batches(datamodule: BiographyDataModule, n: int, device: str) -> list[torch.Tensor]:
    stream = BiographyStream(
        datamodule.assembler, datamodule.populations["train"], datamodule.sampler, datamodule.batch_size,
        seed=0, start_step=0, rank=0, shuffle_sentences=True,
    )  # fmt: skip
    return [to_torch(stream.batch_at(step))["tokens"].to(device) for step in range(n)]


def time_steps(
    model: Transformer, tokens: list[torch.Tensor], reference: Transformer | None, device: str
) -> float:
    """Median seconds per training step over ``tokens``."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    times = []
    for batch in tokens:
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        inputs, targets = batch[:, :-1], batch[:, 1:]
        context = patched_attention(model, reference, inputs) if reference is not None else nullcontext()
        with context:
            logits = model(inputs)
            loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=0)
            loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="quickstart")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--stats-sequences", type=int, default=512)
    args = parser.parse_args()

    n_layer, n_head, d_model, d_mlp, batch_size = SIZES[args.size]
    datamodule = BiographyDataModule(
        n_individuals=2000, n_unseen=16, batch_size=batch_size, n_val_sequences=16
    )
    datamodule.setup()
    tokens = batches(datamodule, args.steps + 2, args.device)
    shape = dict(vocab_size=datamodule.vocab_size, max_seq_len=datamodule.max_seq_len)
    shape.update(n_layer=n_layer, n_head=n_head, d_model=d_model, d_mlp=d_mlp)
    torch.manual_seed(0)
    models = {
        "fused": Transformer(TransformerConfig(**shape)).to(args.device),
        "explicit": Transformer(TransformerConfig(**shape, attention="explicit")).to(args.device),
        "patched": Transformer(TransformerConfig(**shape)).to(args.device),
    }
    reference = Transformer(TransformerConfig(**shape)).to(args.device).eval().requires_grad_(False)

    results: dict[str, list[float]] = {name: [] for name in models}
    peak: dict[str, float] = {}
    for _ in range(args.repeats):  # interleaved, so slow drifts of the machine hit every mode alike
        for name, model in models.items():
            if args.device == "cuda":
                torch.cuda.reset_peak_memory_stats()
            time_steps(model, tokens[:2], reference if name == "patched" else None, args.device)  # warm-up
            results[name].append(
                time_steps(model, tokens[2:], reference if name == "patched" else None, args.device)
            )
            if args.device == "cuda":
                peak[name] = torch.cuda.max_memory_allocated() / 2**20

    device = (
        torch.cuda.get_device_name() if args.device == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    )
    print(f"size {args.size} (layers {n_layer}, d_model {d_model}, batch {batch_size}), {device}")
    fused = statistics.median(results["fused"])
    for name, times in results.items():
        t = statistics.median(times)
        memory = f", peak {peak[name]:.0f} MiB" if name in peak else ""
        print(f"  {name:<9} {1e3 * t:8.2f} ms/step  x{t / fused:.2f}{memory}")

    callback = AttentionStatistics(n_sequences=args.stats_sequences)
    batch = callback.fixed_batch(datamodule)
    model = models["fused"].eval()
    callback.measure(model, batch)  # warm-up
    start = time.perf_counter()
    callback.measure(model, batch)
    if args.device == "cuda":
        torch.cuda.synchronize()
    print(f"  AttentionStatistics on {args.stats_sequences} sequences: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
