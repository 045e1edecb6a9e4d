"""Speed-path guarantees that can be checked on CPU: no per-step host syncs, shape padding, few compiles."""

from __future__ import annotations

import re
import sys
import threading
from collections import Counter
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch

from factdyn.data.batches import padded_length, to_torch
from factdyn.data.datamodule import BiographyDataModule
from factdyn.data.stream import BiographyStream
from factdyn.model import TransformerConfig
from factdyn.training.module import compile_model
from tests.helpers.runs import tiny_args

# Tensor methods that copy a device value to the host (and so wait for the device on a GPU).
SYNCING = ("item", "tolist", "__float__", "__int__", "__bool__", "numpy")


class StepRecorder(L.Callback):
    """Attributes what runs from the start of a training batch to the start of the next to that step.

    (Lightning's own end-of-batch work, such as converting progress-bar metrics, runs after the callbacks'
    ``on_train_batch_end``, so the window must extend to the next batch.)
    """

    step: int | None = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.step = trainer.global_step

    def on_train_end(self, trainer, pl_module) -> None:
        self.step = None


def test_training_steps_call_no_host_sync_except_on_log_steps(tmp_path, monkeypatch) -> None:
    from factdyn.cli import cli_main

    recorder = StepRecorder()
    # Wrap the syncing Tensor methods; record (step, caller) for calls made by Lightning or factdyn code
    # (torch's own CPU-side bookkeeping, e.g. AdamW's step counters, stays on the host on a GPU too).
    calls: Counter = Counter()
    for name in SYNCING:
        original = getattr(torch.Tensor, name)

        def wrapped(self, *args, _original=original, _name=name, **kwargs):
            caller = sys._getframe(1).f_code.co_filename
            # Only the training thread: the background checkpoint writer copies to the host (and hashes
            # there) without stalling the loop.
            on_loop = threading.current_thread() is threading.main_thread()
            if recorder.step is not None and on_loop and "/torch/" not in caller:
                calls[(recorder.step, _name, Path(caller).name)] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, wrapped)
    cli = cli_main(
        tiny_args(
            tmp_path / "logs",
            "--trainer.max_steps=12",
            "--trainer.log_every_n_steps=4",
            "--nonfinite.check_every_n_steps=4",  # as configs/paper.yaml: the guard reads on log steps
            "--checkpoints.dense_until=0",  # saving a checkpoint copies to the host; keep saves on log steps
            "--trainer.val_check_interval=100",
            "--trainer.enable_progress_bar=true",
        )[1:],  # without the "fit" subcommand: run=False
        run=False,
    )
    cli.trainer.callbacks.append(recorder)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    steps_with_sync = {step for step, _, _ in calls}
    # The wrappers must see the syncs that do happen (logging reads the loss on the host), or the check
    # below would pass on an empty record.
    assert sum(calls.values()) > 0 and steps_with_sync & {3, 7, 11}, f"no host sync recorded: {calls}"
    # Lightning writes logs after steps 3, 7 and 11 (every 4th); every other step must be sync-free.
    assert steps_with_sync <= {3, 7, 11}, calls


def test_pad_to_multiple_rounds_the_input_length_and_keeps_the_stream() -> None:
    assert padded_length(71, 8, 108) == 73  # input 70 -> 72
    assert padded_length(73, 8, 108) == 73  # input 72 already a multiple
    assert padded_length(107, 16, 108) == 109  # input capped at max_seq_len
    assert padded_length(71, 1, 108) == 71
    dm = BiographyDataModule(n_individuals=50, n_unseen=10, batch_size=8, n_val_sequences=16, seed=3)
    dm.setup()
    stream = BiographyStream(dm.assembler, dm.populations["train"], dm.sampler, 8, 3, 0, 0, True)
    for step in range(5):
        plain, padded = to_torch(stream.batch_at(step)), to_torch(stream.batch_at(step), 8, dm.max_seq_len)
        assert (padded["tokens"].shape[1] - 1) % 8 == 0
        L0 = plain["tokens"].shape[1]
        assert torch.equal(padded["tokens"][:, :L0], plain["tokens"])
        assert (padded["tokens"][:, L0:] == 0).all() and (padded["value_slot"][:, L0:] == -1).all()
        assert torch.equal(padded["value_slot"][:, :L0], plain["value_slot"])
    with pytest.raises(ValueError, match="data.pad_to_multiple: an integer >= 1, got 0"):
        BiographyDataModule(pad_to_multiple=0)


