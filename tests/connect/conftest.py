"""Reporting for the Spark Connect tests (fixtures live in the test module)."""

import pytest

LOG_TAIL_CHARS = 6000


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Adds the tail of the server's log to a failed test's report."""
    report = yield
    log_path = getattr(item, "connect_server_log", None)
    if report.failed and log_path is not None and log_path.is_file():
        report.sections.append((f"Connect server log {log_path}",
                                log_path.read_text(errors="replace")[-LOG_TAIL_CHARS:]))
    return report
