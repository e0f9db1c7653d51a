import sys

import numpy as np
import pytest

from omib_st.train import memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc")
def test_release_gives_freed_heap_pages_back():
    np.ones(8 << 20, np.uint8)  # an 8 MB block, freed: glibc now serves smaller ones from its heap
    blocks = [np.ones(1 << 20, np.uint8) for _ in range(100)]
    del blocks[:-1]  # 99 MB freed below a live block: still resident
    before = memory.resident_bytes()
    assert memory.release_free_memory()
    assert memory.resident_bytes() < before


def test_callback_releases_only_after_the_resident_size_grew(monkeypatch):
    sizes, released = iter([100, 90, 110, 120, 80]), []
    monkeypatch.setattr(memory, "resident_bytes", lambda: next(sizes))
    monkeypatch.setattr(memory, "release_free_memory", lambda: released.append(True))
    callback = memory.ReleaseFreeMemory(growth=0.25)
    for _ in range(3):  # 100 → release, 90 after; 110 ≤ 1.25 × 90: kept; 120 > 112.5: release
        callback.on_train_epoch_end(None, None)
    assert len(released) == 2
