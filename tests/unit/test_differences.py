"""The deliberate differences table and the warnings validate prints from it."""

from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path

from runner.spec.cron import parse_cron
from runner.spec.differences import BY_ID, DETECTORS, DIFFERENCES, dst_meeting, spec_warnings
from runner.spec.parse import parse_trigger


def cron_trigger(schedule: str, time_zone: str | None) -> dict[str, object]:
    cron: dict[str, str] = {"schedule": schedule}
    if time_zone:
        cron["timeZone"] = time_zone
    return {
        "apiVersion": "triggers.kubectl-trigger.dev/v1alpha1",
        "kind": "Trigger",
        "metadata": {"name": "t", "namespace": "shop"},
        "spec": {"source": {"cron": cron}, "actions": [{"log": {"message": "tick"}}]},
    }


def test_table_entries_are_unique_and_explained() -> None:
    assert len(BY_ID) == len(DIFFERENCES)
    for diff in DIFFERENCES:
        assert diff.id and diff.area and len(diff.what) > 20 and len(diff.why) > 20
    assert set(DETECTORS) <= set(BY_ID)


def test_every_difference_is_documented_in_the_spec_reference() -> None:
    spec = (Path(__file__).resolve().parents[2] / "docs" / "spec.md").read_text()
    section = spec.split("## Conformance and deliberate differences", 1)[1]
    assert [d.id for d in DIFFERENCES if f"| `{d.id}` |" not in section] == []


def test_a_schedule_meeting_a_dst_change_is_warned_about() -> None:
    warnings = spec_warnings(parse_trigger(cron_trigger("30 2 * * *", "Europe/Berlin")))
    assert len(warnings) == 1
    assert warnings[0].startswith("spec.source.cron.schedule: '30 2 * * *' in Europe/Berlin")
    assert "cron-dst" in warnings[0]


def test_schedules_clear_of_dst_changes_get_no_warning() -> None:
    for schedule, zone in [
        ("30 2 * * *", None),
        ("0 12 * * *", "Europe/Berlin"),
        ("@every 1h", "Europe/Berlin"),
        ("0 0 30 2 *", "Europe/Berlin"),
    ]:
        assert spec_warnings(parse_trigger(cron_trigger(schedule, zone))) == []


def test_dst_meeting_finds_gap_and_overlap_days() -> None:
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    assert dst_meeting(parse_cron("30 2 * * *", "Europe/Berlin"), start) == datetime.date(
        2026, 3, 29
    )
    # 01:30 happens twice in New York on 2026-11-01 (and is not skipped in March)
    assert dst_meeting(parse_cron("30 1 * * *", "America/New_York"), start) == datetime.date(
        2026, 11, 1
    )
    assert dst_meeting(parse_cron("30 2 * * *", "UTC"), start) is None


def test_validate_prints_the_warning_and_exits_zero(tmp_path: Path) -> None:
    spec = tmp_path / "nightly.yaml"
    spec.write_text(
        "apiVersion: triggers.kubectl-trigger.dev/v1alpha1\n"
        "kind: Trigger\n"
        "metadata: {name: nightly, namespace: shop}\n"
        "spec:\n"
        "  source: {cron: {schedule: '30 2 * * *', timeZone: Europe/Berlin}}\n"
        "  actions: [{log: {message: tick}}]\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "kubectl_trigger", "validate", "--offline", "-f", str(spec)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Trigger shop/nightly is valid" in proc.stdout
    assert "deliberate difference cron-dst" in " ".join(proc.stderr.split())
