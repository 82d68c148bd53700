"""Renderers shared by every command: table, JSON, SARIF, JUnit, Markdown and HTML."""

from enum import StrEnum


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    SARIF = "sarif"
    JUNIT = "junit"
    MARKDOWN = "markdown"
    HTML = "html"
