"""Placeholder: being written in this session."""

from nodewarden.audit.report import AuditReport


def render_html(report: AuditReport) -> str:
    raise NotImplementedError
