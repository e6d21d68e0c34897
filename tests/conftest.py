"""Shared test fixtures."""

import pytest
import torch


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models step faster on one thread, and a busy machine cannot oversubscribe it."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def inspected_untrained(run_dir, **model_settings):
    """An Inspection that has decoded test example 0 with an untrained tiny reverse model saved as a run."""
    from models import build_model
    from workbench import runs
    from workbench.config import build_config
    from workbench.decoding.inspection import Inspection
    from workbench.tasks import build_task

    overrides = {"task.name": "reverse", "task.train_size": "200", "task.val_size": "20", "task.test_size": "20",
                 "task.long_size": "0", "model.hidden": "16", "model.emb_dim": "8",
                 **{f"model.{k}": str(v) for k, v in model_settings.items()}}
    cfg = build_config(overrides=overrides)
    task = build_task(cfg.task)
    cfg.model.src_vocab, cfg.model.tgt_vocab = len(task.src_vocab), len(task.tgt_vocab)
    torch.manual_seed(0)
    runs.create_run(run_dir, cfg, (task.src_vocab, task.tgt_vocab))
    runs.save_checkpoint(run_dir, {"model": build_model(cfg.model).state_dict()}, {"step": 0})
    loaded = runs.load_run(run_dir)
    ins = Inspection(loaded.model, loaded.task)
    ins.load_example(0)
    ins.run()
    return ins
