"""Prometheus exposition and the /metrics, /healthz, /readyz server."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request

from runner.metrics import (
    ACTION_SECONDS,
    EVENTS_SEEN,
    QUEUE_DEPTH,
    Metrics,
    parse_address,
    serve,
)


def test_render_counters_gauges_and_histogram() -> None:
    m = Metrics()
    m.inc(EVENTS_SEEN, 3)
    m.gauge(QUEUE_DEPTH, lambda: 7)
    for value in (0.003, 0.02, 0.02, 100.0):
        m.observe(ACTION_SECONDS, value)
    lines = m.render({"trigger": "ns/t"}).splitlines()
    assert 'kubectl_trigger_runner_events_seen_total{trigger="ns/t"} 3' in lines
    assert 'kubectl_trigger_runner_queue_depth{trigger="ns/t"} 7' in lines
    assert "# TYPE kubectl_trigger_runner_action_duration_seconds histogram" in lines
    buckets = {
        line.split('le="')[1].split('"')[0]: int(line.rsplit(" ", 1)[1])
        for line in lines
        if line.startswith("kubectl_trigger_runner_action_duration_seconds_bucket")
    }
    assert (buckets["0.005"], buckets["0.025"], buckets["30.0"], buckets["+Inf"]) == (1, 3, 3, 4)
    assert 'kubectl_trigger_runner_action_duration_seconds_count{trigger="ns/t"} 4' in lines


def test_parse_address() -> None:
    assert parse_address("0.0.0.0:8080") == ("0.0.0.0", 8080)
    assert parse_address(":0") == ("0.0.0.0", 0)
    assert parse_address("[::1]:9") == ("::1", 9)


def _get(base: str, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(base + path, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_server_answers_probes_and_scrapes() -> None:
    m = Metrics()
    m.inc(EVENTS_SEEN)
    state = {"ready": False}
    server = serve("127.0.0.1:0", m, lambda: state["ready"], logging.getLogger("test"))
    try:
        base = f"http://{server.address}"
        assert _get(base, "/readyz") == (503, "not ready\n")
        state["ready"] = True
        assert _get(base, "/readyz") == (200, "ok\n")
        assert _get(base, "/healthz") == (200, "ok\n")
        assert _get(base, "/other")[0] == 404
        assert "kubectl_trigger_runner_events_seen_total 1" in _get(base, "/metrics")[1]
    finally:
        server.close()
