"""torch.utils.data's samplers, dataset combinators, random_split and the DataLoader's
arguments, compared with PyTorch where its behaviour is deterministic."""
import collections

import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow.utils import data

torch = pytest.importorskip("torch")


def _numbers(ds):
    return [int(x) for (x,) in (ds[i] for i in range(len(ds)))]


def test_random_split_with_a_fresh_seeded_generator_is_torchs_split():
    ds = data.TensorDataset(tsf.arange(20))
    tds = torch.utils.data.TensorDataset(torch.arange(20))
    for seed in (0, 42, 1234):
        for lengths in ([0.7, 0.3], [5, 10, 5], [0.25, 0.25, 0.5]):
            ours = data.random_split(ds, lengths, generator=tsf.Generator().manual_seed(seed))
            theirs = torch.utils.data.random_split(
                tds, lengths, generator=torch.Generator().manual_seed(seed))
            assert [len(s) for s in ours] == [len(s) for s in theirs]
            assert [_numbers(s) for s in ours] == [[int(x) for (x,) in s] for s in theirs]


def test_random_split_fractions_and_errors():
    ds = data.TensorDataset(tsf.arange(10))
    parts = data.random_split(ds, [0.34, 0.33, 0.33])
    assert [len(p) for p in parts] == [4, 3, 3]
    assert sorted(sum((_numbers(p) for p in parts), [])) == list(range(10))
    g = tsf.Generator().manual_seed(0)
    first = _numbers(data.random_split(ds, [10], generator=g)[0])
    assert _numbers(data.random_split(ds, [10], generator=g)[0]) != first  # the generator moved
    with pytest.raises(ValueError, match="Sum of input lengths does not equal the length"):
        data.random_split(ds, [3, 3])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        data.random_split(data.TensorDataset(tsf.arange(2)), [0.9, 0.1])


def test_samplers():
    ds = list(range(10))
    assert list(data.SequentialSampler(ds)) == list(range(10))
    order = list(data.RandomSampler(ds, generator=tsf.Generator().manual_seed(1)))
    assert sorted(order) == list(range(10)) and order != list(range(10))
    long = list(data.RandomSampler(ds, num_samples=25, generator=tsf.Generator().manual_seed(2)))
    assert len(long) == 25 and sorted(long[:10]) == list(range(10))
    drawn = list(data.RandomSampler(ds, replacement=True, num_samples=30))
    assert len(drawn) == 30 and set(drawn) <= set(range(10))
    assert sorted(data.SubsetRandomSampler([3, 5, 7])) == [3, 5, 7]
    weighted = list(data.WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 400,
                                               generator=tsf.Generator().manual_seed(3)))
    counts = collections.Counter(weighted)
    assert set(counts) == {1, 3} and 0.6 < counts[3] / 400 < 0.9
    unique = list(data.WeightedRandomSampler([1.0, 1.0, 1.0], 3, replacement=False))
    assert sorted(unique) == [0, 1, 2]
    batches = data.BatchSampler(data.SequentialSampler(ds), 4, drop_last=False)
    assert list(batches) == list(torch.utils.data.BatchSampler(
        torch.utils.data.SequentialSampler(ds), 4, drop_last=False)) and len(batches) == 3
    assert len(data.BatchSampler(ds, 4, drop_last=True)) == 2
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        data.RandomSampler(ds, num_samples=0)
    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        data.BatchSampler(ds, 0, False)


def test_loader_takes_samplers_and_batch_samplers():
    ds = data.TensorDataset(tsf.arange(10))
    loader = data.DataLoader(ds, batch_size=3, sampler=data.SequentialSampler(ds))
    assert [b.tolist() for (b,) in loader] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    batches = data.BatchSampler(data.RandomSampler(ds), 4, drop_last=True)
    got = [b.tolist() for (b,) in data.DataLoader(ds, batch_sampler=batches)]
    assert [len(b) for b in got] == [4, 4] and len(set(sum(got, []))) == 8


def test_concat_chain_and_iterable_datasets():
    a, b = data.TensorDataset(tsf.arange(3)), data.TensorDataset(tsf.arange(10, 12))
    both = a + b
    assert isinstance(both, data.ConcatDataset) and len(both) == 5
    assert [int(both[i][0]) for i in range(5)] == [0, 1, 2, 10, 11] and int(both[-1][0]) == 11
    with pytest.raises(IndexError):
        both[5]

    class Stream(data.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

        def __len__(self):
            return self.n

    chained = Stream(3) + Stream(2)
    assert isinstance(chained, data.ChainDataset) and list(chained) == [0, 1, 2, 0, 1]
    loader = data.DataLoader(Stream(7), batch_size=3)
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6]] and len(loader) == 3
    assert [b.tolist() for b in data.DataLoader(Stream(7), 3, drop_last=True)] == \
        [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError, match="DataLoader with IterableDataset: expected unspecified "
                                         "shuffle option"):
        data.DataLoader(Stream(3), shuffle=True)
    with pytest.raises(AssertionError, match="ConcatDataset does not support IterableDataset"):
        data.ConcatDataset([a, Stream(2)])
    assert data.get_worker_info() is None


def test_default_collate_matches_torch():
    Point = collections.namedtuple("Point", ["x", "y"])
    samples = [{"a": 1, "b": 0.5, "c": np.float32(2.0), "d": np.array([1, 2]), "e": "s",
                "p": Point(1.0, tsf.tensor([3.0]))} for _ in range(3)]
    torch_samples = [{**s, "p": Point(1.0, torch.tensor([3.0]))} for s in samples]
    ours = data.default_collate(samples)
    theirs = torch.utils.data.default_collate(torch_samples)
    for key in "abcd":
        assert str(ours[key].dtype) == str(theirs[key].dtype).removeprefix("torch."), key
        np.testing.assert_array_equal(ours[key].numpy(), theirs[key].numpy())
    assert ours["e"] == theirs["e"] and isinstance(ours["p"], Point)
    np.testing.assert_array_equal(ours["p"].y.numpy(), theirs["p"].y.numpy())
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        data.default_collate([tsf.ones(2), tsf.ones(3)])


def test_loader_accepts_torchs_worker_arguments():
    ds = data.TensorDataset(tsf.arange(6))
    calls = []
    loader = data.DataLoader(ds, 2, False, None, None, 2, None, True, False, 0,
                             worker_init_fn=calls.append, persistent_workers=True,
                             prefetch_factor=2, pin_memory_device="")
    assert [b.tolist() for (b,) in loader] == [[0, 1], [2, 3], [4, 5]]
    list(loader)
    assert calls == [0]  # once: persistent workers are started once
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        data.DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match="persistent_workers option needs num_workers > 0"):
        data.DataLoader(ds, persistent_workers=True)
    with pytest.raises(ValueError, match="prefetch_factor option could only be specified"):
        data.DataLoader(ds, prefetch_factor=2)
    with pytest.raises(RuntimeError, match="pin_memory_device 'cuda' is not available"):
        data.DataLoader(ds, pin_memory_device="cuda")
