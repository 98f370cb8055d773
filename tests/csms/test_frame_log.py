"""The frame log stays bounded in memory and on disk, and positions stay valid."""

from bench.csms.frame_log import FrameFile, FrameRing


def test_the_ring_keeps_the_newest_frames_by_their_position_among_all():
    ring = FrameRing(keep=10)
    for i in range(25):
        ring.append({"n": i})
    assert len(ring) == 25 and ring.first == 15
    assert [f["n"] for f in ring] == list(range(15, 25))
    assert [f["n"] for f in ring[20:]] == [20, 21, 22, 23, 24]  # a `since` mark still works
    assert [f["n"] for f in ring[3:17]] == [15, 16]  # what has gone is gone, not shifted
    assert ring[24]["n"] == 24 and ring[-1]["n"] == 24
    assert ring.index(ring[18]) == 18


def test_the_files_rotate_and_keep_every_frame_they_can_hold(tmp_path):
    ring = FrameRing(keep=5, file=FrameFile(tmp_path, "t", max_bytes=2000, backups=2))
    for i in range(200):
        ring.append({"n": i, "payload": "x" * 20})
    assert ring.file is not None
    ring.close()
    stored = list(ring.file.read())
    assert len(ring.file.files()) == 3  # the current file and two rotated ones, no more
    assert sum(f.stat().st_size for f in ring.file.files()) < 3 * 2100
    indexes = [f["index"] for f in stored]
    assert indexes == list(range(indexes[0], 200)) and indexes[0] > 0  # newest, in order
    assert [f["n"] for f in stored] == indexes
