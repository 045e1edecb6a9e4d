"""Data pipeline: biographies per second on one core and through DataLoader workers, packed vs per-field.

    OMP_NUM_THREADS=1 python benchmarks/data_pipeline.py --workers 1,2 --consumed 5600
    python benchmarks/data_pipeline.py --tokenizers word,subword --workers ""    # one core, per tokenizer

``--consumed``: biographies per second the model trains on (e.g. 128 x steps/s from ``benchmarks/gpu.py``);
the script then prints the headroom (pipeline rate / consumption). Each rate is the median of ``--repeats``
runs of ``--seconds``; with several ``--tokenizers`` the one-core rounds alternate between them and the
ratio to the first is printed (the DataLoader rates are the first's). "per-field" sends the eight tensors
of a batch separately (what the stream did before batches were packed): every tensor then costs a
shared-memory segment and a file descriptor.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, IterableDataset

from factdyn.data.datamodule import BiographyDataModule
from factdyn.data.stream import BiographyStream


class PerFieldStream(IterableDataset):
    """The same batches as :class:`BiographyStream`, yielded as dicts of tensors (the unpacked baseline)."""

    def __init__(self, stream: BiographyStream) -> None:
        self.stream = stream

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        for step in self.stream.steps():
            yield self.stream.tensors_at(step)


def loader_rate(dataset: IterableDataset, workers: int, seconds: float) -> float:
    """Biographies per second out of a DataLoader over ``dataset`` (after the first batch)."""
    loader = iter(
        DataLoader(dataset, batch_size=None, num_workers=workers, prefetch_factor=4 if workers else None)
    )
    first = next(loader)
    rows = (first if isinstance(first, torch.Tensor) else first["tokens"]).shape[0]
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        next(loader)
        n += rows
    rate = n / (time.perf_counter() - start)
    del loader  # shuts the workers down before the next measurement
    return rate


def one_core_rate(stream: BiographyStream, seconds: float) -> float:
    """Biographies per second built and packed in this process (no DataLoader)."""
    n, step, start = 0, 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        stream.packed_at(step)
        n += stream.batch_size
        step += 1
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n-individuals", type=int, default=64_000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--pad-to-multiple", type=int, default=1)
    parser.add_argument("--workers", default="1,2", help='comma-separated worker counts ("": none)')
    parser.add_argument("--tokenizers", default="word", help="comma-separated data.tokenizer values")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--consumed", type=float, default=None, help="biographies/s the model consumes")
    args = parser.parse_args()
    streams = {}
    for tokenizer in args.tokenizers.split(","):
        dm = BiographyDataModule(
            n_individuals=args.n_individuals, n_unseen=16, batch_size=args.batch_size,
            n_val_sequences=1, n_unseen_sequences=1, pad_to_multiple=args.pad_to_multiple,
            tokenizer=tokenizer,
        )  # fmt: skip
        dm.setup()
        streams[tokenizer] = dm.train_dataloader().dataset
    rounds: dict[str, list[float]] = {tokenizer: [] for tokenizer in streams}
    for _ in range(args.repeats):  # alternating, so a noisy machine weighs on every tokenizer alike
        for tokenizer, stream in streams.items():
            rounds[tokenizer].append(one_core_rate(stream, args.seconds))
    first = next(iter(streams))
    for tokenizer, rates in rounds.items():
        core, ratio = statistics.median(rates), statistics.median(rates) / statistics.median(rounds[first])
        print(
            f"one core, in-process, data.tokenizer {tokenizer}: {core:,.0f} biographies/s (batch "
            f"{args.batch_size}, N {dm.n_individuals}; {ratio:.2f}x {first}; rounds "
            + ", ".join(f"{r:,.0f}" for r in rates) + ")"
        )  # fmt: skip
    stream = streams[first]

    def median(measure) -> float:
        return statistics.median(measure() for _ in range(args.repeats))

    for workers in [int(w) for w in args.workers.split(",") if w]:
        packed = median(lambda w=workers: loader_rate(stream, w, args.seconds))
        fields = median(lambda w=workers: loader_rate(PerFieldStream(stream), w, args.seconds))
        line = (
            f"{workers} workers: packed {packed:,.0f} biographies/s, per-field {fields:,.0f} "
            f"(packed / per-field {packed / fields:.2f}x)"
        )
        if args.consumed:
            line += f"; headroom {packed / args.consumed:.1f}x of {args.consumed:,.0f} consumed"
        print(line, flush=True)


if __name__ == "__main__":
    main()
