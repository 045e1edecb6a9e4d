"""Checkpoint writing: how long training waits per save, written in the foreground vs in the background.

    python benchmarks/checkpoint_writes.py                      # paper-size model and AdamW state (~350 MB)
    python benchmarks/checkpoint_writes.py --device cuda

Each round saves what the paper config saves at a step that is on both schedules: ``step=N.ckpt`` and then
``last.ckpt`` of the same state (the second is a hard link). ``foreground``:
:class:`~factdyn.training.checkpoint_io.AtomicCheckpointIO`; ``background``: the same with
``background=True``, as ``checkpoints.background_writes: true`` sets. Prints, per mode, the median time
the caller is blocked per round and the median time until the files are on disk, and their ratio.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch

from factdyn.model import Transformer, TransformerConfig
from factdyn.training.checkpoint_files import load_verified
from factdyn.training.checkpoint_io import AtomicCheckpointIO


def paper_state(device: str, tiny: bool = False) -> dict:
    """A checkpoint dict of the paper-size model with a full AdamW state (weights and both moments)."""
    shape = dict(n_layer=1, n_head=1, d_model=8, d_mlp=8) if tiny else {}
    net = Transformer(TransformerConfig(vocab_size=4016, max_seq_len=87, **shape)).to(device)
    params = dict(net.named_parameters())
    moments = {
        name: {"exp_avg": torch.randn_like(p), "exp_avg_sq": torch.rand_like(p)} for name, p in params.items()
    }
    return {"epoch": 0, "state_dict": net.state_dict(), "optimizer_states": [{"state": moments}]}


def one_round(io, state: dict, folder: Path, step: int) -> tuple[float, float]:
    """Seconds the caller is blocked, and seconds until both files are written and verified."""
    start = time.perf_counter()
    io.save_checkpoint({**state, "global_step": step}, folder / f"step={step:08d}.ckpt")
    io.save_checkpoint({**state, "global_step": step}, folder / "last.ckpt")
    blocked = time.perf_counter() - start
    io.teardown()  # waits for the writer thread
    done = time.perf_counter() - start
    assert load_verified(folder / "last.ckpt")["global_step"] == step
    return blocked, done


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: a temporary folder)")
    parser.add_argument("--tiny", action="store_true", help="a tiny model instead (tests of this script)")
    args = parser.parse_args()
    state = paper_state(args.device, args.tiny)
    n_bytes = sum(t.numel() * t.element_size() for t in state["state_dict"].values()) * 3
    folder = Path(tempfile.mkdtemp(dir=args.dir))
    results = {}
    try:
        for mode in ("foreground", "background"):
            rounds = []
            for step in range(args.rounds):
                io = AtomicCheckpointIO(config="benchmark", background=mode == "background")
                rounds.append(one_round(io, state, folder, step))
            results[mode] = [statistics.median(r[i] for r in rounds) for i in (0, 1)]
            print(
                f"{mode}: blocked {results[mode][0]:.3f} s per round, written after {results[mode][1]:.3f} s "
                f"(median of {args.rounds}; 2 saves of {n_bytes / 2**20:.0f} MB, the second a hard link)",
                flush=True,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"blocked time, background / foreground: {results['background'][0] / results['foreground'][0]:.3f}")


if __name__ == "__main__":
    main()
