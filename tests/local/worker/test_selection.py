"""Selection strategies on data where the right answer is known."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

from runner.local.worker.selection import (
    SelectionError,
    SelectionInputs,
    scores_from_predictions,
    select,
    why_nothing_selected,
)

DIVERSITY = {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}


def make_inputs(n: int, **fields: Any) -> SelectionInputs:
    base: dict[str, Any] = {
        "filenames": [f"img-{i:04d}.jpg" for i in range(n)],
        "embeddings": None,
        "scores": {},
        "predictions": {},
        "metadata": [None] * n,
    }
    base.update(fields)
    return SelectionInputs(**base)


def clusters(k: int, per: int, *, d: int = 16, spread: float = 0.01, seed: int = 0):
    """``k`` tight, well separated clusters, shuffled; returns (points, cluster label)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((k, d)) * 10
    labels = np.repeat(np.arange(k), per)
    points = centres[labels] + rng.standard_normal((k * per, d)) * spread
    perm = rng.permutation(len(labels))
    return points[perm].astype(np.float32), labels[perm]


def naive_farthest(x: np.ndarray, first: int | None, pre: np.ndarray, k: int) -> list[int]:
    """Textbook k-centre greedy, for comparison."""
    x = x.astype(np.float64)
    mind = np.full(len(x), np.inf)
    for c in np.flatnonzero(pre):
        mind = np.minimum(mind, ((x - x[c]) ** 2).sum(1))
    mind[pre] = -np.inf
    picked: list[int] = []
    while len(picked) < k:
        j = first if not picked and first is not None else int(np.argmax(mind))
        picked.append(j)
        mind = np.minimum(mind, ((x - x[j]) ** 2).sum(1))
        mind[picked] = -np.inf
    return picked


# --- DIVERSITY ------------------------------------------------------------------------


def test_diversity_picks_one_per_cluster() -> None:
    points, labels = clusters(10, 20)
    result = select(
        {"nSamples": 10, "strategies": [DIVERSITY]}, make_inputs(200, embeddings=points)
    )
    assert sorted(labels[result.selected]) == list(range(10))
    assert result.stats["stopped_by"] == "n_samples"
    assert result.stats["n_selected"] == 10


@pytest.mark.parametrize(
    ("n", "d", "k", "n_pre"), [(3000, 8, 300, 0), (5000, 32, 200, 40), (900, 3, 899, 0)]
)
def test_diversity_is_exact_farthest_point(n: int, d: int, k: int, n_pre: int) -> None:
    rng = np.random.default_rng(n)
    x = rng.standard_normal((n, d)).astype(np.float32)
    pre = np.zeros(n, bool)
    pre[rng.choice(n, n_pre, replace=False)] = True
    result = select(
        {"nSamples": k, "strategies": [DIVERSITY]}, make_inputs(n, embeddings=x, preselected=pre)
    )
    first = None if n_pre else int(np.argmax(((x - x.mean(0)) ** 2).sum(1)))
    assert result.selected.tolist() == naive_farthest(x, first, pre, min(k, n - n_pre))


def test_diversity_stopping_distance_stops_early() -> None:
    points, labels = clusters(5, 30, spread=0.01)
    strategy = {
        "input": {"type": "EMBEDDINGS"},
        "strategy": {"type": "DIVERSITY", "stopping_condition_minimum_distance": 1.0},
    }
    result = select(
        {"n_samples": 100, "strategies": [strategy]}, make_inputs(150, embeddings=points)
    )
    assert sorted(labels[result.selected]) == [0, 1, 2, 3, 4]
    assert result.stats["stopped_by"] == "minimum_distance"
    assert result.stats["strategies"][0]["min_distance_selected"] > 1.0


def test_stopping_distance_alone_is_a_size() -> None:
    points, _ = clusters(4, 10)
    strategy = {
        "input": {"type": "EMBEDDINGS"},
        "strategy": {"type": "DIVERSITY", "stopping_condition_minimum_distance": 0.5},
    }
    result = select({"strategies": [strategy]}, make_inputs(40, embeddings=points))
    assert len(result.selected) == 4


def test_diversity_is_conditioned_on_preselected() -> None:
    points, labels = clusters(10, 10)
    pre = labels < 5
    result = select(
        {"nSamples": 5, "strategies": [DIVERSITY]},
        make_inputs(100, embeddings=points, preselected=pre),
    )
    assert sorted(labels[result.selected]) == [5, 6, 7, 8, 9]
    assert not pre[result.selected].any()
    assert result.stats["n_preselected"] == 50


