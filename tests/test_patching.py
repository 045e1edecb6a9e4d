"""Attention patching: own patterns change nothing, another reference changes outputs, no gradient leaks."""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from factdyn.callbacks import AttentionPatching
from factdyn.interp.patching import (
    Reference,
    check_compatible,
    checkpoint_path,
    load_reference,
    patched_attention,
)
from factdyn.model import (
    POSITIONS,
    Transformer,
    TransformerConfig,
    hook_points,
    hooks,
    pattern_hook_names,
    run_with_patterns,
)
from factdyn.training.module import FactLearner

CONFIG = dict(vocab_size=40, max_seq_len=16, n_layer=2, n_head=2, d_model=16, d_mlp=32)


def tiny_model(seed: int, positions: str = "learned") -> Transformer:
    torch.manual_seed(seed)
    return Transformer(TransformerConfig(**CONFIG, positions=positions))


def loss_and_grads(model: nn.Module, idx: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    model.zero_grad(set_to_none=True)
    logits = model(idx)
    loss = nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1), idx[:, 1:].flatten())
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return logits.detach(), grads


IDX = torch.randint(3, 40, (3, 12), generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("positions", POSITIONS)
def test_own_patterns_leave_outputs_and_gradients_unchanged(positions: str) -> None:
    """Patching with the model's own weights: same outputs; same gradients as the stop-gradient model.

    The reference's pattern is a constant for the patched model (the paper's stop-gradient), so the exact
    invariant is: gradients equal those of the unpatched model whose patterns are detached. Parameters that
    feed no pattern (output head, final norm, last block's MLP, output projection and value rows) get exactly
    their ordinary gradient; the query/key rows of every patched layer get none. Positions reach the pattern
    only through the scores, so this holds for every ``positions`` choice.
    """
    model = tiny_model(0, positions)
    reference = copy.deepcopy(model).eval().requires_grad_(False)
    logits, grads = loss_and_grads(model, IDX)
    detach = {name: (lambda pattern, hook: pattern.detach()) for name in pattern_hook_names(model)}
    with hooks(model, detach):
        detached_logits, detached_grads = loss_and_grads(model, IDX)
    with patched_attention(model, reference, IDX):
        patched_logits, patched_grads = loss_and_grads(model, IDX)
    torch.testing.assert_close(patched_logits, logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(detached_logits, logits, atol=1e-5, rtol=1e-5)
    assert patched_grads.keys() == grads.keys()
    for name, grad in patched_grads.items():
        torch.testing.assert_close(grad, detached_grads[name], atol=1e-6, rtol=1e-5)
    d, last = CONFIG["d_model"], f"transformer.h.{CONFIG['n_layer'] - 1}."
    no_pattern_upstream = ["lm_head.weight", "transformer.ln_f.weight"] + [
        last + p for p in ("ln_2.weight", "mlp.c_fc.weight", "mlp.c_proj.weight", "attn.c_proj.weight")
    ]
    for name in no_pattern_upstream:
        torch.testing.assert_close(patched_grads[name], grads[name], atol=1e-6, rtol=1e-5)
    for name, grad in patched_grads.items():
        if name.endswith("attn.c_attn.weight"):
            assert torch.count_nonzero(grad[: 2 * d]) == 0  # query and key rows
            assert torch.count_nonzero(grads[name][: 2 * d]) > 0
            if name.startswith(last):  # value rows of the last layer: nothing upstream changed
                torch.testing.assert_close(grad[2 * d :], grads[name][2 * d :], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("positions", POSITIONS)
def test_another_reference_changes_outputs_and_gets_no_gradient(positions: str) -> None:
    model = tiny_model(0, positions)
    reference = tiny_model(
        1, positions
    )  # trainable on purpose: the stop-gradient must come from patching itself
    with torch.no_grad():  # sharpen its attention, far from the near-uniform patterns of an initial model
        for block in reference.blocks:
            block.attn.c_attn.weight[: CONFIG["d_model"]] *= 50.0
    logits, _ = loss_and_grads(model, IDX)
    with torch.no_grad():
        _, ref_patterns = run_with_patterns(reference, IDX)
    with patched_attention(model, reference, IDX):
        patched_logits, patched_grads = loss_and_grads(model, IDX)
        with torch.no_grad():
            _, seen = run_with_patterns(model, IDX)  # recorded after the replacement hook
    assert (patched_logits - logits).abs().max() > 1e-3  # float noise is ~1e-6
    for got, want in zip(seen, ref_patterns, strict=True):
        torch.testing.assert_close(got, want)
    assert all(p.grad is None for p in reference.parameters())
    assert patched_grads.keys() == {n for n, _ in model.named_parameters()}  # every weight got a gradient
    assert all(g.isfinite().all() for g in patched_grads.values())


def test_only_the_chosen_layers_are_patched() -> None:
    model, reference = tiny_model(0), tiny_model(1)
    with torch.no_grad():
        _, own = run_with_patterns(model, IDX)
        _, ref = run_with_patterns(reference, IDX)
        with patched_attention(model, reference, IDX, layers=[1]):
            _, seen = run_with_patterns(model, IDX)
    # Layer 1 takes the reference's pattern; layer 0 keeps its own (its input is unchanged).
    torch.testing.assert_close(seen[0], own[0])
    torch.testing.assert_close(seen[1], ref[1])


def test_hooks_are_removed_even_on_error() -> None:
    model, reference = tiny_model(0), tiny_model(1)
    with pytest.raises(RuntimeError, match="boom"):
        with patched_attention(model, reference, IDX):
            assert any(p.has_hooks() for p in hook_points(model).values())
            raise RuntimeError("boom")
    assert not any(p.has_hooks() for p in hook_points(model).values())
    with pytest.raises(RuntimeError, match="does not match"):  # another input than the reference saw
        with patched_attention(model, reference, IDX):
            model(IDX[:, :5])
    assert not any(p.has_hooks() for p in hook_points(model).values())


def _reference(model: Transformer, fingerprint: str = "abc") -> Reference:
    return Reference(model=model, path=Path("ref.ckpt"), step=0, tokenizer_fingerprint=fingerprint)


def test_mismatching_reference_is_refused_naming_the_fields() -> None:
    model = tiny_model(0)
    check_compatible(_reference(tiny_model(1)), model, "abc")  # same shape: fine
    deeper = Transformer(TransformerConfig(**{**CONFIG, "n_layer": 3, "d_mlp": 64}))
    with pytest.raises(ValueError, match=r"n_layer: reference 3 != model 2.*d_mlp: reference 64 != model 32"):
        check_compatible(_reference(deeper), model, "abc")
    with pytest.raises(ValueError, match="tokenizer_fingerprint: reference 'abc' != model 'xyz'"):
        check_compatible(_reference(tiny_model(1)), model, "xyz")
    with pytest.raises(ValueError, match="a recurrent mixer has none to patch"):
        check_compatible(_reference(tiny_model(1)), nn.Linear(2, 2), "abc")


def save_module_checkpoint(module: FactLearner, path: Path, step: int) -> Path:
    """The parts of a Lightning checkpoint the reference loader reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"hyper_parameters": dict(module.hparams), "state_dict": module.state_dict(), "global_step": step},
        path,
    )
    return path


def learner(seed: int, compile: bool = False, **overrides) -> FactLearner:
    torch.manual_seed(seed)
    return FactLearner(
        TransformerConfig(**{**CONFIG, **overrides}), tokenizer_fingerprint="abc", compile=compile
    )


def test_reference_resolution_and_loading(tmp_path: Path) -> None:
    module = learner(0)
    ckpt = save_module_checkpoint(module, tmp_path / "run" / "checkpoints" / "step=00000500.ckpt", 500)
    assert checkpoint_path(tmp_path / "run", 500) == ckpt
    assert checkpoint_path(ckpt) == ckpt
    with pytest.raises(ValueError, match="reference_step"):
        checkpoint_path(tmp_path / "run")
    with pytest.raises(FileNotFoundError, match=r"step=00000500.ckpt"):  # lists what is there
        checkpoint_path(tmp_path / "run", 400)
    reference = load_reference(ckpt)
    assert reference.step == 500 and reference.tokenizer_fingerprint == "abc"
    assert not any(p.requires_grad for p in reference.model.parameters()) and not reference.model.training
    torch.testing.assert_close(reference.model(IDX), module.model(IDX))


def test_a_checkpoint_with_flat_architecture_fields_still_loads(tmp_path: Path) -> None:
    """Checkpoints written before ``model.config`` hold the architecture fields at the top level."""
    module = learner(0)
    hparams = {k: v for k, v in module.hparams.items() if k != "config"} | module.hparams["config"]
    path = tmp_path / "flat.ckpt"
    torch.save({"hyper_parameters": hparams, "state_dict": module.state_dict(), "global_step": 3}, path)
    reference = load_reference(path)
    assert reference.model.config == module.config
    torch.testing.assert_close(reference.model(IDX), module.model(IDX))


class _NoContext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_callback_patches_from_start_step_and_resets_the_optimizer_once(tmp_path: Path) -> None:
    ckpt = save_module_checkpoint(learner(1), tmp_path / "ref.ckpt", 7)
    module = learner(0)
    callback = AttentionPatching(str(ckpt), start_step=2)
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-3)
    trainer = SimpleNamespace(
        global_step=0, optimizers=[optimizer], precision_plugin=SimpleNamespace(forward_context=_NoContext)
    )
    callback.setup(trainer, module, "fit")
    batch = {"tokens": torch.cat([IDX, IDX[:, :1]], dim=1)}

    def step() -> bool:
        callback.on_train_batch_start(trainer, module, batch, 0)
        patched = any(p.has_hooks() for p in hook_points(module.model).values())
        loss = module.model(batch["tokens"][:, :-1]).logsumexp(-1).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        callback.on_train_batch_end(trainer, module, None, batch, 0)
        assert not any(p.has_hooks() for p in hook_points(module.model).values())
        trainer.global_step += 1
        return patched

    assert [step(), step()] == [False, False]
    assert len(optimizer.state) > 0
    # At the start step the optimizer state is cleared before the update, then rebuilt by it.
    callback.on_train_batch_start(trainer, module, batch, 0)
    assert len(optimizer.state) == 0 and callback.optimizer_reset_at == 2
    callback.on_train_batch_end(trainer, module, None, batch, 0)
    assert step() is True
    assert step() is True and callback.optimizer_reset_at == 2  # reset once only
    assert callback.summary()["attention_patching"]["reference_step"] == 7
    assert callback.state_dict() == {"optimizer_reset_at": 2}


def test_callback_refuses_bad_arguments_and_mismatching_reference(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="AttentionPatching.start_step"):
        AttentionPatching("x.ckpt", start_step=-1)
    with pytest.raises(ValueError, match="AttentionPatching.layers"):
        AttentionPatching("x.ckpt", layers=[])
    ckpt = save_module_checkpoint(learner(1, n_layer=3), tmp_path / "ref.ckpt", 7)
    with pytest.raises(ValueError, match="n_layer: reference 3 != model 2"):
        AttentionPatching(str(ckpt)).setup(None, learner(0), "fit")
    ckpt = save_module_checkpoint(learner(1), tmp_path / "ref.ckpt", 7)
    with pytest.raises(
        ValueError, match=r"AttentionPatching.layers: distinct layer indices in \[0, 1\], got \[2\]"
    ):
        AttentionPatching(str(ckpt), layers=[2]).setup(None, learner(0), "fit")
    with pytest.raises(ValueError, match="model.compile: false with AttentionPatching, got True"):
        AttentionPatching(str(ckpt)).setup(None, learner(0, compile=True), "fit")
    with pytest.raises(ValueError, match=r"AttentionPatching.reference_step: the step .* holds \(7\), got 8"):
        AttentionPatching(str(ckpt), reference_step=8).setup(None, learner(0), "fit")
