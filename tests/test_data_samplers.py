"""Samplers: empirical frequencies match each definition, schedules switch on time, bad arguments fail.

Statistical test: Pearson's chi-square of the empirical counts against the sampler's own probabilities,
with a fixed seed, accepted below the 99.9 % quantile of chi2(df). If a sampler were correct, a random seed
would fail one time in a thousand; with the fixed seed the outcome is deterministic. The same test is
shown to reject a slightly wrong distribution (``test_chi_square_has_power``), so the tolerance is not
so loose that it passes anything.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from factdyn.checks import ConfigError
from factdyn.data import BiographyDataModule
from factdyn.data.samplers import (
    SAMPLERS,
    AdaptiveWarmUp,
    Celebrities,
    IndividualSampler,
    ReplayMixture,
    SequentialGroups,
    Uniform,
    WarmUp,
    Zipf,
)

SEED = 0


def chi2_quantile_999(df: int) -> float:
    """99.9 % quantile of chi2(df) (Wilson-Hilferty; within 1 % of the exact value for df >= 3)."""
    z = 3.0902  # standard normal 99.9 % quantile
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


def draw(sampler: IndividualSampler, steps: range, batch_size: int = 128, rank: int = 0) -> np.ndarray:
    """Individuals of the given steps, seeded exactly as the training stream seeds them."""
    return np.concatenate(
        [sampler.sample(s, batch_size, np.random.default_rng([SEED, s, rank])) for s in steps]
    )


def chi_square(counts: np.ndarray, p: np.ndarray) -> tuple[float, int]:
    """Pearson statistic over the cells with positive probability, and its degrees of freedom."""
    keep = p > 0
    assert counts[~keep].sum() == 0, "drew an individual with probability 0"
    expected = p[keep] * counts.sum()
    assert expected.min() >= 5, "too few draws for the chi-square approximation"
    return float(((counts[keep] - expected) ** 2 / expected).sum()), int(keep.sum()) - 1


def assert_matches(sampler: IndividualSampler, steps: range, p: np.ndarray | None = None) -> None:
    p = sampler.probabilities(steps.start) if p is None else p
    p = np.full(sampler.n_individuals, 1 / sampler.n_individuals) if p is None else p
    counts = np.bincount(draw(sampler, steps), minlength=sampler.n_individuals)
    stat, df = chi_square(counts, p)
    assert stat < chi2_quantile_999(df), f"{type(sampler).__name__}: chi2 {stat:.1f} over df {df}"


def bound(sampler: IndividualSampler, n: int = 50, batch_size: int = 128, roles=None) -> IndividualSampler:
    sampler.bind(n, batch_size, SEED, roles)
    return sampler


def test_chi2_quantile_is_accurate() -> None:
    # Reference values of the exact 99.9 % quantiles (tables): df 9 -> 27.88, df 49 -> 85.35.
    assert chi2_quantile_999(9) == pytest.approx(27.88, rel=0.01)
    assert chi2_quantile_999(49) == pytest.approx(85.35, rel=0.01)


@pytest.mark.parametrize(
    "sampler",
    [Uniform(), Zipf(alpha=0.0), Zipf(alpha=0.6), Zipf(alpha=1.0), Celebrities(n_celebrities=5, weight=8)],
    ids=["uniform", "zipf0", "zipf0.6", "zipf1", "celebrities"],
)
def test_static_samplers_match_their_distribution(sampler: IndividualSampler) -> None:
    assert_matches(bound(sampler), range(200))  # 25,600 draws over 50 individuals


def test_chi_square_has_power() -> None:
    """Draws from Zipf(0.6) are rejected as Zipf(0.5): the tolerance does not accept a wrong exponent."""
    drawn = bound(Zipf(alpha=0.6))
    counts = np.bincount(draw(drawn, range(200)), minlength=50)
    stat, df = chi_square(counts, bound(Zipf(alpha=0.5)).probabilities(0))
    assert stat > chi2_quantile_999(df)


def test_zipf_definition_and_recorded_ranks() -> None:
    z = bound(Zipf(alpha=0.8), n=1000)
    assert sorted(z.rank.tolist()) == list(range(1, 1001))
    p = z.probabilities(0)
    # P(i) proportional to rank(i)^-alpha.
    np.testing.assert_allclose(p * z.rank**0.8, p[z.rank == 1][0], rtol=1e-12)
    # The permutation is recoverable from the recorded seed.
    order = np.random.default_rng([z.describe()["permutation_seed"], Zipf.SALT]).permutation(1000)
    assert (z.rank[order] == np.arange(1, 1001)).all()
    # Deciles of rank: 100 individuals each, bucket 0 the most frequent.
    assert np.bincount(z.buckets()).tolist() == [100] * 10
    assert p[z.buckets() == 0].min() > p[z.buckets() == 1].max()
    # Another permutation seed changes who is frequent, not the distribution's shape.
    other = bound(Zipf(alpha=0.8, permutation_seed=7), n=1000)
    assert (other.rank != z.rank).any()
    np.testing.assert_allclose(np.sort(other.probabilities(0)), np.sort(p))
    # alpha = 0 is uniform.
    np.testing.assert_allclose(bound(Zipf(alpha=0.0)).probabilities(0), 1 / 50)


def test_celebrities_fraction() -> None:
    c = bound(Celebrities(n_celebrities=4_000, weight=8), n=64_000)
    assert len(set(c.celebrities.tolist())) == 4_000
    # 4k x 8 against 60k x 1: 32 / 92 of the biographies are about celebrities.
    assert c.celebrity_fraction() == pytest.approx(32_000 / 92_000)
    drawn = draw(c, range(100))
    frac = np.isin(drawn, c.celebrities).mean()
    # Binomial standard error with 12,800 draws is 0.0042: 4 standard errors.
    assert abs(frac - 32 / 92) < 4 * math.sqrt(0.35 * 0.65 / len(drawn))
    assert c.buckets()[c.celebrities].max() == 0 and c.buckets().sum() == 60_000


def test_warmup_switches_at_epoch_count() -> None:
    w = bound(WarmUp(warmup_individuals=10, warmup_epochs=1.5), n=50, batch_size=5)
    assert w.steps_per_epoch() == 10 and w.warmup_steps() == 15
    before = draw(w, range(15), batch_size=5)
    assert set(before.tolist()) <= set(w.subset.tolist())
    w_big = bound(WarmUp(warmup_individuals=10, warmup_epochs=1000), n=50)  # 391 steps
    assert w_big.warmup_steps() == 391
    assert_matches(w_big, range(100))  # uniform over the subset
    assert_matches(w_big, range(w_big.warmup_steps(), w_big.warmup_steps() + 200))  # uniform over all
    assert w.buckets()[w.subset].max() == 0 and w.buckets().sum() == 40


def test_warmup_subset_is_seeded() -> None:
    a, b = bound(WarmUp(10, 1)), bound(WarmUp(10, 1))
    assert (a.subset == b.subset).all()
    c = WarmUp(10, 1)
    c.bind(50, 128, SEED + 1)
    assert (a.subset != c.subset).any()


def test_sequential_groups_order_and_repeats() -> None:
    g = bound(SequentialGroups(n_groups=4, n_repeats=2), n=40)
    with pytest.raises(RuntimeError, match="steps_per_group"):
        g.group_at(0)
    g.set_horizon(80)  # 8 visits of 10 steps
    assert g.steps_per_group == 10
    assert [g.group_at(s) for s in range(0, 100, 10)] == [0, 1, 2, 3, 0, 1, 2, 3, 3, 3]
    for step in (0, 25, 79):
        lo, hi = g.bounds[g.group_at(step)], g.bounds[g.group_at(step) + 1]
        drawn = g.sample(step, 1000, np.random.default_rng(step))
        assert drawn.min() >= lo and drawn.max() < hi
    assert np.bincount(g.buckets()).tolist() == [10] * 4
    with pytest.raises(ValueError, match="trainer.max_steps: at least data.sampler.n_groups"):
        bound(SequentialGroups(n_groups=4, n_repeats=2), n=40).set_horizon(7)
    explicit = bound(SequentialGroups(n_groups=2, n_repeats=4, steps_per_group=3), n=40)
    explicit.set_horizon(1000)  # an explicit value wins
    assert [explicit.group_at(s) for s in range(0, 12, 3)] == [0, 1, 0, 1]


def test_groups_match_uniform_within_group() -> None:
    g = bound(SequentialGroups(n_groups=2, steps_per_group=1000), n=100)
    assert_matches(g, range(1000, 1100))  # second group, 12,800 draws over 50


@pytest.mark.parametrize("weight,fraction", [(2, 0.97), (1, 0.94), (1 / 4, 0.80), (1 / 32, 0.33)])
def test_replay_fraction_matches_paper(weight: float, fraction: float) -> None:
    # Paper App. F.1: 4k new individuals, 64k replayed, implied replay fractions (rounded).
    r = bound(ReplayMixture(replay_weight=weight), n=68_000, roles=[("new", 4_000), ("train", 64_000)])
    assert r.replay_fraction() == pytest.approx(fraction, abs=0.01)


def test_replay_mixture_distribution_and_schedule() -> None:
    r = bound(ReplayMixture(replay_weight=0.5), n=60, roles=[("new", 20), ("train", 40)])
    assert_matches(r, range(200))
    r.set_schedule([(100, 4.0)])
    assert r.weight_at(99) == 0.5 and r.weight_at(100) == 4.0
    assert_matches(r, range(100, 300))
    state = r.state_dict()
    fresh = bound(ReplayMixture(replay_weight=0.5), n=60, roles=[("new", 20), ("train", 40)])
    fresh.load_state_dict(state)
    assert (draw(fresh, range(95, 105)) == draw(r, range(95, 105))).all()


def test_streams_are_deterministic() -> None:
    for make in (lambda: Zipf(0.6), lambda: Celebrities(5, 4), lambda: WarmUp(10, 2)):
        assert (draw(bound(make()), range(20)) == draw(bound(make()), range(20))).all()


@pytest.mark.parametrize(
    "make,n,roles,field",
    [
        (lambda: Zipf(alpha=-1), 50, None, "data.sampler.alpha: a number >= 0, got -1"),
        (lambda: Zipf(alpha=float("nan")), 50, None, "data.sampler.alpha: a number >= 0, got nan"),
        (lambda: Zipf(n_buckets=0), 50, None, "data.sampler.n_buckets"),
        (
            lambda: Celebrities(n_celebrities=51),
            50,
            None,
            "data.sampler.n_celebrities: at most the 50 training individuals",
        ),
        (lambda: Celebrities(n_celebrities=-1), 50, None, "data.sampler.n_celebrities: an integer >= 0"),
        (lambda: Celebrities(weight=0), 50, None, "data.sampler.weight: a number > 0, got 0"),
        (lambda: Celebrities(weight=-2), 50, None, "data.sampler.weight: a number > 0"),
        (
            lambda: WarmUp(warmup_individuals=51),
            50,
            None,
            "data.sampler.warmup_individuals: at most the 50 training individuals",
        ),
        (lambda: WarmUp(warmup_individuals=0), 50, None, "data.sampler.warmup_individuals: an integer >= 1"),
        (lambda: WarmUp(warmup_epochs=-1), 50, None, "data.sampler.warmup_epochs: a number >= 0"),
        (lambda: SequentialGroups(n_groups=0), 50, None, "data.sampler.n_groups: an integer >= 1"),
        (
            lambda: SequentialGroups(n_groups=51),
            50,
            None,
            "data.sampler.n_groups: at most the 50 training individuals",
        ),
        (lambda: SequentialGroups(n_repeats=0), 50, None, "data.sampler.n_repeats"),
        (lambda: SequentialGroups(steps_per_group=0), 50, None, "data.sampler.steps_per_group"),
        (lambda: ReplayMixture(replay_weight=-0.5), 50, None, "data.sampler.replay_weight: a number >= 0"),
        (lambda: ReplayMixture(), 50, None, "data.train_roles"),
    ],
)
def test_bad_arguments_name_the_field(make, n, roles, field) -> None:
    with pytest.raises(ConfigError) as info:
        bound(make(), n=n, roles=roles)
    assert field in str(info.value)


def test_datamodule_validates_sampler_at_construction() -> None:
    with pytest.raises(ValueError, match="data.sampler.n_celebrities: at most the 64 training individuals"):
        BiographyDataModule(n_individuals=64, sampler=Celebrities(n_celebrities=100))
    with pytest.raises(ValueError, match="data.train_roles"):
        BiographyDataModule(n_individuals=64, train_roles=["train", "new"])  # n_new = 0
    with pytest.raises(ValueError, match="data.train_roles"):
        BiographyDataModule(n_individuals=64, train_roles=["trains"])


def test_replay_datamodule_concatenates_new_then_train() -> None:
    dm = BiographyDataModule(
        n_individuals=64,
        n_unseen=8,
        n_new=16,
        train_roles=["new", "train"],
        batch_size=32,
        sampler=ReplayMixture(replay_weight=1.0),
        n_val_sequences=8,
        n_unseen_sequences=8,
    )
    dm.setup("fit")
    assert dm.sampler.n_individuals == 80 and dm.sampler.n_new == 16
    pop = dm.train_population
    assert (pop.names[:16] == dm.populations["new"].names).all()
    assert (pop.names[16:] == dm.populations["train"].names).all()
    batch = dm.on_after_batch_transfer(next(iter(dm.train_dataloader())), 0)
    individual = batch["individual"].numpy()
    assert individual.max() < 80
    # The tokens of each row are about that row's individual of the concatenated population.
    stream = dm.train_dataloader().dataset
    expected = dm.sampler.sample(0, 32, np.random.default_rng([dm.seed, 0, 0]))
    assert (individual == expected).all()
    assert stream.population is pop
    # Evaluation individuals map into the training index space after the new ones.
    assert dm.training_index("val", np.array([0, 5])).tolist() == [16, 21]
    assert dm.training_index("unseen", np.array([0])) is None


# --- the arguments a sampler records (hparams.yaml, TensorBoard's HPARAMS tab) -------------------------
BUILT_WITH = {
    Uniform: {},
    Zipf: {"alpha": 0.3, "permutation_seed": 5, "n_buckets": 3},
    Celebrities: {"n_celebrities": 7, "weight": 2.5},
    WarmUp: {"warmup_individuals": 9, "warmup_epochs": 1.5},
    SequentialGroups: {"n_groups": 3, "n_repeats": 2, "steps_per_group": 11},
    ReplayMixture: {"replay_weight": 0.25},
    AdaptiveWarmUp: {"warmup_individuals": 6, "seed_offset": 4, "max_warmup_steps": 12},
}


def test_every_sampler_records_the_arguments_it_was_built_with() -> None:
    assert set(BUILT_WITH) == set(SAMPLERS)  # a new sampler needs a case here
    for cls, arguments in BUILT_WITH.items():
        sampler = cls(**arguments)
        assert sampler.arguments() == arguments, cls.__name__
        assert cls(**sampler.arguments()).arguments() == arguments, cls.__name__
