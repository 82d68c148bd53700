"""Detection: signals with evidence from a Snapshot, and the per-node health state machine (pure)."""

from nodewarden.detect.engine import detect
from nodewarden.detect.metrics import Metric, NodeMetrics
from nodewarden.detect.settings import DetectSettings

__all__ = ["DetectSettings", "Metric", "NodeMetrics", "detect"]