def test_diversity_with_weights_prefers_heavy_samples_within_clusters() -> None:
    points, labels = clusters(10, 20)
    stars = np.array([np.flatnonzero(labels == k)[7] for k in range(10)])
    weights = np.zeros(200)
    weights[stars] = 1.0
    config = {
        "nSamples": 10,
        "strategies": [
            DIVERSITY,
            {
                "input": {"type": "SCORES", "task": "t", "score": "w"},
                "strategy": {"type": "WEIGHTS"},
            },
        ],
    }
    result = select(config, make_inputs(200, embeddings=points, scores={"t/w": weights}))
    assert sorted(result.selected.tolist()) == sorted(stars.tolist())


def test_diversity_on_a_scalar_metadata_input() -> None:
    times = [{"t": float(v)} for v in [0, 1, 2, 3, 10, 11, 12, 30]]
    config = {
        "nSamples": 3,
        "strategies": [
            {"input": {"type": "METADATA", "key": "t"}, "strategy": {"type": "DIVERSITY"}}
        ],
    }
    result = select(config, make_inputs(8, metadata=times))
    assert sorted(times[i]["t"] for i in result.selected) in (
        [0.0, 12.0, 30.0],
        [0.0, 11.0, 30.0],
        [0.0, 10.0, 30.0],
    )
    assert {0, 7} <= set(result.selected.tolist())


# --- RANDOM, WEIGHTS, THRESHOLD, SCORES -------------------------------------------------


def random_config(seed: int | None, n: int = 10) -> dict[str, Any]:
    inp: dict[str, Any] = (
        {"type": "RANDOM"} if seed is None else {"type": "RANDOM", "random_seed": seed}
    )
    return {"nSamples": n, "strategies": [{"input": inp, "strategy": {"type": "WEIGHTS"}}]}


def test_random_is_seeded_and_reproducible() -> None:
    inputs = make_inputs(1000)
    a = select(random_config(7), inputs).selected
    b = select(random_config(7), inputs).selected
    c = select(random_config(8), inputs).selected
    assert a.tolist() == b.tolist()
    assert a.tolist() != c.tolist()
    assert len(set(a.tolist())) == 10
    assert select(random_config(None), inputs, seed=7).selected.tolist() == a.tolist()


def test_random_without_any_seed_records_the_seed_it_used() -> None:
    result = select(random_config(None), make_inputs(100))
    used = result.stats["strategies"][0]["random_seed"]
    again = select(random_config(used), make_inputs(100))
    assert again.selected.tolist() == result.selected.tolist()


def test_random_is_roughly_uniform() -> None:
    counts = Counter()
    for seed in range(200):
        counts.update(select(random_config(seed, 5), make_inputs(20)).selected.tolist())
    assert len(counts) == 20
    assert max(counts.values()) < 2.0 * min(counts.values())


def test_weights_prefer_high_scores() -> None:
    scores = np.array([0.1, 0.9, 0.3, 0.8, 0.5, 0.95])
    config = {
        "nSamples": 3,
        "strategies": [
            {
                "input": {"type": "SCORES", "task": "t", "score": "s"},
                "strategy": {"type": "WEIGHTS"},
            }
        ],
    }
    result = select(config, make_inputs(6, scores={"t/s": scores}))
    assert result.selected.tolist() == [5, 1, 3]
    assert result.stats["strategies"][0]["mean_weight_selected"] == pytest.approx(
        (0.95 + 0.9 + 0.8) / 3
    )


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        ("BIGGER", [3, 4]),
        ("BIGGER_EQUAL", [2, 3, 4]),
        ("SMALLER", [0, 1]),
        ("SMALLER_EQUAL", [0, 1, 2]),
    ],
)
def test_threshold_operations(operation: str, expected: list[int]) -> None:
    config = {
        "nSamples": -1,
        "strategies": [
            {
                "input": {"type": "SCORES", "task": "t", "score": "s"},
                "strategy": {"type": "THRESHOLD", "threshold": 0.5, "operation": operation},
            }
        ],
    }
    result = select(config, make_inputs(5, scores={"t/s": np.array([0.1, 0.2, 0.5, 0.7, 0.9])}))
    assert sorted(result.selected.tolist()) == expected
    assert result.stats["strategies"][0]["kept"] == len(expected)


def test_threshold_filters_before_diversity() -> None:
    points, labels = clusters(6, 10)
    sharp = [{"lightly": {"sharpness": 10.0 if label % 2 else 1.0}} for label in labels]
    config = {
        "nSamples": 6,
        "strategies": [
            {
                "input": {"type": "METADATA", "key": "lightly.sharpness"},
                "strategy": {"type": "THRESHOLD", "threshold": 5, "operation": "BIGGER"},
            },
            DIVERSITY,
        ],
    }
    result = select(config, make_inputs(60, embeddings=points, metadata=sharp))
    assert sorted(labels[result.selected[:3]]) == [1, 3, 5]  # one per passing cluster first
    assert set(labels[result.selected].tolist()) == {1, 3, 5}
    assert result.stats["strategies"][0]["removed"] == 30


