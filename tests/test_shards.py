"""Rank lanes: round-robin sharding of the reordered documents gives each process whole videos."""

import pytest

from finevidbench import taskdocs
from finevidbench.shards import in_rank_lanes, video_ranks


def shards(docs, world_size):
    """What lmms-eval 0.7.3 gives each rank: document k to rank k mod W (`utils.create_iterator`)."""
    return [docs[rank::world_size] for rank in range(world_size)]


@pytest.mark.parametrize("world_size", [2, 3])
def test_every_question_once_and_each_video_on_one_rank_but_the_spill(world_size):
    counts = [5, 3, 7, 2, 6, 4, 4, 1]  # questions per video, uneven
    docs = [(f"v{v}", q) for v, n in enumerate(counts) for q in range(n)]
    ranks = video_ranks((video for video, _ in docs), world_size)
    load = [sum(counts[int(v[1:])] for v, r in ranks.items() if r == rank) for rank in range(world_size)]
    assert max(load) - min(load) <= max(counts)  # the questions balanced between ranks
    ordered = in_rank_lanes(docs, world_size, lambda doc: ranks[doc[0]])
    assert sorted(ordered) == sorted(docs)
    spilled = [doc for rank, shard in enumerate(shards(ordered, world_size)) for doc in shard if ranks[doc[0]] != rank]
    assert len(spilled) <= max(load) - min(load)  # only where one rank has more than another
    assert in_rank_lanes(docs, 1, lambda doc: ranks[doc[0]]) == docs


def test_a_data_parallel_run_gets_its_documents_in_rank_lanes_unless_limited(mini, monkeypatch):
    """Over every task of the run, each rank's videos are its own: a video is decoded by one process."""
    monkeypatch.setenv(taskdocs.DATA_ENV, "mini")
    kinds = sorted({q.type for q in mini.questions})
    plain = {kind: taskdocs.docs_for(kind) for kind in kinds}
    monkeypatch.setenv("WORLD_SIZE", "2")
    taskdocs.use_rank_lanes(False)  # a limited run: the first N documents stay one process's
    assert taskdocs.docs_for(kinds[0]) == plain[kinds[0]]
    taskdocs.use_rank_lanes(True)
    try:
        laned = {kind: taskdocs.docs_for(kind) for kind in kinds}
    finally:
        taskdocs.use_rank_lanes(False)

    def videos_by_rank(docs_by_kind):
        seen = [set(), set()]
        for docs in docs_by_kind.values():
            for rank, shard in enumerate(shards(docs, 2)):
                seen[rank] |= {d["video_path"] for d in shard}
        return seen

    for kind in kinds:
        assert sorted(d["question_id"] for d in laned[kind]) == sorted(d["question_id"] for d in plain[kind])
    before, after = videos_by_rank(plain), videos_by_rank(laned)
    n_videos = len({q.video for q in mini.questions})
    assert len(before[0] & before[1]) == n_videos  # in question order both ranks decode every video
    # decoded by both only where a task's lanes end unevenly: 8 of mini's 48 videos (96 in question order)
    assert len(after[0] & after[1]) <= n_videos // 4, after[0] & after[1]
