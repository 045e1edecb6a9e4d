"""Packed training batches: one tensor per batch out of the workers, the same fields back on the device."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch.utils.data import DataLoader

from factdyn.data.batches import PACKED_FIELDS, pack_batch, unpack_batch
from factdyn.data.datamodule import BiographyDataModule
from factdyn.data.resources import ATTRIBUTES


@pytest.fixture(scope="module")
def dm() -> BiographyDataModule:
    module = BiographyDataModule(n_individuals=200, n_unseen=8, batch_size=12, n_val_sequences=8)
    module.setup()
    return module


@pytest.mark.parametrize("pad_to_multiple", [1, 8, 1000])
def test_unpack_returns_every_field_exactly_as_contiguous_views(
    dm: BiographyDataModule, pad_to_multiple: int
) -> None:
    stream = dm.train_dataloader().dataset
    stream.pad_to_multiple = pad_to_multiple
    for step in range(3):
        fields = stream.tensors_at(step)
        packed = pack_batch(fields)
        assert packed.dtype == torch.int64 and packed.shape[0] == 12
        unpacked = unpack_batch(packed, len(ATTRIBUTES))
        assert list(unpacked) == list(PACKED_FIELDS) == list(fields)
        for name, value in fields.items():
            assert torch.equal(unpacked[name], value), name
            assert unpacked[name].is_contiguous() and unpacked[name].data_ptr() >= packed.data_ptr()
    if pad_to_multiple == 1000:  # at least max_seq_len: one length for every batch
        assert unpacked["tokens"].shape[1] == dm.max_seq_len + 1


def test_unpack_rejects_a_width_that_holds_no_batch() -> None:
    with pytest.raises(ValueError, match="width 34 does not hold 6-slot"):
        unpack_batch(torch.zeros(2, 34, dtype=torch.int64), 6)


def test_workers_deliver_the_in_process_stream_in_order(dm: BiographyDataModule) -> None:
    stream = dm.train_dataloader().dataset
    loader = DataLoader(stream, batch_size=None, num_workers=2, prefetch_factor=2)
    for step, packed in enumerate(itertools.islice(loader, 5)):
        assert torch.equal(packed, pack_batch(stream.tensors_at(step))), step


def test_datamodule_unpacks_training_batches_and_passes_evaluation_batches_through(
    dm: BiographyDataModule,
) -> None:
    packed = next(iter(dm.train_dataloader()))
    batch = dm.on_after_batch_transfer(packed, 0)
    assert torch.equal(batch["tokens"], dm.train_dataloader().dataset.tensors_at(0)["tokens"])
    evaluation = dm.eval_batches["val"][0]
    assert dm.on_after_batch_transfer(evaluation, 0) is evaluation