def test_samples_without_the_value_are_not_candidates() -> None:
    metadata = [
        {"lightly": {"sharpness": 3.0}},
        None,
        {"lightly": {}},
        {"lightly": {"sharpness": 9.0}},
    ]
    config = {
        "nSamples": 4,
        "strategies": [
            {
                "input": {"type": "METADATA", "key": "lightly.sharpness"},
                "strategy": {"type": "WEIGHTS"},
            }
        ],
    }
    result = select(config, make_inputs(4, metadata=metadata))
    assert result.selected.tolist() == [3, 0]
    assert result.stats["strategies"][0]["missing_values"] == 2
    assert result.stats["stopped_by"] == "exhausted"


def test_scores_from_predictions() -> None:
    per_sample = [
        [{"categoryId": 0, "probabilities": [0.5, 0.5]}],
        [{"categoryId": 0, "probabilities": [1.0, 0.0]}],
        [{"categoryId": 1, "score": 0.75}],
        [],
        [{"categoryId": 0, "score": 0.99}, {"categoryId": 1, "score": 0.6}],
    ]
    scores = scores_from_predictions(per_sample)
    assert scores["uncertainty_margin"][:3].tolist() == pytest.approx([1.0, 0.0, 0.5])
    assert scores["uncertainty_least_confidence"][:3].tolist() == pytest.approx([1.0, 0.0, 0.5])
    assert scores["uncertainty_entropy"][:2].tolist() == pytest.approx([1.0, 0.0])
    assert np.isnan(scores["uncertainty_margin"][3])
    assert scores["uncertainty_margin"][4] == pytest.approx(1 - (0.6 - 0.4))  # max over objects


def test_scores_input_picks_top_uncertainty_from_predictions() -> None:
    confidences = [0.99, 0.55, 0.9, 0.51, 0.7, 0.6]
    predictions = {"cls": [[{"categoryId": 0, "probabilities": [c, 1 - c]}] for c in confidences]}
    config = {
        "nSamples": 2,
        "strategies": [
            {
                "input": {"type": "SCORES", "task": "cls", "score": "uncertainty_entropy"},
                "strategy": {"type": "WEIGHTS"},
            }
        ],
    }
    result = select(config, make_inputs(6, predictions=predictions))
    assert result.selected.tolist() == [3, 1]


# --- BALANCE and PREDICTIONS -------------------------------------------------------------


def weather(counts: dict[str, int]) -> list[dict[str, Any]]:
    return [{"weather": {"scenario": name}} for name, k in counts.items() for _ in range(k)]


def test_balance_on_metadata_hits_the_target() -> None:
    metadata = weather({"sunny": 70, "rainy": 20, "foggy": 10})
    config = {
        "nSamples": 20,
        "strategies": [
            {
                "input": {"type": "METADATA", "key": "weather.scenario"},
                "strategy": {
                    "type": "BALANCE",
                    "target": {"sunny": 0.5, "rainy": 0.3, "foggy": 0.2},
                },
            }
        ],
    }
    result = select(config, make_inputs(100, metadata=metadata))
    got = Counter(metadata[i]["weather"]["scenario"] for i in result.selected)
    assert got == {"sunny": 10, "rainy": 6, "foggy": 4}
    assert result.stats["strategies"][0]["achieved"] == pytest.approx(
        {"foggy": 0.2, "rainy": 0.3, "sunny": 0.5}
    )


def test_balance_leaves_untargeted_categories_the_rest() -> None:
    metadata = weather({"sunny": 50, "rainy": 50, "foggy": 50})
    config = {
        "nSamples": 10,
        "strategies": [
            {
                "input": {"type": "METADATA", "key": "weather.scenario"},
                "strategy": {"type": "BALANCE", "target": {"foggy": 0.6}},
            }
        ],
    }
    result = select(config, make_inputs(150, metadata=metadata))
    got = Counter(metadata[i]["weather"]["scenario"] for i in result.selected)
    assert got["foggy"] == 6
    assert got["sunny"] + got["rainy"] == 4


def test_balance_skips_samples_without_the_category() -> None:
    metadata: list[Any] = [*weather({"sunny": 5, "rainy": 5}), None, {"weather": {}}]
    config = {
        "nSamples": 12,
        "strategies": [
            {
                "input": {"type": "METADATA", "key": "weather.scenario"},
                "strategy": {"type": "BALANCE", "target": {"sunny": 0.5, "rainy": 0.5}},
            }
        ],
    }
    result = select(config, make_inputs(12, metadata=metadata))
    assert sorted(result.selected.tolist()) == list(range(10))
    assert result.stats["strategies"][0]["missing_values"] == 2


