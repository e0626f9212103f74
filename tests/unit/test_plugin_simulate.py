"""``kubectl trigger test``'s simulator: reads answered offline, writes and sends recorded."""

from __future__ import annotations

import smtplib
import socket

import pytest
import urllib3

from kubectl_trigger import simulate
from kubectl_trigger.session import known


def test_http_and_smtp_are_recorded_not_sent() -> None:
    calls: list[simulate.Call] = []
    with simulate.offline_network(calls):
        answer = urllib3.PoolManager().request(
            "POST", "https://hooks.example/x?a=1", body=b'{"text": "hi"}'
        )
        assert answer.status == 200
        with smtplib.SMTP("mail.example", 25) as smtp:
            smtp.starttls()
            smtp.sendmail("a@example", ["b@example"], "Subject: s\n\nbody")
        with pytest.raises(ConnectionRefusedError, match="offline"):
            socket.create_connection(("127.0.0.1", 9))
    assert [c.what for c in calls] == [
        "POST https://hooks.example/x?a=1",
        "SMTP mail.example:25 sendmail a@example -> ['b@example']",
    ]
    assert calls[0].body == {"text": "hi"}


def test_recording_client_answers_reads_from_the_event_object() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}}
    calls: list[simulate.Call] = []
    client = simulate.RecordingClient(obj, calls)
    info = client.resource("v1", "ConfigMap")
    assert client.get(info, "c", "n") == obj
    pages = list(client.list_pages(info, "n", label_selector="a=b"))
    assert pages[0]["items"] == [obj]
    deploy = known("Deployment")
    assert next(iter(client.list_pages(deploy, "n")))["items"] == []
    client.patch(deploy, "web", {"spec": {}}, "n", patch_type="strategic")
    assert [c.what for c in calls] == [
        "GET v1 ConfigMap n/c",
        "LIST v1 ConfigMap n/ -l a=b",
        "LIST apps/v1 Deployment n/",
        "PATCH(strategic) apps/v1 Deployment n/web",
    ]


def test_report_layout() -> None:
    result = simulate.Result("Trigger n/t", "update", "n/c", True, ["pass  spec.filters[0]: ..."])
    act = simulate.ActionResult("alert", "webhook", "posted", [simulate.Call("POST u", {"a": 1})])
    result.actions.append(act)
    assert simulate.report(result) == (
        "Trigger n/t: event update on n/c\n"
        "Filters: MATCH\n"
        "  pass  spec.filters[0]: ...\n"
        "Actions:\n"
        "  1. alert (webhook): posted\n"
        "     POST u\n"
        "       {\n"
        '         "a": 1\n'
        "       }\n"
    )
