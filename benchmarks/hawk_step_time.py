"""Training-step time of the Hawk mixer next to attention, on the same model shape and batches.

    python benchmarks/hawk_step_time.py                         # quickstart-sized model on CPU
    python benchmarks/hawk_step_time.py --device cuda --steps 50

Each measurement is a plain PyTorch step (forward, loss, backward, AdamW) on real biography batches;
the two mixers alternate over ``--repeats`` rounds and the medians are printed with their ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import torch
from plain_loop import plain_step  # benchmarks/plain_loop.py: the script folder is on sys.path

from factdyn.data.batches import to_torch
from factdyn.data.datamodule import BiographyDataModule
from factdyn.data.stream import BiographyStream
from factdyn.model import Transformer, TransformerConfig

SHAPES = {
    "quickstart": dict(n_layer=4, n_head=4, d_model=128, d_mlp=512),
    "44m": dict(n_layer=8, n_head=8, d_model=512, d_mlp=2048),
}


def step_times(mixer: str, shape: dict, batches: list[torch.Tensor], device: str) -> list[float]:
    torch.manual_seed(0)
    config = TransformerConfig(vocab_size=VOCAB, max_seq_len=MAX_LEN, sequence_mixer=mixer, **shape)
    model = Transformer(config).to(device)
    opt = torch.optim.AdamW(model.optimizer_groups(0.1), lr=1e-3)
    times = []
    for tokens in batches:
        start = time.perf_counter()
        plain_step(model, opt, tokens.to(device), contextlib.nullcontext())
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    global VOCAB, MAX_LEN
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shape", choices=sorted(SHAPES), default="quickstart")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--warmup", type=int, default=3, help="steps left out of each median")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    dm = BiographyDataModule(n_individuals=2000, n_unseen=0, batch_size=args.batch_size)
    dm.setup()
    VOCAB, MAX_LEN = dm.vocab_size, dm.max_seq_len
    stream = BiographyStream(
        dm.assembler, dm.populations["train"], dm.sampler, args.batch_size, 0, 0, 0, True
    )
    batches = [to_torch(stream.batch_at(s))["tokens"] for s in range(args.steps)]
    medians: dict[str, list[float]] = {"attention": [], "hawk": []}
    for _ in range(args.repeats):  # alternate so drifts in machine load hit both
        for mixer in medians:
            times = step_times(mixer, SHAPES[args.shape], batches, args.device)
            medians[mixer].append(statistics.median(times[args.warmup :]))
    att, hawk = statistics.median(medians["attention"]), statistics.median(medians["hawk"])
    print(
        f"attention: {att * 1e3:.1f} ms/step   hawk: {hawk * 1e3:.1f} ms/step   "
        f"hawk / attention: {hawk / att:.2f}"
    )
    print(
        f"[{args.shape} shape, batch {args.batch_size}, {args.device}, "
        f"torch threads {torch.get_num_threads()}, "
        f"median of {args.repeats} x {args.steps - args.warmup} steps]"
    )


VOCAB = MAX_LEN = 0

if __name__ == "__main__":
    main()