def test_balance_with_too_few_samples_does_its_best() -> None:
    metadata = weather({"sunny": 50, "rainy": 2})
    config = {
        "nSamples": 10,
        "strategies": [
            {
                "input": {"type": "METADATA", "key": "weather.scenario"},
                "strategy": {"type": "BALANCE", "target": {"sunny": 0.5, "rainy": 0.5}},
            }
        ],
    }
    result = select(config, make_inputs(52, metadata=metadata))
    assert Counter(metadata[i]["weather"]["scenario"] for i in result.selected) == {
        "sunny": 8,
        "rainy": 2,
    }


def test_balance_and_diversity_pick_diverse_samples_per_category() -> None:
    points, labels = clusters(8, 10)
    metadata = [{"kind": "a" if label < 6 else "b"} for label in labels]
    config = {
        "nSamples": 4,
        "strategies": [
            DIVERSITY,
            {
                "input": {"type": "METADATA", "key": "kind"},
                "strategy": {"type": "BALANCE", "target": {"a": 0.5, "b": 0.5}},
            },
        ],
    }
    result = select(config, make_inputs(80, embeddings=points, metadata=metadata))
    assert sorted(labels[result.selected])[2:] == [6, 7]
    assert len(set(labels[result.selected].tolist())) == 4


def active_learning_inputs() -> SelectionInputs:
    """Two classes; the model's confidence per sample is known."""
    classes = [0] * 30 + [1] * 10
    confidence = np.linspace(0.51, 0.99, 40)
    predictions = {
        "shapes": [
            [{"categoryId": c, "probabilities": [p, 1 - p] if c == 0 else [1 - p, p]}]
            for c, p in zip(classes, confidence, strict=True)
        ]
    }
    return make_inputs(
        40, predictions=predictions, category_names={"shapes": {0: "round", 1: "angular"}}
    )


def test_predictions_balance_with_uncertainty_weights() -> None:
    config = {
        "n_samples": 10,
        "strategies": [
            {
                "input": {"type": "SCORES", "task": "shapes", "score": "uncertainty_margin"},
                "strategy": {"type": "WEIGHTS"},
            },
            {
                "input": {"type": "PREDICTIONS", "task": "shapes", "name": "CLASS_DISTRIBUTION"},
                "strategy": {"type": "BALANCE", "target": {"round": 0.5, "angular": 0.5}},
            },
        ],
    }
    result = select(config, active_learning_inputs())
    picked = sorted(result.selected.tolist())
    assert picked == [0, 1, 2, 3, 4, 30, 31, 32, 33, 34]  # the 5 least confident of each class
    assert result.stats["strategies"][1]["achieved"] == {"round": 0.5, "angular": 0.5}


def test_predictions_category_count_threshold_with_categories() -> None:
    def box(category: int) -> dict[str, Any]:
        return {
            "type": "OBJECT_DETECTION",
            "categoryId": category,
            "score": 0.9,
            "bbox": [0, 0, 1, 1],
        }

    predictions = {"det": [[box(0), box(0), box(1)], [box(1), box(1)], [box(0)], []]}
    inputs = make_inputs(4, predictions=predictions, category_names={"det": {0: "car", 1: "bike"}})
    config = {
        "nSamples": -1,
        "strategies": [
            {
                "input": {
                    "type": "PREDICTIONS",
                    "task": "det",
                    "name": "CATEGORY_COUNT",
                    "categories": ["car"],
                },
                "strategy": {"type": "THRESHOLD", "threshold": 1, "operation": "BIGGER_EQUAL"},
            }
        ],
    }
    assert select(config, inputs).selected.tolist() == [0, 2]
    config["strategies"][0]["input"].pop("categories")
    config["strategies"][0]["strategy"]["threshold"] = 2
    assert select(config, inputs).selected.tolist() == [0, 1]


def test_diversity_on_class_distribution() -> None:
    predictions = {
        "det": [
            [{"categoryId": c} for c in objects]
            for objects in ([0], [0], [0, 0], [1], [1, 1], [0, 1])
        ]
    }
    config = {
        "nSamples": 3,
        "strategies": [
            {
                "input": {"type": "PREDICTIONS", "task": "det", "name": "CLASS_DISTRIBUTION"},
                "strategy": {"type": "DIVERSITY"},
            }
        ],
    }
    result = select(config, make_inputs(6, predictions=predictions))
    groups = {0: "car", 1: "car", 2: "car", 3: "bike", 4: "bike", 5: "mixed"}
    assert sorted(groups[i] for i in result.selected) == ["bike", "car", "mixed"]


# --- size -----------------------------------------------------------------------------


def test_proportion_samples() -> None:
    config = {
        "proportionSamples": 0.1,
        "strategies": [
            {"input": {"type": "RANDOM", "randomSeed": 1}, "strategy": {"type": "WEIGHTS"}}
        ],
    }
    assert len(select(config, make_inputs(50)).selected) == 5
    config["nSamples"] = 3
    assert len(select(config, make_inputs(50)).selected) == 3  # the smaller wins


