"""The figures of one incident, defined once: fault time, impact start, detection, restore, MTTD and MTTR.

Every place that shows one of them reads it from here: the demo's summary, a drill's verdict (its time to
detect and time to restore are the incident's MTTD and MTTR), postmortems, `incidents list` and
notifications. Pure: an incident (or a drill's own measurement when nodewarden recorded no incident) in,
moments and seconds out.

- fault time: when a drill injected its fault (none for a real incident);
- impact start: the earliest problem signal's onset (a heartbeat's last renewal, a condition's transition),
  but in a drill never before its fault: the last renewal before the fault was still a healthy node;
- detection: the first controller cycle that saw a problem signal of the incident;
- restore: when every affected node was back (its problems no longer seen, its episode closed recovered);
- MTTD: detection − impact start; MTTR: restore − impact start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nodewarden.model.incident import Incident


@dataclass(frozen=True)
class Figures:
    fault_at: datetime | None
    impact_start: datetime
    detected_at: datetime | None  # None: never detected
    restored_at: datetime | None  # None: not back (yet)

    @property
    def mttd(self) -> float | None:
        """Seconds from impact start to detection; None when never detected."""
        return _seconds(self.impact_start, self.detected_at)

    @property
    def mttr(self) -> float | None:
        """Seconds from impact start to restore; None while not restored."""
        return _seconds(self.impact_start, self.restored_at)


def impact_start(onset: datetime, fault_at: datetime | None) -> datetime:
    """The impact start of failures that began at `onset`: in a drill, never before its fault."""
    return onset if fault_at is None else max(onset, fault_at)


def of_incident(incident: Incident, *, fault_at: datetime | None = None) -> Figures:
    """The incident's figures; a drill's fault time comes from its verdict, or `fault_at` before it has one."""
    if incident.verdict is not None:
        fault_at = incident.verdict.fault_at
    start = impact_start(incident.impact_start, fault_at)
    return Figures(
        fault_at=fault_at,
        impact_start=start,
        detected_at=None if incident.undetected else max(start, incident.detected_at),
        restored_at=incident.mitigated_at if incident.mitigated_at is None else max(start, incident.mitigated_at),
    )


def _seconds(start: datetime, moment: datetime | None) -> float | None:
    return None if moment is None else max(0.0, (moment - start).total_seconds())
