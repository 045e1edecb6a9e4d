"""Toy associative memory (Zucchet et al. 2025, App. F.4; spec §7.4): forgetting without attention.

An MLP with one hidden layer of 256 ReLU units maps 64-d Gaussian keys, projected onto the unit sphere, to
one of 30 values (30-way classification). Pre-training stores 8,192 key-value pairs (AdamW, lr 0.03,
cosine, 16k steps, batch 128, weight decay 0.01); fine-tuning then stores ``n_new`` new pairs (constant lr
1e-3, 4,000 steps), optionally replaying the old ones: each old pair is drawn with weight
``replay_weight``, each new pair with weight 1.

    factdyn toy fit --config configs/toy/pretrain.yaml
    factdyn toy fit --config configs/toy/finetune.yaml --data.n_new 128 --data.replay_weight 0.125

Metrics (logged against the optimizer step, with a point at step 0 before any update): ``toy/old_acc``,
``toy/old_loss`` on the pre-training pairs and ``toy/new_acc``, ``toy/new_loss`` on the new ones.

- :mod:`factdyn.toy.data`: the key-value pairs, the seeded training stream and the DataModule.
- :mod:`factdyn.toy.memory`: the MLP LightningModule (loss, metrics, optimizer, fine-tuning init).
"""

from factdyn.toy.data import TOY_SETS, ToyMemoryData, ToyPairStream, ToyStage, toy_pairs
from factdyn.toy.memory import ToyMemory

__all__ = ["TOY_SETS", "ToyMemory", "ToyMemoryData", "ToyPairStream", "ToyStage", "toy_pairs"]