def test_more_requested_than_available_returns_all_candidates() -> None:
    points, _ = clusters(3, 2)
    result = select({"nSamples": 50, "strategies": [DIVERSITY]}, make_inputs(6, embeddings=points))
    assert sorted(result.selected.tolist()) == [0, 1, 2, 3, 4, 5]
    assert result.stats["stopped_by"] == "exhausted"


# --- errors ---------------------------------------------------------------------------

EMB = np.zeros((3, 2), np.float32)
BAD_CONFIGS = [
    (
        {"strategies": [DIVERSITY]},
        "selection config needs nSamples, proportionSamples or a DIVERSITY strategy with stopping_condition_minimum_distance",
    ),
    ({"nSamples": 1, "strategies": []}, "selection config needs a non-empty list 'strategies'"),
    (
        {"nSamples": 0, "strategies": [DIVERSITY]},
        "nSamples must be an integer >= 1 (or -1: no limit), not 0",
    ),
    (
        {"proportionSamples": 1.5, "strategies": [DIVERSITY]},
        "proportionSamples must be in (0, 1], not 1.5",
    ),
    (
        {"nSamples": 1, "strategies": [DIVERSITY], "method": "x"},
        "selection config: unknown field(s) ['method']; allowed: ['nSamples', 'proportionSamples', 'strategies']",
    ),
    (
        {
            "nSamples": 1,
            "strategies": [{"input": {"type": "SCORES"}, "strategy": {"type": "WEIGHTS"}}],
        },
        "strategy 1: input type SCORES needs task and score",
    ),
    (
        {
            "nSamples": 1,
            "strategies": [
                DIVERSITY,
                {
                    "input": {"type": "SCORES", "task": "t", "score": "s"},
                    "strategy": {"type": "THRESHOLD"},
                },
            ],
        },
        "strategy 2: THRESHOLD needs a number 'threshold' and an 'operation'",
    ),
    (
        {
            "nSamples": 1,
            "strategies": [
                {
                    "input": {"type": "SCORES", "task": "t", "score": "s"},
                    "strategy": {"type": "THRESHOLD", "threshold": True, "operation": "BIGGER"},
                },
            ],
        },
        "strategy 1: THRESHOLD needs a number 'threshold' and an 'operation'",
    ),
    (
        {
            "nSamples": 1,
            "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "SIMILARITY"}}],
        },
        "strategy 1: SIMILARITY is not supported by the local worker (it needs a query tag); use DIVERSITY, WEIGHTS, THRESHOLD or BALANCE",
    ),
    (
        {
            "nSamples": 1,
            "strategies": [
                {
                    "input": {"type": "EMBEDDINGS"},
                    "strategy": {"type": "BALANCE", "target": {"a": 1}},
                }
            ],
        },
        "strategy 1: strategy BALANCE cannot use input type EMBEDDINGS; it takes METADATA, PREDICTIONS",
    ),
    (
        {
            "nSamples": 1,
            "strategies": [{"input": {"type": "IMAGES"}, "strategy": {"type": "WEIGHTS"}}],
        },
        "strategy 1: input type 'IMAGES' is not one of EMBEDDINGS, SCORES, METADATA, PREDICTIONS, RANDOM",
    ),
    (
        {
            "nSamples": 1,
            "strategies": [
                {
                    "input": {"type": "SCORES", "task": "t", "score": "nope"},
                    "strategy": {"type": "WEIGHTS"},
                }
            ],
        },
        "strategy 1: no scores 't/nope'; available: ['t/s', 't/uncertainty_least_confidence', 't/uncertainty_margin', 't/uncertainty_entropy']",
    ),
    (
        {
            "nSamples": 1,
            "strategies": [
                {
                    "input": {"type": "METADATA", "key": "w"},
                    "strategy": {"type": "THRESHOLD", "threshold": 1, "operation": "BIGGER"},
                }
            ],
        },
        "strategy 1: METADATA key 'w' has the non-numeric value 'rain' (sample 'img-0000.jpg'); only BALANCE can use categories",
    ),
    (
        {
            "nSamples": 1,
            "strategies": [
                {"input": {"type": "METADATA", "key": "nope"}, "strategy": {"type": "WEIGHTS"}}
            ],
        },
        "strategy 1: no sample has metadata key 'nope'",
    ),
    (
        {
            "nSamples": 1,
            "strategies": [
                {
                    "input": {"type": "METADATA", "key": "w"},
                    "strategy": {"type": "BALANCE", "target": {"rain": 0.8, "sun": 0.4}},
                }
            ],
        },
        "strategy 1: BALANCE target fractions must be numbers >= 0 summing to at most 1, got {'rain': 0.8, 'sun': 0.4}",
    ),
    (
        {
            "nSamples": 1,
            "strategies": [
                {
                    "input": {"type": "PREDICTIONS", "task": "t"},
                    "strategy": {"type": "BALANCE", "target": {"a": 1}},
                }
            ],
        },
        "strategy 1: input type PREDICTIONS needs task and name (CLASS_DISTRIBUTION or CATEGORY_COUNT)",
    ),
    (
        {
            "nSamples": 1,
            "strategies": [
                {
                    "input": {"type": "PREDICTIONS", "task": "det", "name": "CATEGORY_COUNT"},
                    "strategy": {"type": "WEIGHTS"},
                }
            ],
        },
        "strategy 1: no predictions for task 'det'; available: ['t']",
    ),
    (
        {
            "nSamples": 1,
            "strategies": [
                {
                    "input": {"type": "PREDICTIONS", "task": "t", "name": "CATEGORY_COUNT"},
                    "strategy": {"type": "WEIGHTS"},
                }
            ],
        },
        "strategy 1: predictions of task 't' need an integer categoryId in every singleton (KeyError('categoryId'))",
    ),
    (
        {
            "nSamples": 1,
            "strategies": [
                {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY", "threshold": 3}}
            ],
        },
        "strategy 1: DIVERSITY does not take ['threshold']",
    ),
    (
        {
            "nSamples": 1,
            "strategies": [
                {
                    "input": {"type": "EMBEDDINGS"},
                    "strategy": {"type": "DIVERSITY", "stopping_condition_minimum_distance": "far"},
                }
            ],
        },
        "strategy 1: stopping_condition_minimum_distance must be a number, not 'far'",
    ),
]


@pytest.mark.parametrize(("config", "message"), BAD_CONFIGS)
def test_bad_configs_raise_an_actionable_error(config: dict[str, Any], message: str) -> None:
    inputs = make_inputs(
        3,
        embeddings=EMB,
        scores={"t/s": np.ones(3)},
        metadata=[{"w": "rain"}] * 3,
        predictions={"t": [[{"score": 0.5}], [], []]},
    )
    with pytest.raises(SelectionError) as caught:
        select(config, inputs)
    assert str(caught.value) == message


def test_embeddings_missing() -> None:
    with pytest.raises(
        SelectionError,
        match=r"^strategy 1: input type EMBEDDINGS needs embeddings, but this run has none$",
    ):
        select({"nSamples": 1, "strategies": [DIVERSITY]}, make_inputs(3))


def test_misaligned_inputs() -> None:
    with pytest.raises(
        SelectionError, match=r"^inputs are not aligned with the 3 filenames: \{'embeddings': 2\}$"
    ):
        select(
            {"nSamples": 1, "strategies": [DIVERSITY]}, make_inputs(3, embeddings=np.zeros((2, 2)))
        )


def test_non_positive_stopping_distance_is_disabled() -> None:
    points, _ = clusters(3, 5)
    strategy = {
        "input": {"type": "EMBEDDINGS"},
        "strategy": {"type": "DIVERSITY", "stopping_condition_minimum_distance": -1},
    }
    with pytest.raises(SelectionError, match=r"^selection config needs nSamples"):
        select({"strategies": [strategy]}, make_inputs(15, embeddings=points))
    assert (
        len(
            select(
                {"nSamples": 12, "strategies": [strategy]}, make_inputs(15, embeddings=points)
            ).selected
        )
        == 12
    )


@pytest.mark.parametrize(
    "strategy", [DIVERSITY, {"input": {"type": "RANDOM"}, "strategy": {"type": "WEIGHTS"}}]
)
def test_nothing_to_select(strategy: dict[str, Any]) -> None:
    empty = select(
        {"nSamples": 3, "strategies": [strategy]},
        make_inputs(0, embeddings=np.zeros((0, 4), np.float32)),
    )
    assert empty.selected.tolist() == []
    assert empty.stats["stopped_by"] == "exhausted"
    taken = make_inputs(4, embeddings=np.eye(4, dtype=np.float32), preselected=np.ones(4, bool))
    assert select({"nSamples": 3, "strategies": [strategy]}, taken).selected.tolist() == []


# --- findings of the comparison with the Lightly Worker docs ------------------------------


def test_an_empty_prediction_list_counts_zero_objects() -> None:
    box = {"type": "OBJECT_DETECTION", "categoryId": 0, "score": 0.9, "bbox": [0, 0, 1, 1]}
    per_sample: list[Any] = [[box]] * 3 + [[]] * 4 + [None] * 2 + [[box, box]]
    inputs = make_inputs(10, predictions={"det": per_sample})
    count = {"type": "PREDICTIONS", "task": "det", "name": "CATEGORY_COUNT"}
    fewer = {"type": "THRESHOLD", "threshold": 1, "operation": "SMALLER"}
    result = select({"nSamples": -1, "strategies": [{"input": count, "strategy": fewer}]}, inputs)
    assert result.selected.tolist() == [3, 4, 5, 6]
    assert result.stats["strategies"][0]["missing_values"] == 2  # no prediction entry at all
    weights = {"input": count, "strategy": {"type": "WEIGHTS", "strength": -1}}
    assert sorted(select({"nSamples": 4, "strategies": [weights]}, inputs).selected) == [3, 4, 5, 6]


def test_diversity_never_picks_an_exact_duplicate() -> None:
    distinct = np.random.default_rng(3).standard_normal((5, 8)).astype(np.float32)
    points = np.tile(distinct, (10, 1))  # 5 vectors x 10 copies
    result = select({"nSamples": 20, "strategies": [DIVERSITY]}, make_inputs(50, embeddings=points))
    assert sorted(result.selected % 5) == [0, 1, 2, 3, 4]
    assert result.stats["stopped_by"] == "duplicates"
    assert result.stats["strategies"][0]["duplicates_skipped"] == 45
    assert result.stats["strategies"][0]["min_distance_selected"] > 0
    weighted = {
        "nSamples": 20,
        "strategies": [
            DIVERSITY,
            {
                "input": {"type": "SCORES", "task": "t", "score": "s"},
                "strategy": {"type": "WEIGHTS"},
            },
        ],
    }
    scores = {"t/s": np.arange(50.0)}
    joint = select(weighted, make_inputs(50, embeddings=points, scores=scores))
    assert sorted(joint.selected % 5) == [0, 1, 2, 3, 4]
    assert joint.stats["stopped_by"] == "duplicates"


def test_duplicates_of_preselected_samples_are_not_candidates() -> None:
    distinct = np.eye(4, dtype=np.float32) * 3
    origins = np.array([[0, 0, 0, 0], [0, 0, 0, -0.0]], np.float32)  # -0.0 equals 0.0
    points = np.vstack([distinct, distinct, origins])
    pre = np.zeros(10, bool)
    pre[[0, 8]] = True
    result = select(
        {"nSamples": 9, "strategies": [DIVERSITY]},
        make_inputs(10, embeddings=points, preselected=pre),
    )
    assert sorted(result.selected % 4) == [1, 2, 3]
    assert not {4, 9} & set(result.selected.tolist())  # copies of preselected samples
    assert result.stats["strategies"][0]["duplicates_skipped"] == 5


def test_nearly_equal_vectors_are_not_duplicates(monkeypatch: pytest.MonkeyPatch) -> None:
    from runner.local.worker import selection_greedy

    points = np.array([[1.0, 0.0], [1.0, 1e-6], [1.0, 0.0], [0.0, 1.0]], np.float32)
    # every row in one hash bucket: the rows themselves decide
    monkeypatch.setattr(
        selection_greedy, "_row_hashes", lambda p, rows: np.zeros(len(rows), np.uint64)
    )
    result = select({"nSamples": 4, "strategies": [DIVERSITY]}, make_inputs(4, embeddings=points))
    assert sorted(result.selected.tolist()) in ([0, 1, 3], [1, 2, 3])


def weather_balance(target: dict[str, float], **strategy: Any) -> dict[str, Any]:
    return {
        "input": {"type": "METADATA", "key": "weather.scenario"},
        "strategy": {"type": "BALANCE", "target": target, **strategy},
    }


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize(
    ("n", "expected"),
    [(20, {"cloudy": 10, "rainy": 10}), (25, {"cloudy": 15, "rainy": 10}), (35, {"cloudy": 20, "rainy": 10, "sunny": 5})],
)  # fmt: skip
def test_balance_ties_never_go_to_a_category_without_share(
    n: int, expected: dict[str, int], reverse: bool
) -> None:
    metadata = weather({"sunny": 70, "cloudy": 20, "rainy": 10})
    metadata = metadata[::-1] if reverse else metadata
    for target in ({"rainy": 0.5, "cloudy": 0.5}, {"rainy": 0.5, "cloudy": 0.5, "sunny": 0}):
        config = {"nSamples": n, "strategies": [weather_balance(target)]}
        result = select(config, make_inputs(100, metadata=metadata))
        assert Counter(metadata[i]["weather"]["scenario"] for i in result.selected) == expected


def test_balance_target_summing_to_one_in_floats_leaves_no_share_to_others() -> None:
    # 0.7 + 0.2 + 0.1 is 0.9999999999999999: no rounding residue is a share for "d"
    metadata = weather({"d": 6, "a": 36, "b": 12, "c": 6})
    config = {"nSamples": 20, "strategies": [weather_balance({"a": 0.7, "b": 0.2, "c": 0.1})]}
    result = select(config, make_inputs(60, metadata=metadata))
    got = Counter(metadata[i]["weather"]["scenario"] for i in result.selected)
    assert got == {"a": 14, "b": 4, "c": 2}


def test_balance_strength_weighs_it_against_the_other_terms() -> None:
    metadata = weather({"a": 10, "b": 10})
    heavy_a = {"t/w": np.array([1.0] * 10 + [0.0] * 10)}
    inputs = make_inputs(20, metadata=metadata, scores=heavy_a)
    weights = {"input": {"type": "SCORES", "task": "t", "score": "w"}, "strategy": {"type": "WEIGHTS"}}  # fmt: skip

    def picked(**strength: Any) -> Counter[str]:
        balance = {
            "input": {"type": "METADATA", "key": "weather.scenario"},
            "strategy": {"type": "BALANCE", "target": {"a": 0.5, "b": 0.5}, **strength},
        }
        result = select({"nSamples": 10, "strategies": [weights, balance]}, inputs)
        return Counter(metadata[i]["weather"]["scenario"] for i in result.selected)

    assert picked() == {"a": 5, "b": 5}  # without strength BALANCE takes precedence
    assert picked(strength=10) == {"a": 5, "b": 5}
    assert picked(strength=0.1) == {"a": 10}
    assert picked(strength=0) == {"a": 10}


def test_soft_balance_alone_breaks_ties_toward_categories_with_share() -> None:
    metadata = weather({"sunny": 70, "cloudy": 20, "rainy": 10})
    config = {"nSamples": 20, "strategies": [weather_balance({"rainy": 0.5, "cloudy": 0.5}, strength=1)]}  # fmt: skip
    result = select(config, make_inputs(100, metadata=metadata))
    got = Counter(metadata[i]["weather"]["scenario"] for i in result.selected)
    assert got == {"cloudy": 10, "rainy": 10}


def test_threshold_accepts_strength_without_effect() -> None:
    scores = {"t/s": np.array([0.1, 0.2, 0.5, 0.7, 0.9])}
    for strength in (0.5, -3, 0):
        threshold = {"type": "THRESHOLD", "threshold": 0.5, "operation": "BIGGER", "strength": strength}  # fmt: skip
        config = {
            "nSamples": -1,
            "strategies": [
                {"input": {"type": "SCORES", "task": "t", "score": "s"}, "strategy": threshold}
            ],
        }
        assert select(config, make_inputs(5, scores=scores)).selected.tolist() == [3, 4]


@pytest.mark.parametrize(
    ("true", "false"), [("true", "false"), ("True", "False"), ("TRUE", "false")]
)
def test_boolean_metadata_matches_targets_in_any_case(true: str, false: str) -> None:
    metadata = [{"night": True}] * 30 + [{"night": False}] * 30
    config = {
        "nSamples": 10,
        "strategies": [
            {
                "input": {"type": "METADATA", "key": "night"},
                "strategy": {"type": "BALANCE", "target": {true: 0.8, false: 0.2}},
            }
        ],
    }
    result = select(config, make_inputs(60, metadata=metadata))
    assert Counter(metadata[i]["night"] for i in result.selected) == {True: 8, False: 2}
    assert result.stats["strategies"][0]["achieved"] == pytest.approx({true: 0.8, false: 0.2})


def test_why_nothing_selected_names_the_strategy_that_filtered_everything() -> None:
    sharp = [{"lightly": {"sharpness": float(v)}} for v in (1, 2, 3)] + [{"lightly": {}}]
    config = {
        "nSamples": 2,
        "strategies": [
            {
                "input": {"type": "METADATA", "key": "lightly.sharpness"},
                "strategy": {"type": "THRESHOLD", "threshold": 10, "operation": "BIGGER"},
            },
            {"input": {"type": "RANDOM"}, "strategy": {"type": "WEIGHTS"}},
        ],
    }
    result = select(config, make_inputs(4, metadata=sharp))
    assert result.selected.tolist() == []
    assert why_nothing_selected(result.stats) == (
        "strategy 1 (THRESHOLD on METADATA lightly.sharpness BIGGER 10: "
        "1 without a value, 3 removed) left none of the 4 candidates"
    )


def test_why_nothing_selected_without_new_candidates() -> None:
    points = np.eye(3, dtype=np.float32)
    everything = make_inputs(3, embeddings=points, preselected=np.ones(3, bool))
    result = select({"nSamples": 2, "strategies": [DIVERSITY]}, everything)
    assert why_nothing_selected(result.stats) == (
        "all 3 samples are preselected; there is nothing new to select"
    )
    copies = make_inputs(
        3, embeddings=np.vstack([points[:1]] * 3), preselected=np.array([True, False, False])
    )
    result = select({"nSamples": 2, "strategies": [DIVERSITY]}, copies)
    assert result.selected.tolist() == []
    assert why_nothing_selected(result.stats) == (
        "each of the 2 candidates is an exact duplicate of a preselected sample"
    )