@pytest.mark.parametrize("positions", ["learned", "rotary", "none"])
def test_dynamic_compile_does_not_recompile_per_length(positions: str) -> None:
    """Also with rotary positions: the cos/sin tables are sliced to the symbolic length, not rebuilt."""
    from torch._dynamo.utils import counters

    from factdyn.model import Transformer, TransformerConfig

    torch._dynamo.reset()
    counters.clear()
    shape = dict(vocab_size=50, max_seq_len=40, n_layer=1, n_head=2, d_model=16, d_mlp=32)
    net = Transformer(TransformerConfig(**shape, positions=positions))
    compiled = compile_model(net, dynamic=True, backend="eager")
    rng = np.random.default_rng(0)
    for length in (17, 23, 31, 19, 29, 37):
        tokens = torch.from_numpy(rng.integers(0, 50, size=(4, length)))
        torch.testing.assert_close(compiled(tokens), net(tokens))
    assert counters["stats"]["unique_graphs"] == 1
    torch._dynamo.reset()


def test_gpu_benchmark_runs_on_cpu(tmp_path) -> None:
    """The GPU benchmark's code path (fit, plain loop, compiled forward, eval timing, reports) on CPU."""
    import json
    import os
    import subprocess

    repo = Path(__file__).resolve().parents[1]
    out = tmp_path / "gpu"
    args = ["--device", "cpu", "--preset", "tiny", "--steps", "4", "--warmup", "2", "--precision", "32-true"]
    args += ["--modes", "plain,eager,plain-compiled,compiled", "--compile-backend", "eager", "--workers", "1"]
    args += ["--data-seconds", "0.2", "--out", str(out), "--profile-train", "2", "--repeats", "2"]
    env = {**os.environ, "PYTHONPATH": str(repo), "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, str(repo / "benchmarks" / "gpu.py"), *args], check=True, env=env)
    results = json.loads((out / "results.json").read_text())
    assert set(results["modes"]) == {"plain", "eager", "plain-compiled", "compiled"}
    for mode in ("eager", "compiled"):
        r = results["modes"][mode]
        assert r["steps"] == 4 and r["eval_seconds"] > 0
        assert len(r["ms_per_step_runs"]) == 2
        assert r["ms_per_step"] == pytest.approx(np.median(r["ms_per_step_runs"]))
    assert 0 < results["setup"]["pad_fraction"] < 0.5
    assert set(results["fit_over_plain"]) == {"eager", "compiled"}
    ratio = results["modes"]["compiled"]["ms_per_step"] / results["modes"]["plain-compiled"]["ms_per_step"]
    assert results["fit_over_plain"]["compiled"] == pytest.approx(ratio)
    assert "| compiled |" in (out / "results.md").read_text()
    for mode in results["modes"]:  # torch.profiler then cProfile, 2 steps each, in the first run only
        profile = (out / f"train_profile_{mode}.txt").read_text()
        assert profile.startswith("wall ") and "== cProfile, 2 steps" in profile, mode


def run_benchmark(script: str, *args: str) -> str:
    import os
    import subprocess

    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(repo), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, str(repo / "benchmarks" / script), *args]
    return subprocess.run(command, check=True, env=env, capture_output=True, text=True).stdout


def test_data_pipeline_benchmark_compares_packed_and_per_field_batches() -> None:
    out = run_benchmark(
        "data_pipeline.py", "--n-individuals", "200", "--batch-size", "16", "--workers", "1",
        "--seconds", "0.3", "--repeats", "1", "--consumed", "100", "--tokenizers", "word,subword",
    )  # fmt: skip
    assert "one core, in-process, data.tokenizer word: " in out and "1.00x word" in out
    assert re.search(r"data\.tokenizer subword: [\d,]+ biographies/s .*; \d\.\d\dx word; rounds", out), out
    assert re.search(r"1 workers: packed [\d,]+ biographies/s, per-field [\d,]+ \(packed / per-field", out), (
        out
    )
    assert "headroom" in out


