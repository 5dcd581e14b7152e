"""Job logs: where a rule's output goes, across retries."""
def test_resumed_work_appends_to_the_log_of_the_attempts_before(tmp_path):
    import logging

    from cgbench.logs import to_log

    path = tmp_path / "job.log"
    path.write_text("stale\n")
    for attempt in (1, 2):
        with to_log(path, resuming=attempt > 1):
            logging.getLogger("cgbench").info("working on attempt %d", attempt)
    text = path.read_text()
    assert "stale" not in text and "working on attempt 1" in text
    assert text.index("working on attempt 1") < text.index("=== resumed") < text.index("working on attempt 2")
