"""DistributedSampler: the same indices as torch's, shuffled included; DataLoader's sampler and
batch_sampler arguments."""
import itertools

import numpy as np
import pytest

import torchsorflow as tsf
from torchsorflow.data import DataLoader, DistributedSampler, TensorDataset
from torchsorflow.data.distributed import torch_randperm

SEEDS = [0, 1, 42, -1, -7, 2**32 + 5, 2**63 - 1, 2**64 - 1]


def test_randperm_is_torchs_for_many_sizes_and_seeds():
    torch = pytest.importorskip("torch")
    assert torch_randperm(0, 1) == []
    for n, seed in itertools.product([0, 1, 2, 3, 10, 100, 1437, 5000], SEEDS):
        generator = torch.Generator()
        generator.manual_seed(seed)
        assert torch_randperm(n, seed) == torch.randperm(n, generator=generator).tolist(), (n, seed)


def test_partitions_are_torchs_for_every_combination():
    pytest.importorskip("torch")
    from torch.utils.data.distributed import DistributedSampler as TorchSampler
    checked = 0
    for n, replicas, shuffle, drop_last, epoch, seed in itertools.product(
            [1, 5, 10, 11, 97], [1, 2, 3, 4, 7], [False, True], [False, True], [0, 3], [0, 5]):
        for rank in range(replicas):
            ours = DistributedSampler(range(n), replicas, rank, shuffle, seed, drop_last)
            theirs = TorchSampler(range(n), replicas, rank, shuffle, seed, drop_last)
            ours.set_epoch(epoch)
            theirs.set_epoch(epoch)
            assert list(ours) == list(theirs), (n, replicas, rank, shuffle, drop_last, epoch)
            assert len(ours) == len(theirs)
            checked += 1
    assert checked == 5 * 17 * 2 * 2 * 2 * 2


def test_partition_structure_without_torch():
    """Every index is covered, the ranks get equal shares, and padding repeats the start."""
    n, replicas = 10, 4
    shares = [list(DistributedSampler(range(n), replicas, r, shuffle=True, seed=3))
              for r in range(replicas)]
    assert {len(s) for s in shares} == {3}
    order = torch_randperm(n, 3)
    padded = order + order[:2]
    assert [padded[r::replicas] for r in range(replicas)] == shares
    dropped = [list(DistributedSampler(range(n), replicas, r, shuffle=False, drop_last=True))
               for r in range(replicas)]
    assert dropped == [[0, 4], [1, 5], [2, 6], [3, 7]]


def test_sampler_errors():
    with pytest.raises(ValueError,
                       match=r"Invalid rank 3, rank should be in the interval \[0, 2\]"):
        DistributedSampler(range(4), num_replicas=3, rank=3)
    with pytest.raises(RuntimeError, match="give num_replicas and rank, or call "
                                           "torchsorflow.distributed.init_process_group first"):
        DistributedSampler(range(4))


def test_dataloader_takes_a_sampler_and_a_batch_sampler():
    ds = TensorDataset(tsf.arange(10))
    sampler = DistributedSampler(ds, num_replicas=2, rank=1, shuffle=False)
    assert [b.tolist() for (b,) in DataLoader(ds, batch_size=2, sampler=sampler)] == \
        [[1, 3], [5, 7], [9]]
    assert len(DataLoader(ds, batch_size=2, sampler=sampler)) == 3
    batches = [[0, 9], [4, 5, 6]]
    assert [b.tolist() for (b,) in DataLoader(ds, batch_sampler=batches)] == batches
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(ds, sampler=sampler, shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive with "
                                         "batch_size, shuffle, sampler, and drop_last"):
        DataLoader(ds, batch_size=4, batch_sampler=batches)


def test_sharded_loader_cuts_each_batch_and_weights_the_shards():
    from torchsorflow.training import ShardedLoader
    ds = TensorDataset(tsf.arange(11), tsf.arange(11))
    loader = DataLoader(ds, batch_size=5, shuffle=True, seed=4)
    whole = [x.tolist() for x, _ in DataLoader(ds, batch_size=5, shuffle=True, seed=4)]
    shards = [list(ShardedLoader(DataLoader(ds, batch_size=5, shuffle=True, seed=4), r, 3,
                                 skip_small=True)) for r in range(3)]
    assert len(ShardedLoader(loader, 0, 3, skip_small=True)) == 2   # the last batch, 1, skipped
    for b in range(2):
        assert sum((shards[r][b][0].tolist() for r in range(3)), []) == whole[b]
        # averaging weight × (mean over the shard) over the ranks gives the whole batch's mean,
        # which is what DDP's gradient average needs
        weighted = [w * np.mean(x.numpy()) for x, _, w in (shards[r][b] for r in range(3))]
        assert np.isclose(np.mean(weighted), np.mean(whole[b]))
        assert [len(shards[r][b][0]) for r in range(3)] == [1, 2, 2]