def test_checkpoint_benchmark_times_foreground_and_background_writes() -> None:
    out = run_benchmark("checkpoint_writes.py", "--tiny", "--rounds", "1")
    assert "foreground: blocked" in out and "background: blocked" in out
    assert re.search(r"blocked time, background / foreground: \d+\.\d+", out), out


def test_compiled_model_puts_no_second_copy_of_the_weights_in_checkpoints() -> None:
    from factdyn.training.module import FactLearner

    def keys(**kwargs) -> list[str]:
        config = TransformerConfig(50, 16, n_layer=1, n_head=1, d_model=8, d_mlp=8)
        return list(FactLearner(config, ["a"], [10], "fp", **kwargs).state_dict())

    assert keys(compile=True, compile_mode="reduce-overhead") == keys(compile=False)


@pytest.mark.slow
def test_inductor_compiled_static_shape_run_trains_and_loads_uncompiled(run_tiny) -> None:
    """configs/presets/gpu_fast.yaml's settings through a real inductor compile (on CPU: no CUDA graphs)."""
    from factdyn.training.module import FactLearner

    cli, run_dir = run_tiny(
        "--model.compile=true",
        "--model.compile_mode=reduce-overhead",
        "--model.compile_dynamic=false",
        "--data.pad_to_multiple=1024",
        "--data.num_workers=1",
    )
    assert cli.trainer.global_step == 8
    loaded = FactLearner.load_from_checkpoint(run_dir / "checkpoints" / "last.ckpt", compile=False)
    for name, value in cli.model.model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[name], value.cpu()), name


GPU_SESSIONS = ("gpu_session.sh", "gpu_overhead_session.sh", "gpu_profile_session.sh")


def test_gpu_session_scripts_name_only_known_modes() -> None:
    """A session script runs once on a lent GPU: a mode that gpu.py refuses would cost that call."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from gpu import FIT_OF, MODES

    bench = Path(__file__).resolve().parents[1] / "benchmarks"
    named = []
    for script in GPU_SESSIONS:
        text = (bench / script).read_text()
        for found in re.findall(r"(?:--modes\s+|MODES=)([\w,-]+)", text):
            named += found.split(",")
    assert named and set(named) <= set(MODES) | set(FIT_OF), sorted(set(named) - set(MODES) - set(FIT_OF))


@pytest.mark.slow
@pytest.mark.parametrize("script", GPU_SESSIONS)
def test_gpu_session_script_previews_on_cpu(script: str, tmp_path) -> None:
    """Each prepared GPU call runs end to end on CPU at tiny sizes and leaves its packed results."""
    import os
    import subprocess

    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PREVIEW": "1", "OUT": str(tmp_path / "out"), "RUNS": str(tmp_path / "runs")}
    env["PY"] = sys.executable
    subprocess.run(["bash", str(repo / "benchmarks" / script)], check=True, env=env, cwd=repo, timeout=300)
    out = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert "results.tar.gz" in out and "timeline.txt" in out and len(out) <= 8, out
    kept = sorted((tmp_path / "out").glob("*results.md"))
    assert kept, out  # every session keeps gpu.py's first results.md (as <folder>_results.md)
    for results in kept:  # gpu.py lists a mode that raised as failed
        assert "failed" not in results.read_text(), results.name


def test_compile_without_a_cpu_compiler_trains_eagerly_with_a_warning(run_tiny, monkeypatch) -> None:
    """``model.compile: true`` (the quickstart's setting) on a machine with no C++ compiler: eager, warned.

    Without the check inductor would raise at the first training step, after the run directory exists.
    """
    import factdyn.training.module as module

    monkeypatch.setattr(module, "cpu_compiler", lambda: None)
    with pytest.warns(UserWarning, match="model.compile: no C\\+\\+ compiler found"):
        cli, _ = run_tiny("--model.compile=true")
    assert cli.trainer.global_step == 8
    assert cli.model._forward is cli.model.model
