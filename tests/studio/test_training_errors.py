"""Worker errors the GUI must explain: out of memory (no GPU here, so the worker's own message is
scripted; the engine side that writes it is tested in tests/engine/test_train_failures.py)."""

from __future__ import annotations

from test_training_support import ScriptedRun, message, open_small, started, training_fixture  # noqa: F401


def test_out_of_memory_is_explained_with_a_smaller_batch_and_the_document_survives(window, training, qtbot):
    project = open_small(window, qtbot, training)
    before = [(n.id, dict(n.params)) for n in project.network.nodes.values()], list(project.network.edges)
    text = "the GPU ran out of memory with batch size 512; try a smaller batch (e.g. 256) or a smaller network"
    batches = [
        [started()],
        [message("error", message=text, node_id="conv2", traceback="torch.OutOfMemoryError", kind="out_of_memory")],
        [message("finished", status="failed", epochs=0, best={}, last={}, test={}, weights={}, record_dir=None)],
    ]
    training.runs.attach(ScriptedRun(batches), "scripted")
    qtbot.waitUntil(lambda: training.runs.handle is None, timeout=30_000)
    banner = training.error_banner
    assert banner.isVisible() and banner.title.text() == "<b>Out of memory</b>"
    assert "try a smaller batch (e.g. 256)" in banner.message.text()
    assert window.scene.selected_node_ids() == ["conv2"]  # the node is pointed at
    assert "out of memory" in window.statusBar().currentMessage()
    after = [(n.id, dict(n.params)) for n in project.network.nodes.values()], list(project.network.edges)
    assert after == before and window.controller.project is project
    assert window.undo_group.activeStack() is window.controller.undo_stack  # editing is unlocked again
